"""T3006 active-turn-already-settled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    ENDS_SESSION,
    SETTLED_TURN_STATES,
    end_session,
    row_evidence,
    session_evidence,
)
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan

    sessions = src.rows(
        "SELECT s.*, t.row_id, t.state AS turn_state, t.completed_at FROM projection_thread_sessions s "
        "LEFT JOIN projection_turns t ON t.thread_id = s.thread_id AND t.turn_id = s.active_turn_id "
        "WHERE s.status = 'running'"
    )
    for s in sessions:
        if s["active_turn_id"] is not None and s["turn_state"] not in SETTLED_TURN_STATES:
            continue
        evidence = [session_evidence(s)]
        if s["active_turn_id"] is None:
            what = "is running with no active turn"
        else:
            what = f"is running turn {s['active_turn_id']}, which already {s['turn_state']}"
            evidence.append(
                row_evidence(
                    "projection_turns",
                    {"row_id": s["row_id"]},
                    {
                        "turn_id": s["active_turn_id"],
                        "state": s["turn_state"],
                        "completed_at": s["completed_at"],
                    },
                    f"turn is {s['turn_state']}",
                )
            )
        interrupted = s["turn_state"] == "interrupted"
        status = "interrupted" if interrupted else "ready"
        yield RULE.finding(
            src,
            thread_id=s["thread_id"],
            turn_id=s["active_turn_id"],
            message=f"session {what} (since {s['updated_at']}); Stop and settle cannot converge",
            since=s["updated_at"],
            evidence=evidence,
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary=f"append a thread.session-set with status {status} and no active turn",
                steps=end_session(src, s, status, last_error=s.get("last_error")),
            ),
        )


RULE = Rule(
    code="T3006",
    name="active-turn-already-settled",
    source_kind="t3code",
    severity=Severity.error,
    summary="A session is running a turn that has already ended, or no turn at all",
    explanation=(
        "The session row says running, but its active turn is already completed, interrupted or errored, or "
        "there is no active turn at all. It happens when a provider aborts or fails mid-turn without a final "
        "session update (OpenCode abort, steering, #4713, #8802, #8895): Stop does nothing because the app "
        "believes the turn is running, and settling the thread is refused. A session running a turn that is "
        "itself still running is healthy. The repair appends a thread.session-set with no active turn, "
        "status ready after a completed turn and interrupted after an interrupted one, as users of #4713 did "
        "by hand."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the turn has already ended in the projections; the appended session state only agrees with it",
    detect=detect,
    reads=(*ENDS_SESSION,),
)
