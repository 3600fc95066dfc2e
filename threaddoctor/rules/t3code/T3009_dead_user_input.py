"""T3009 dead-user-input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    ACTIVITIES,
    BINDINGS,
    SESSIONS,
    TURNS,
    failure_activity,
    row_evidence,
    why_dead,
)
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


_KINDS = ("user-input.requested", "user-input.resolved", "provider.user-input.respond.failed")


def open_requests(src: T3Source) -> dict[str, dict[str, Any]]:
    """Open user-input requests by request id, derived from activities as the app does."""
    return src.memo("open-user-input-requests", lambda: _derive_open_requests(src))


def _derive_open_requests(src: T3Source) -> dict[str, dict[str, Any]]:
    from threaddoctor.sources.t3code.vocabulary import is_stale_user_input_failure

    open_: dict[str, dict[str, Any]] = {}
    rows = src.conn.execute(
        "SELECT activity_id, thread_id, turn_id, kind, payload_json, created_at FROM projection_thread_activities "
        f"WHERE kind IN ({', '.join('?' for _ in _KINDS)}) ORDER BY thread_id, created_at, activity_id",
        _KINDS,
    )
    for activity_id, thread_id, turn_id, kind, payload_json, created_at in rows:
        try:
            payload = json.loads(payload_json)
        except ValueError:
            continue
        rid = payload.get("requestId") if isinstance(payload, dict) else None
        if not isinstance(rid, str):
            continue
        if kind == "user-input.requested":
            open_[rid] = {
                "thread_id": thread_id,
                "turn_id": turn_id,
                "activity_id": activity_id,
                "created_at": created_at,
            }
        elif kind == "user-input.resolved" or is_stale_user_input_failure(payload.get("detail")):
            open_.pop(rid, None)
    return open_


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan
    from threaddoctor.sources.t3code.vocabulary import stale_user_input_detail

    for rid, r in open_requests(src).items():
        reason = why_dead(src, r["thread_id"], r["turn_id"])
        if reason is None:
            continue
        yield RULE.finding(
            src,
            thread_id=r["thread_id"],
            subject=rid,
            turn_id=r["turn_id"],
            message=f"user-input request {rid} asked at {r['created_at']} can never be answered: {reason}",
            since=r["created_at"],
            evidence=[
                row_evidence(
                    "projection_thread_activities",
                    {"activity_id": r["activity_id"]},
                    {"kind": "user-input.requested", "request_id": rid},
                    "user-input request with no resolution",
                )
            ],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append the app's stale user-input activity (provider.user-input.respond.failed), which "
                "closes the request and lowers the pending counter",
                steps=[
                    failure_activity(
                        r["thread_id"],
                        "provider.user-input.respond.failed",
                        rid,
                        stale_user_input_detail(rid),
                        r["turn_id"],
                    )
                ],
            ),
        )


RULE = Rule(
    code="T3009",
    name="dead-user-input",
    source_kind="t3code",
    severity=Severity.error,
    summary="A user-input question is open on a session that can no longer receive the answer",
    explanation=(
        "A user-input.requested activity has no user-input.resolved and no stale-failure activity after it, "
        "so the question stays open, but the session that asked it stopped, errored or lost its provider, or "
        "the turn ended. The popup can never be dismissed; answering only adds "
        'provider.user-input.respond.failed with "No active provider session is bound to this thread.", '
        "a detail the app does not count as closing the request (#5454, #4060, #5119). A question on a "
        "running session with a live provider is left alone. The repair appends the activity the app itself "
        'treats as closing a dead request: provider.user-input.respond.failed with the "Stale pending '
        'user-input request" detail.'
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the app's projector and client both read this activity as a closed request; no provider waits",
    detect=detect,
    reads=(*ACTIVITIES, *SESSIONS, *TURNS, *BINDINGS),
)
