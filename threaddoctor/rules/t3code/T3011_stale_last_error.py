"""T3011 stale-last-error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import ENDS_SESSION, session_evidence, session_set
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


# A session-set that re-states starting/running would be acted on at start-up (the reconcile) and
# could promote a pending turn; those sessions are left to the liveness rules.
_REPAIRABLE = ("ready", "idle", "stopped", "interrupted")


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan

    for s in src.rows("SELECT * FROM projection_thread_sessions WHERE last_error IS NOT NULL AND status <> 'error'"):
        repair = None
        if s["status"] in _REPAIRABLE and s["active_turn_id"] is None:
            repair = RepairPlan(
                safety=FixSafety.safe,
                summary=f"append a thread.session-set: status {s['status']} kept, lastError cleared",
                steps=[session_set(src, s, s["status"])],
            )
        yield RULE.finding(
            src,
            thread_id=s["thread_id"],
            message=f"session is {s['status']} but still shows the error {s['last_error']!r}",
            since=s["updated_at"],
            evidence=[session_evidence(s)],
            repair=repair,
        )


RULE = Rule(
    code="T3011",
    name="stale-last-error",
    source_kind="t3code",
    severity=Severity.warning,
    summary="A session that is not in error still carries lastError, so the error banner never clears",
    explanation=(
        "T3 Code's interface shows a session's lastError whenever it is set, whatever the status. Several "
        "writers carry the previous lastError forward (turn.started, session stop, session exit), so a "
        "running, ready or stopped session can keep showing a long-gone error. The rule reports sessions "
        "whose status is not error and whose lastError is set. The repair appends a thread.session-set with "
        "the same status and lastError null; sessions that are starting, running or hold a turn get no "
        "repair here, because re-stating those states would be acted on at the app's next start (the "
        "session-liveness rules handle them)."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the status is unchanged; only the banner text is cleared, as sending a new message does on v0.0.29+",
    detect=detect,
    reads=(*ENDS_SESSION,),
)
