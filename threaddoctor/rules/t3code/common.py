"""Pieces several T3 Code rules share: row evidence, liveness, and repairs in the app's idioms."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem, PlannedEvent, RowChange
    from threaddoctor.sources.t3code.source import T3Source


SETTLED_TURN_STATES = ("completed", "interrupted", "error")


# What the rules read (Rule.reads), so that they still run on a ledger threaddoctor does not know.
def columns(table: str, names: str) -> tuple[str, ...]:
    return tuple(f"{table}.{c}" for c in names.split())


EVENTS = columns(
    "orchestration_events",
    "sequence event_id aggregate_kind stream_id stream_version event_type occurred_at command_id actor_kind "
    "payload_json metadata_json",
)
SESSIONS = columns(
    "projection_thread_sessions", "thread_id status provider_name runtime_mode active_turn_id last_error updated_at"
)
TURNS = columns(
    "projection_turns", "row_id thread_id turn_id pending_message_id state requested_at started_at completed_at"
)
MESSAGES = columns("projection_thread_messages", "message_id thread_id turn_id role is_streaming created_at updated_at")
ACTIVITIES = columns("projection_thread_activities", "activity_id thread_id turn_id kind payload_json created_at")
APPROVALS = columns("projection_pending_approvals", "request_id thread_id turn_id status created_at")
BINDINGS = columns("provider_session_runtime", "thread_id status last_seen_at provider_name")
CURSORS = ("projection_state.projector", "projection_state.last_applied_sequence", "projection_state.updated_at")
# A session's repair (end_session) also reads messages and turns.
ENDS_SESSION = (*SESSIONS, *TURNS, *MESSAGES)
LIVE_BINDING = ("starting", "running")


def row_evidence(table: str, key: dict[str, Any], values: dict[str, Any], description: str) -> EvidenceItem:
    from threaddoctor.findings import EvidenceItem

    return EvidenceItem(kind="row", table=table, key=key, values=values, description=description)


def session_row(src: T3Source, thread_id: str) -> dict[str, Any] | None:
    return src.row("SELECT * FROM projection_thread_sessions WHERE thread_id = ?", (thread_id,))


def session_evidence(s: dict[str, Any]) -> EvidenceItem:
    keep = ("status", "active_turn_id", "last_error", "updated_at", "provider_name")
    return row_evidence(
        "projection_thread_sessions",
        {"thread_id": s["thread_id"]},
        {k: s.get(k) for k in keep},
        f"session is {s['status']}" + (f" with lastError {s['last_error']!r}" if s.get("last_error") else ""),
    )


def binding_row(src: T3Source, thread_id: str) -> dict[str, Any] | None:
    """The thread's provider_session_runtime row, or None (missing, or a pre-reshape table)."""
    if not src.has("provider_session_runtime", "thread_id") or not src.has("provider_session_runtime", "status"):
        return None
    return src.row(
        "SELECT thread_id, status, last_seen_at, provider_name FROM provider_session_runtime WHERE thread_id = ?",
        (thread_id,),
    )


def binding_is_live(binding: dict[str, Any] | None) -> bool:
    return binding is not None and binding["status"] in LIVE_BINDING


def binding_evidence(thread_id: str, binding: dict[str, Any] | None) -> EvidenceItem:
    if binding is None:
        return row_evidence(
            "provider_session_runtime",
            {"thread_id": thread_id},
            {},
            "no provider runtime binding for the thread",
        )
    return row_evidence(
        "provider_session_runtime",
        {"thread_id": thread_id},
        {"status": binding["status"], "last_seen_at": binding["last_seen_at"]},
        f"provider runtime is {binding['status']}",
    )


def turn_evidence(t: dict[str, Any], description: str) -> EvidenceItem:
    keep = ("turn_id", "state", "pending_message_id", "requested_at", "started_at", "completed_at")
    return row_evidence("projection_turns", {"row_id": t["row_id"]}, {k: t.get(k) for k in keep}, description)


def session_set(
    src: T3Source,
    s: dict[str, Any],
    status: str,
    *,
    active_turn_id: str | None = None,
    last_error: str | None = None,
) -> PlannedEvent:
    """A corrective thread.session-set built from the current session row (reference §4.4):
    runtime mode and provider copied, providerInstanceId only when set and known to the release."""
    from threaddoctor.findings import PlannedEvent
    from threaddoctor.sources.t3code.vocabulary import iso_now

    session: dict[str, Any] = {
        "threadId": s["thread_id"],
        "status": status,
        "providerName": s.get("provider_name"),
        "runtimeMode": s.get("runtime_mode") or "full-access",
        "activeTurnId": active_turn_id,
        "lastError": last_error,
        "updatedAt": iso_now(),
    }
    if s.get("provider_instance_id") and src.has("projection_thread_sessions", "provider_instance_id"):
        session["providerInstanceId"] = s["provider_instance_id"]
    return PlannedEvent(
        stream_id=s["thread_id"],
        event_type="thread.session-set",
        payload={"threadId": s["thread_id"], "session": session},
    )


def failure_activity(thread_id: str, kind: str, request_id: str, detail: str, turn_id: str | None) -> PlannedEvent:
    """The activity the app writes when a response to a dead request fails (reference §4.4)."""
    from threaddoctor.findings import PlannedEvent
    from threaddoctor.sources.t3code.vocabulary import iso_now

    now = iso_now()
    activity = {
        "id": str(uuid.uuid4()),
        "tone": "error",
        "kind": kind,
        "summary": "Provider approval response failed" if "approval" in kind else "Provider user input response failed",
        "payload": {"detail": detail, "requestId": request_id},
        "turnId": turn_id,
        "createdAt": now,
    }
    return PlannedEvent(
        stream_id=thread_id,
        event_type="thread.activity-appended",
        payload={"threadId": thread_id, "activity": activity},
        metadata={"requestId": request_id},
    )


def delete_row(table: str, key: dict[str, Any], before: dict[str, Any]) -> RowChange:
    from threaddoctor.findings import RowChange

    return RowChange(action="delete-row", table=table, key=key, before=before)


def why_dead(src: T3Source, thread_id: str, turn_id: str | None) -> str | None:
    """Why nobody can answer a request on this thread any more, or None if someone still can.

    Provider callback state lives in the provider process: once the session stopped, errored or
    lost its runtime binding, the request's turn ended, or no server holds the database any more,
    the request cannot be answered."""
    s = session_row(src, thread_id)
    if s is None:
        return "the thread has no session"
    if s["status"] not in LIVE_BINDING:
        return f"the session is {s['status']}"
    if not binding_is_live(binding_row(src, thread_id)):
        return "the provider runtime is not alive"
    if turn_id:
        t = src.row(
            "SELECT state FROM projection_turns WHERE thread_id = ? AND turn_id = ?",
            (thread_id, turn_id),
        )
        if t is not None and t["state"] in SETTLED_TURN_STATES:
            return f"its turn is {t['state']}"
    server = src.server
    if not server.live:  # the provider process went with the server (T3015 reports the thread)
        return f"no server holds the database ({server.why})"
    return None


def end_session(src: T3Source, s: dict[str, Any], status: str, *, last_error: str | None = None) -> list[PlannedEvent]:
    """Steps that end a session completely, as the app's projector of that release needs them:
    close assistant streams, interrupt running turns where the session-set does not settle them
    (before v0.0.28), then the corrective session-set."""
    thread_id = s["thread_id"]
    steps: list[PlannedEvent] = [
        assistant_completion(m)
        for m in src.rows(
            "SELECT message_id, thread_id, turn_id, created_at FROM projection_thread_messages "
            "WHERE thread_id = ? AND role = 'assistant' AND is_streaming = 1 ORDER BY created_at",
            (thread_id,),
        )
    ]
    if not src.schema.release.settles_turns_on_session_set:
        steps += [
            turn_interrupt(thread_id, t["turn_id"])
            for t in src.rows(
                "SELECT turn_id FROM projection_turns WHERE thread_id = ? AND state = 'running' "
                "AND turn_id IS NOT NULL ORDER BY requested_at",
                (thread_id,),
            )
        ]
    return [*steps, session_set(src, s, status, last_error=last_error)]


def assistant_completion(m: dict[str, Any]) -> PlannedEvent:
    """What thread.message.assistant.complete writes: same message, empty text, streaming false."""
    from threaddoctor.findings import PlannedEvent
    from threaddoctor.sources.t3code.vocabulary import iso_now

    return PlannedEvent(
        stream_id=m["thread_id"],
        event_type="thread.message-sent",
        payload={
            "threadId": m["thread_id"],
            "messageId": m["message_id"],
            "role": "assistant",
            "text": "",
            "turnId": m["turn_id"],
            "streaming": False,
            "createdAt": m["created_at"],
            "updatedAt": iso_now(),
        },
    )


def turn_interrupt(thread_id: str, turn_id: str) -> PlannedEvent:
    """The Stop button's event naming the turn; offline it only marks the turn interrupted."""
    from threaddoctor.findings import PlannedEvent
    from threaddoctor.sources.t3code.vocabulary import iso_now

    return PlannedEvent(
        stream_id=thread_id,
        event_type="thread.turn-interrupt-requested",
        payload={"threadId": thread_id, "turnId": turn_id, "createdAt": iso_now()},
    )
