"""T3104 subagent-out-of-step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code_v2.common import live_threads
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


# With a live server a child that has just finished settles its parent record a moment later.
GRACE_SECONDS = 120


def _age(ts: str | None) -> float:
    if not ts:
        return float("inf")
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return float("inf")


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.sources.t3code.v2.source import row_evidence
    from threaddoctor.sources.t3code.v2.vocabulary import LIVE_RUN, LIVE_SUBAGENT

    threads = live_threads(src)
    for s in src.rows(
        "SELECT subagent_id, thread_id, child_thread_id, origin, status, updated_at "
        "FROM orchestration_v2_projection_subagents WHERE child_thread_id IS NOT NULL ORDER BY thread_id, started_at"
    ):
        child = s["child_thread_id"]
        if s["thread_id"] not in threads or child not in threads:
            continue
        runs = src.rows(
            "SELECT run_id, status, completed_at FROM orchestration_v2_projection_runs WHERE thread_id = ? ORDER BY ordinal",
            (child,),
        )
        if not runs:
            continue
        working = [r for r in runs if r["status"] in LIVE_RUN]
        parent_live = s["status"] in LIVE_SUBAGENT
        if parent_live and not working and s["origin"] == "app_owned":
            if src.server_alive and _age(runs[-1]["completed_at"]) < GRACE_SECONDS:
                continue
            what = f"the parent's subagent record is still {s['status']} but its child thread finished ({runs[-1]['status']})"
        elif not parent_live and working and src.server_alive:
            # Without a live server the child's runs are cut off and recovery cancels them (T3101).
            what = f"the parent's subagent record settled ({s['status']}) while its child thread still works ({working[0]['status']})"
        else:
            continue
        yield RULE.finding(
            src,
            thread_id=s["thread_id"],
            subject=s["subagent_id"],
            message=f"subagent {s['subagent_id']}: {what}; recovery skips app-owned delegations, so neither side "
            "will settle the other (#13331)",
            since=s["updated_at"],
            evidence=[
                row_evidence(
                    "orchestration_v2_projection_subagents",
                    {"subagent_id": s["subagent_id"]},
                    {"status": s["status"], "origin": s["origin"], "child_thread_id": child},
                    "parent's record",
                ),
                row_evidence(
                    "orchestration_v2_projection_runs",
                    {"run_id": runs[-1]["run_id"]},
                    {"thread_id": child, "status": runs[-1]["status"]},
                    "child thread's latest run",
                ),
            ],
        )


RULE = Rule(
    code="T3104",
    name="subagent-out-of-step",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="A parent's subagent record and its child thread disagree: one settled, the other still working",
    explanation=(
        "An app-owned delegation is a row in orchestration_v2_projection_subagents pointing at a child thread. "
        "The child settles the parent's record when it finishes, and start-up recovery deliberately skips such "
        "delegations ('the child settles them'). When the record settles while the child still has runs "
        "working, or stays pending/running/waiting after the child finished, nothing will bring them back in "
        "step (#13331): the parent waits forever, or the child's result never reaches it. Report only: which "
        "side is right is the user's call, and no recovery write for it is established."
    ),
    fix_safety=FixSafety.none,
    fix_reason="recovery does not settle app-owned delegations and no verified write exists; open the parent and "
    "the child thread and continue from there",
    detect=detect,
)
