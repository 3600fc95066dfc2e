"""T3004 streaming-message-after-settle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import MESSAGES, SESSIONS, TURNS, assistant_completion, row_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan

    rows = src.rows(
        "SELECT m.message_id, m.thread_id, m.turn_id, m.created_at, m.updated_at, t.state AS turn_state, "
        "t.completed_at, s.status AS session_status, s.active_turn_id "
        "FROM projection_thread_messages m "
        "LEFT JOIN projection_turns t ON t.thread_id = m.thread_id AND t.turn_id = m.turn_id "
        "LEFT JOIN projection_thread_sessions s ON s.thread_id = m.thread_id "
        "WHERE m.is_streaming = 1 AND m.role = 'assistant'"
    )
    for m in rows:
        running_it = m["session_status"] in ("running", "starting") and (
            m["turn_id"] is None or m["active_turn_id"] == m["turn_id"]
        )
        if running_it:
            continue  # the session is running this turn: still streaming
        yield RULE.finding(
            src,
            thread_id=m["thread_id"],
            subject=m["message_id"],
            turn_id=m["turn_id"],
            message=(
                f"assistant message is still streaming since {m['updated_at']}, but its turn is "
                f"{m['turn_state'] or 'gone'} and the session is {m['session_status'] or 'missing'}"
            ),
            since=m["updated_at"],
            evidence=[
                row_evidence(
                    "projection_thread_messages",
                    {"message_id": m["message_id"]},
                    {"is_streaming": 1, "turn_id": m["turn_id"], "updated_at": m["updated_at"]},
                    "message still marked streaming",
                )
            ],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append the assistant completion the provider never sent: same message, empty text, "
                "streaming false (the projector keeps the text)",
                steps=[assistant_completion(m)],
            ),
        )


RULE = Rule(
    code="T3004",
    name="streaming-message-after-settle",
    source_kind="t3code",
    severity=Severity.warning,
    summary="An assistant message is still streaming after its turn settled",
    explanation=(
        "Assistant text arrives as thread.message-sent events with streaming true, and the provider's "
        "completion sends the same message with streaming false. When the completion is lost (a dropped "
        'stream, a restart), the message keeps is_streaming = 1 and clients show "Thinking..." or a '
        "spinner forever (#694, #1048, #2366). The rule reports a streaming assistant message whose turn "
        "has settled, or that the session no longer runs; a message in the turn the session is running now "
        "is healthy. The repair appends the missing completion exactly as "
        "thread.message.assistant.complete writes it: the same messageId with empty text and streaming "
        "false, which the projector applies without touching the text."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="it is the event the app itself writes at the end of every assistant message; the text is kept",
    detect=detect,
    reads=(*MESSAGES, *TURNS, *SESSIONS),
)
