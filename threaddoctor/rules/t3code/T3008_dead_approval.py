"""T3008 dead-approval."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    APPROVALS,
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


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan
    from threaddoctor.sources.t3code.vocabulary import stale_approval_detail

    for a in src.rows(
        "SELECT * FROM projection_pending_approvals WHERE status = 'pending' ORDER BY thread_id, created_at"
    ):
        reason = why_dead(src, a["thread_id"], a["turn_id"])
        if reason is None:
            continue
        rid = a["request_id"]
        yield RULE.finding(
            src,
            thread_id=a["thread_id"],
            subject=rid,
            turn_id=a["turn_id"],
            message=f"approval {rid} requested at {a['created_at']} can never be answered: {reason}",
            since=a["created_at"],
            evidence=[
                row_evidence(
                    "projection_pending_approvals",
                    {"request_id": rid},
                    {"status": "pending", "created_at": a["created_at"]},
                    "approval still pending",
                )
            ],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append the app's stale-approval activity (provider.approval.respond.failed), which "
                "resolves the request and lowers the pending counter",
                steps=[
                    failure_activity(
                        a["thread_id"],
                        "provider.approval.respond.failed",
                        rid,
                        stale_approval_detail(rid),
                        a["turn_id"],
                    )
                ],
            ),
        )


RULE = Rule(
    code="T3008",
    name="dead-approval",
    source_kind="t3code",
    severity=Severity.error,
    summary="An approval request is pending on a session that can no longer answer it",
    explanation=(
        "A pending row in projection_pending_approvals waits for the user's decision, but the provider "
        "callback that would receive it died with the session: the session stopped or errored, its runtime "
        'binding is gone, or the request\'s turn already ended. The thread shows "Pending Approval" forever '
        "and cannot be settled (#7657, #7843, #7113, #11799). An approval on a running session with a live "
        "provider is a real question and is left alone. The repair appends the activity T3 Code itself "
        'writes when an answer reaches a dead callback, provider.approval.respond.failed with the "Stale '
        "pending approval request\" detail; every release's projector resolves the request on it and "
        "recounts the thread's pending approvals."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="the app recognises this exact activity as a resolved, stale request; no provider is waiting",
    detect=detect,
    reads=(*APPROVALS, *SESSIONS, *TURNS, *BINDINGS),
)
