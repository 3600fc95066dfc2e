"""T3007 stopped-session-dangling-turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import ACTIVITIES, ENDS_SESSION, end_session, session_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan

    for s in src.rows(
        "SELECT * FROM projection_thread_sessions WHERE status = 'stopped' AND active_turn_id IS NOT NULL"
    ):
        failures = src.rows(
            "SELECT COUNT(*) AS n FROM projection_thread_activities WHERE thread_id = ? "
            "AND kind = 'provider.turn.interrupt.failed'",
            (s["thread_id"],),
        )[0]["n"]
        tail = f"; {failures} interrupt attempt(s) failed" if failures else ""
        yield RULE.finding(
            src,
            thread_id=s["thread_id"],
            turn_id=s["active_turn_id"],
            message=f"session stopped at {s['updated_at']} but still holds turn {s['active_turn_id']}{tail}",
            since=s["updated_at"],
            evidence=[session_evidence(s)],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append a thread.session-set: still stopped, no active turn, lastError kept",
                steps=end_session(src, s, "stopped", last_error=s.get("last_error")),
            ),
        )


RULE = Rule(
    code="T3007",
    name="stopped-session-dangling-turn",
    source_kind="t3code",
    severity=Severity.warning,
    summary="A stopped session still holds an active turn",
    explanation=(
        "A session row with status stopped keeps an active_turn_id. An interrupt on a stopped session only "
        'appends provider.turn.interrupt.failed ("No active provider session is bound to this thread.") '
        "and never clears the turn, so the thread looks busy and every Stop fails the same way (#11796). "
        "The repair appends a thread.session-set that keeps the session stopped and its lastError but "
        "clears the active turn, which is what the pending upstream fix (PR #11797) writes."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the session is already stopped; the event only drops a turn reference nothing can act on",
    detect=detect,
    reads=(*ENDS_SESSION, *ACTIVITIES),
)
