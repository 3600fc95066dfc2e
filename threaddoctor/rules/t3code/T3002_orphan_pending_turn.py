"""T3002 orphan-pending-turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    BINDINGS,
    ENDS_SESSION,
    EVENTS,
    binding_evidence,
    binding_is_live,
    binding_row,
    delete_row,
    end_session,
    session_evidence,
    session_row,
    turn_evidence,
)
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem, Finding, RepairPlan
    from threaddoctor.sources.t3code.source import Event, T3Source


_PROVIDER_OUTPUT = ("thread.message-sent", "thread.activity-appended", "thread.turn-diff-completed")


def _request_for(src: T3Source, thread_id: str, message_id: str | None) -> Event | None:
    for ev in src.thread_events(thread_id, types=("thread.turn-start-requested",), newest_first=True):
        if ev.payload.get("messageId") == message_id:
            return ev
    return None


def _promoted_after(src: T3Source, thread_id: str, after: int) -> bool:
    for ev in src.thread_events(thread_id, after=after, types=("thread.session-set",)):
        session = ev.payload.get("session", {})
        if session.get("status") == "running" and session.get("activeTurnId"):
            return True
    return False


def _other_turn_output(src: T3Source, thread_id: str, after: int) -> list[Event]:
    """Provider events after the request that still belong to an earlier turn (#313)."""
    found = []
    for ev in src.thread_events(thread_id, after=after, types=_PROVIDER_OUTPUT, actor="provider"):
        turn = ev.payload.get("turnId") or ev.payload.get("activity", {}).get("turnId")
        if turn:
            found.append(ev)
    return found


def detect(src: T3Source) -> Iterator[Finding]:
    pending = src.rows(
        "SELECT * FROM projection_turns WHERE turn_id IS NULL AND state = 'pending' ORDER BY thread_id, requested_at"
    )
    for t in pending:
        thread_id = t["thread_id"]
        request = _request_for(src, thread_id, t["pending_message_id"])
        after = request.sequence if request else 0
        if request and _promoted_after(src, thread_id, after):
            continue  # projections lag: the unprojected-events rule reports it
        session = session_row(src, thread_id)
        binding = binding_row(src, thread_id)
        elsewhere = _other_turn_output(src, thread_id, after)
        starting_now = session is not None and session["status"] in ("starting", "running") and binding_is_live(binding)
        if starting_now and not elsewhere:
            continue  # a start in progress, not an orphan
        yield _finding(src, t, request, session, binding, elsewhere)


def _finding(
    src: T3Source,
    t: dict,
    request: Event | None,
    session: dict | None,
    binding: dict | None,
    elsewhere: list[Event],
) -> Finding:
    thread_id = t["thread_id"]
    evidence: list[EvidenceItem] = [turn_evidence(t, "pending turn start (turn_id NULL) never promoted")]
    if request:
        evidence.insert(0, request.evidence("turn start requested for the user's message"))
    if elsewhere:
        evidence.append(elsewhere[0].evidence("provider kept working on an earlier turn after the request"))
        if len(elsewhere) > 1:
            evidence.append(elsewhere[-1].evidence("last provider event on the earlier turn"))
    if session:
        evidence.append(session_evidence(session))
    evidence.append(binding_evidence(thread_id, binding))
    why = (
        "the provider kept working on an earlier turn"
        if elsewhere
        else f"the session is {session['status'] if session else 'missing'} with no live provider"
    )
    return RULE.finding(
        src,
        thread_id=thread_id,
        subject=t["pending_message_id"],
        message=f"the user's message of {t['requested_at']} is waiting for a turn that will never start: {why}",
        since=t["requested_at"],
        evidence=evidence,
        repair=_repair(src, t, session),
    )


def _repair(src: T3Source, t: dict, session: dict | None) -> RepairPlan:
    from threaddoctor.findings import RepairPlan

    release = src.schema.release
    if release.terminal_session_set_deletes_pending and session is not None:
        return RepairPlan(
            safety=FixSafety.safe,
            summary="append a thread.session-set with status interrupted, which deletes the pending row "
            "(v0.0.29+ projector) and ends any running turn",
            steps=end_session(src, session, "interrupted"),
        )
    key = {"row_id": t["row_id"]}
    return RepairPlan(
        safety=FixSafety.safe,
        summary=f"delete the pending projection_turns row (no event removes it on {release.name}; the v0.0.29+ "
        "projector deletes it the same way)",
        steps=[delete_row("projection_turns", key, {k: v for k, v in t.items() if k != "row_id"})],
    )


RULE = Rule(
    code="T3002",
    name="orphan-pending-turn",
    source_kind="t3code",
    severity=Severity.error,
    summary="A user message's pending turn start will never become a turn",
    explanation=(
        "When the user sends a message, T3 Code records thread.turn-start-requested and a placeholder row in "
        "projection_turns with turn_id NULL and state pending; only a later thread.session-set with status "
        "running and an active turn promotes it. If the provider never opens that turn (a message sent while "
        "a turn was still running, a failed start, a restart in between; issues #313, #393, #9672), the "
        "placeholder stays, the follow-up never starts, and on newer releases the thread can stay "
        '"Connecting". The rule reports a pending row that no later running session-set promoted, when the '
        "provider kept working on an earlier turn after the request or the session has no live provider; a "
        "pending row whose session is starting right now with a live binding is a start in progress and is "
        "left alone. The repair, on v0.0.29 and later, appends a session-set with status interrupted, which "
        "the app's projector answers by deleting the placeholder; on older releases no event removes it, so "
        "the row itself is deleted, exactly as the newer projector would."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the event is the app's own terminal session state; the direct delete (before v0.0.29) removes "
    "only a placeholder no reader depends on, and both are journaled for undo",
    detect=detect,
    reads=(*EVENTS, *ENDS_SESSION, *BINDINGS),
)
