"""T3010 pending-counter-mismatch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import ACTIVITIES, APPROVALS, row_evidence
from threaddoctor.rules.t3code.T3009_dead_user_input import open_requests
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan, RowChange

    if not src.has("projection_threads", "pending_approval_count"):
        return  # the counters arrived with migration 023
    approvals = Counter(
        {
            r["thread_id"]: r["n"]
            for r in src.rows(
                "SELECT thread_id, COUNT(*) AS n FROM projection_pending_approvals WHERE status = 'pending' "
                "GROUP BY thread_id"
            )
        }
    )
    inputs = Counter(r["thread_id"] for r in open_requests(src).values())
    suspects = (
        set(approvals)
        | set(inputs)
        | {
            r["thread_id"]
            for r in src.rows(
                "SELECT thread_id FROM projection_threads WHERE pending_approval_count <> 0 OR pending_user_input_count <> 0"
            )
        }
    )
    for thread_id in sorted(suspects):
        row = src.row(
            "SELECT thread_id, pending_approval_count, pending_user_input_count, updated_at "
            "FROM projection_threads WHERE thread_id = ?",
            (thread_id,),
        )
        if row is None:
            continue
        want = {
            "pending_approval_count": approvals[thread_id],
            "pending_user_input_count": inputs[thread_id],
        }
        have = {k: row[k] for k in want}
        if have == want:
            continue
        diff = ", ".join(f"{k} is {have[k]} but the rows say {want[k]}" for k in want if have[k] != want[k])
        yield RULE.finding(
            src,
            thread_id=thread_id,
            message=f"stale shell counters: {diff}",
            since=row["updated_at"],
            evidence=[
                row_evidence(
                    "projection_threads",
                    {"thread_id": thread_id},
                    have,
                    "counters in the thread row",
                )
            ],
            repair=RepairPlan(
                safety=FixSafety.unsafe,
                summary="recount the counters in projection_threads, as the app's projector would",
                steps=[
                    RowChange(
                        action="update-row",
                        table="projection_threads",
                        key={"thread_id": thread_id},
                        before=have,
                        after=want,
                    )
                ],
            ),
        )


RULE = Rule(
    code="T3010",
    name="pending-counter-mismatch",
    source_kind="t3code",
    severity=Severity.warning,
    summary="The thread's pending approval or user-input counter disagrees with the rows",
    explanation=(
        "projection_threads keeps pending_approval_count and pending_user_input_count for the sidebar. The "
        "projector recomputes them only when the thread receives certain events, so a row changed any other "
        "way (a migration, a hand edit, an older projector) leaves a badge that counts requests that are "
        "not there, or hides ones that are. The rule recounts pending rows in projection_pending_approvals "
        "and open user-input requests from activities, the app's own derivations, and reports threads whose "
        "counters differ. The repair writes the recounted values into the row; it is unsafe because no "
        "event carries the counters, so clients that cached the thread keep the old badge until they load "
        "a fresh snapshot."
    ),
    fix_safety=FixSafety.unsafe,
    fix_reason="a direct projection edit: correct in the database, but not replayed to clients with a warm cache",
    detect=detect,
    reads=(
        *APPROVALS,
        *ACTIVITIES,
        "projection_threads.thread_id",
        "projection_threads.pending_approval_count",
        "projection_threads.pending_user_input_count",
        "projection_threads.updated_at",
    ),
)
