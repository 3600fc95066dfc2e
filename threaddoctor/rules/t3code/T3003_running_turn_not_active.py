"""T3003 running-turn-not-active."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import SESSIONS, TURNS, session_evidence, turn_evidence, turn_interrupt
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan

    rows = src.rows(
        "SELECT t.*, s.status AS session_status, s.active_turn_id AS session_turn, s.thread_id AS s_thread, "
        "s.last_error AS s_last_error, s.updated_at AS s_updated_at, s.provider_name AS s_provider "
        "FROM projection_turns t LEFT JOIN projection_thread_sessions s ON s.thread_id = t.thread_id "
        "WHERE t.state = 'running' AND t.turn_id IS NOT NULL"
    )
    for t in rows:
        if t["session_status"] == "running" and t["session_turn"] == t["turn_id"]:
            continue
        session = {
            "thread_id": t["thread_id"],
            "status": t["session_status"] or "missing",
            "active_turn_id": t["session_turn"],
            "last_error": t["s_last_error"],
            "updated_at": t["s_updated_at"],
            "provider_name": t["s_provider"],
        }
        yield RULE.finding(
            src,
            thread_id=t["thread_id"],
            turn_id=t["turn_id"],
            message=(
                f"turn started {t['started_at']} is still running, but the session is "
                f"{session['status']} and runs {t['session_turn'] or 'no turn'}"
            ),
            since=t["started_at"],
            evidence=[turn_evidence(t, "turn still running"), session_evidence(session)],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append thread.turn-interrupt-requested for the turn; the projector marks it interrupted",
                steps=[turn_interrupt(t["thread_id"], t["turn_id"])],
            ),
        )


RULE = Rule(
    code="T3003",
    name="running-turn-not-active",
    source_kind="t3code",
    severity=Severity.warning,
    summary="A turn is still running although its session no longer runs it",
    explanation=(
        "A projection_turns row stays in state running while the thread's session is not running that turn "
        "(another status, or another active turn). Releases before v0.0.28 never settled turns when the "
        "session moved on, and a restart during a turn leaves the same trace (#4584, #7315); the thread then "
        'shows "Working" for a turn nobody is working on. A turn that the session is running right now is '
        "healthy and not reported. The repair appends thread.turn-interrupt-requested naming the turn, the "
        "event the Stop button writes; offline it only changes the projection, marking the turn interrupted "
        "with its completion time."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the appended event is the app's own Stop request; replayed later it is inert, because reactors "
    "do not act on replayed events, and it only settles a turn that is not running",
    detect=detect,
    reads=(*TURNS, *SESSIONS),
)
