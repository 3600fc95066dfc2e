"""T3014 migration-collision."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.ledger import LedgerSource

_SEVERITY = {"refused": Severity.error, "reconcilable": Severity.info, "unknown": Severity.info}
_WHAT = {
    "collision": "another build's migrations at upstream's ids, with upstream's migrations recorded after them",
    "gap": "ids missing from the history",
    "fork": "upstream's migrations, then migrations of another build (a fork's own, or a preview's)",
    "newer": "upstream's migrations, then ones newer than threaddoctor's reference",
    "v2-preview": "a September 15-16 Orchestration V2 preview's numbering",
    "issue-preview": 'an "issue" preview build\'s migrations',
    "split-v2": "the September 8 build that split Orchestration V2 into ids 50-61",
}


def detect(src: LedgerSource) -> Iterator[Finding]:
    from threaddoctor.findings import EvidenceItem

    ledger = src.migration_ledger
    if ledger.status != "recognised":
        evidence = [
            EvidenceItem(
                kind="schema",
                table="effect_sql_migrations",
                key={"migration_id": d.migration_id},
                values={"name": d.recorded, "expected": d.expected},
                description=d.reason,
            )
            for d in ledger.divergences
        ] or [
            EvidenceItem(
                kind="schema",
                table="effect_sql_migrations",
                key={"migration_id": i},
                values={"name": n},
                description="recorded by a preview build",
            )
            for i, n in ledger.unknown_rows
        ]
        yield RULE.finding(
            src,
            severity=_SEVERITY[ledger.status],
            subject="migration-ledger",
            message=f"migration history: {_WHAT[ledger.shape]} ({_rows(ledger.unknown_rows)}); "
            f"threaddoctor reads it as {ledger.release.name}; {ledger.app_message}",
            evidence=evidence,
        )
    v2_tables = sorted(t for t in src.tables if t.startswith("orchestration_v2_"))
    if v2_tables and ledger.generation == "v1":
        yield RULE.finding(
            src,
            subject="orchestration-v2-tables",
            message=f"Orchestration V2 tables are present ({', '.join(v2_tables[:3])}"
            f"{' ...' if len(v2_tables) > 3 else ''}) though the ledger is a V1 one: a V2 build ran "
            "on this database and its ledger rows were overwritten or never kept",
            evidence=[
                EvidenceItem(kind="schema", table=t, description="table of the Orchestration V2 branch")
                for t in v2_tables
            ],
        )


def _rows(rows: list[tuple[int, str]]) -> str:
    shown = ", ".join(f"{i} {n}" for i, n in rows[:6])
    return shown + (f" and {len(rows) - 6} more" if len(rows) > 6 else "") if rows else "none"


RULE = Rule(
    code="T3014",
    name="migration-collision",
    source_kind="t3code-ledger",
    severity=Severity.error,
    summary="The migration history is not upstream's: the app refuses it, reconciles it, or it is another build's",
    explanation=(
        "T3 Code records each migration it ran in effect_sql_migrations, and Effect's migrator runs only ids "
        "above the highest recorded one. Fork, preview and Orchestration V2 builds record their own migrations "
        "at upstream's ids, so an upstream build that runs later silently skips upstream's migrations there "
        '(#8896, "no such column: auto_pull"); builds that check the history stop at start with '
        '"Unrecognized migration history at <id>:<name>". The rule reads the ledger and says, in the app\'s '
        "words, what its next start does with it: an error for a history the app refuses (a gap, or another "
        "build's migrations with upstream's recorded after them); information for a preview numbering the "
        "app reconciles itself, and for a history that continues with migrations threaddoctor does not know "
        "(a fork's own, a newer build), on which every rule whose tables and columns are there as it expects "
        "still runs (the notes say which ran and which could not). The ledger is never edited: only the app's "
        "own reconciler may move its rows, and a made-up row would make the migrator skip real schema. "
        "Nothing is written to a database whose history is not upstream's."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the ledger belongs to the app's migrator; editing it would make things worse",
    detect=detect,
    scope="schema",
)
