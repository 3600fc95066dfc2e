"""T3014 migration-collision."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import EvidenceItem

    for p in src.schema.problems:
        expected = f"upstream has {p.expected!r}" if p.expected else "upstream has no such migration"
        recorded = f"recorded {p.recorded!r}" if p.recorded else "nothing recorded"
        yield RULE.finding(
            src,
            subject=f"migration-{p.migration_id}",
            message=f"migration {p.migration_id}: {recorded}, {expected}: {p.reason}",
            evidence=[
                EvidenceItem(
                    kind="schema",
                    table="effect_sql_migrations",
                    key={"migration_id": p.migration_id},
                    values={"name": p.recorded, "expected": p.expected},
                    description=p.reason,
                )
            ],
        )
    if src.schema.v2_tables:
        yield RULE.finding(
            src,
            subject="orchestration-v2-tables",
            message=f"Orchestration V2 tables are present ({', '.join(src.schema.v2_tables[:3])}"
            f"{' ...' if len(src.schema.v2_tables) > 3 else ''}): a V2 build ran on this database",
            evidence=[
                EvidenceItem(kind="schema", table=t, description="table of the Orchestration V2 branch")
                for t in src.schema.v2_tables
            ],
        )


RULE = Rule(
    code="T3014",
    name="migration-collision",
    source_kind="t3code",
    severity=Severity.error,
    summary="The migration history does not match T3 Code's: some upstream migrations were skipped",
    explanation=(
        "Effect's migrator runs only migrations whose id is above the highest recorded one and never "
        "compares names. Fork, preview and Orchestration V2 builds record their own migrations at upstream's "
        "ids, so going back to an upstream release silently skips the upstream migrations with those ids and "
        'the server crash-loops on a missing column (#8896, "no such column: auto_pull"). The rule compares '
        "effect_sql_migrations with upstream's manifest and looks for orchestration_v2_* tables. When it "
        "fires, threaddoctor cannot be sure what the tables mean: the thread rules are not run and nothing "
        "will be written. There is no automatic repair; run the build that wrote the database, or restore a "
        "backup from before it."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the schema is uncertain; writing to it could make things worse",
    detect=detect,
    scope="schema",
)
