"""CX101 codex-history-turn-in-progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.state_db import CodexStateDb


def detect(src: CodexStateDb) -> Iterator[Finding]:
    from threaddoctor.findings import EvidenceItem

    if "thread_turns" not in src.tables:
        return
    for t in src.rows(
        "SELECT t.thread_id, t.turn_id, t.rollout_ordinal, t.started_at, "
        "(SELECT COUNT(*) FROM thread_turns later WHERE later.thread_id = t.thread_id "
        " AND later.rollout_ordinal > t.rollout_ordinal) AS later_turns "
        "FROM thread_turns t WHERE t.status = 'inProgress' ORDER BY t.thread_id, t.rollout_ordinal"
    ):
        if not t["later_turns"] and src.left_unjudged(RULE.code, "turn", t["thread_id"], t["turn_id"]):
            continue  # the newest turn of a database Codex may be writing may be running
        why = (
            f"{t['later_turns']} later turn(s) of the thread exist"
            if t["later_turns"]
            else "nothing is writing the database"
        )
        yield RULE.finding(
            src,
            thread_id=t["thread_id"],
            turn_id=t["turn_id"],
            message=f"thread-history turn is still inProgress although {why}; the app shows it as running",
            evidence=[
                EvidenceItem(
                    kind="row",
                    table="thread_turns",
                    key={"thread_id": t["thread_id"], "turn_id": t["turn_id"]},
                    values={
                        "status": "inProgress",
                        "rollout_ordinal": t["rollout_ordinal"],
                        "started_at": t["started_at"],
                    },
                    description="turn left inProgress",
                )
            ],
        )


RULE = Rule(
    code="CX101",
    name="codex-history-turn-in-progress",
    source_kind="codex-sqlite",
    severity=Severity.warning,
    summary="Codex's thread-history database keeps a turn inProgress that has ended",
    explanation=(
        "thread_history_<N>.sqlite projects each rollout's turns into thread_turns. A turn whose process was "
        "killed keeps status inProgress there; resuming the thread starts a new turn but leaves the old row as "
        "it was, so the projection says the thread is still working (#40563, seen again with codex-cli "
        "0.169.0) while the app-server reports it idle. The rule reports inProgress turns that have later "
        "turns, and any inProgress turn of a database no process holds open and that shows no recent turn written in the last two minutes (a copy is judged in full)."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the projection is Codex's to rebuild from the rollout; the rollout repair is what matters",
    detect=detect,
)
