"""T3005 session-without-provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    BINDINGS,
    ENDS_SESSION,
    SETTLED_TURN_STATES,
    binding_evidence,
    binding_is_live,
    binding_row,
    end_session,
    session_evidence,
)
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    # A stopped session holding a turn is T3007's; an error session is the app's own end state
    # (the startup reconcile writes it) unless it still claims a turn, which T3001 covers for
    # transient errors and this rule for the rest.
    from threaddoctor.findings import RepairPlan

    sessions = src.rows(
        "SELECT s.*, t.state AS turn_state FROM projection_thread_sessions s "
        "LEFT JOIN projection_turns t ON t.thread_id = s.thread_id AND t.turn_id = s.active_turn_id "
        "WHERE s.status IN ('starting', 'running') "
        "OR (s.active_turn_id IS NOT NULL AND s.status IN ('ready', 'idle', 'interrupted'))"
    )
    for s in sessions:
        if s["status"] == "running" and (s["active_turn_id"] is None or s["turn_state"] in SETTLED_TURN_STATES):
            continue  # active-turn-already-settled reports it
        binding = binding_row(src, s["thread_id"])
        if binding_is_live(binding):
            continue
        holding = f" holding turn {s['active_turn_id']}" if s["active_turn_id"] else ""
        reconciles = (
            " (T3 Code after v0.0.33 resets it to error at its next start)"
            if src.schema.release.startup_reconcile
            else ""
        )
        yield RULE.finding(
            src,
            thread_id=s["thread_id"],
            turn_id=s["active_turn_id"],
            message=(
                f"session is {s['status']}{holding} since {s['updated_at']}, but no provider runtime is "
                f"alive for it{reconciles}"
            ),
            since=s["updated_at"],
            evidence=[session_evidence(s), binding_evidence(s["thread_id"], binding)],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append a thread.session-set with status interrupted and no active turn",
                steps=end_session(src, s, "interrupted", last_error=s.get("last_error")),
            ),
        )


RULE = Rule(
    code="T3005",
    name="session-without-provider",
    source_kind="t3code",
    severity=Severity.error,
    summary="A session claims to be starting, running or holding a turn with no provider runtime behind it",
    explanation=(
        "The session row says starting or running, or it still holds an active turn, while the thread's "
        "provider_session_runtime binding is stopped or missing. Nothing will ever report back to such a "
        'session: an app restart during a turn leaves it "Working" forever, even on archived threads where '
        "Stop cannot converge (#4584, #4561, #7315, #6560). A stopped binding alone is normal (a clean "
        "shutdown stops every binding), so the rule needs both halves. T3 Code after v0.0.33 resets such "
        "sessions to error at start-up; older releases never do. The repair appends a thread.session-set "
        "with status interrupted and no active turn, keeping lastError; releases from v0.0.28 also settle "
        "the thread's running turns as interrupted."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="it is the state the app itself records when a turn is interrupted; the provider is gone, so no "
    "live work is cut short",
    detect=detect,
    reads=(*ENDS_SESSION, *BINDINGS),
)
