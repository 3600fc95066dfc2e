"""CX102 codex-queued-turn-stuck."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem, Finding
    from threaddoctor.sources.codex.state_db import CodexStateDb


def _evidence(r: dict, description: str) -> EvidenceItem:
    from threaddoctor.findings import EvidenceItem

    return EvidenceItem(
        kind="row",
        table="thread_queued_turns",
        key={"queued_turn_id": r["queued_turn_id"]},
        values={"state": r["state"], "queue_order": r["queue_order"]},
        description=description,
    )


def detect(src: CodexStateDb) -> Iterator[Finding]:
    if "thread_queued_turns" not in src.tables:
        return
    rows = src.rows(
        "SELECT queued_turn_id, thread_id, state, queue_order FROM thread_queued_turns ORDER BY thread_id, queue_order"
    )
    by_thread: dict[str, list[dict]] = {}
    for r in rows:
        by_thread.setdefault(r["thread_id"], []).append(r)
    for thread_id, queue in by_thread.items():
        head, pending = queue[0], [r for r in queue if r["state"] == "pending"]
        if head["state"] == "failed" and pending:
            yield RULE.finding(
                src,
                thread_id=thread_id,
                subject=head["queued_turn_id"],
                message=f"a failed queued turn heads the queue and blocks {len(pending)} pending turn(s) behind it",
                evidence=[_evidence(head, "failed head"), *(_evidence(r, "blocked") for r in pending[:3])],
            )
        for r in queue:
            if r["state"] == "dispatching" and not src.left_unjudged(
                RULE.code, "queued turn", thread_id, r["queued_turn_id"]
            ):
                yield RULE.finding(
                    src,
                    thread_id=thread_id,
                    subject=r["queued_turn_id"],
                    message="a queued turn is stuck dispatching with no Codex running to dispatch it",
                    evidence=[_evidence(r, "dispatching")],
                )


RULE = Rule(
    code="CX102",
    name="codex-queued-turn-stuck",
    source_kind="codex-sqlite",
    severity=Severity.error,
    summary="A Codex queued turn is stuck dispatching, or a failed one blocks the queue",
    explanation=(
        "Codex queues follow-up turns in thread_queued_turns with state pending, dispatching or failed. Only "
        "one row per thread may be dispatching, and a failed row at the head blocks every pending row behind "
        "it until someone removes it; a dispatching row abandoned by a dead process is only turned into "
        "failed when Codex recovers it at start. The rule reports failed heads with pending turns behind them, "
        "and dispatching rows in a database no running Codex may be writing (held open, or a recent row written in the last two minutes)."
    ),
    fix_safety=FixSafety.none,
    fix_reason="removing a queued turn discards what the user asked for; a person decides",
    detect=detect,
)
