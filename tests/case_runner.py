"""Build the database a case file describes, and say what a scan found in alias terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fixtures.t3code_builder import T3Builder
from threaddoctor import scan

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_RELEASES = ("v0.0.9", "v0.0.29", "main-2026-08")


@dataclass
class Case:
    rule: str
    name: str
    kind: str  # positive, negative, lookalike
    steps: list[dict[str, Any]]
    expect: list[dict[str, Any]]
    releases: tuple[str, ...] = DEFAULT_RELEASES
    deep: bool = False
    fix: bool = True  # False: the finding is reported with no repair, on purpose
    options: dict[str, Any] = field(default_factory=dict)


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for c in doc["cases"]:
            cases.append(
                Case(
                    rule=doc["rule"],
                    name=c["name"],
                    kind=c["kind"],
                    steps=c["steps"],
                    expect=c.get("expect") or [],
                    releases=tuple(c.get("releases", DEFAULT_RELEASES)),
                    deep=c.get("deep", False),
                    fix=c.get("fix", True),
                    options={k: c[k] for k in ("migration_names", "extra_migrations") if k in c},
                )
            )
    return cases


def build(case: Case, release: str, path: Path) -> T3Builder:
    b = T3Builder(path, release, migration_names=case.options.get("migration_names"))
    for mid, name in (case.options.get("extra_migrations") or {}).items():
        b.conn.execute("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)", (mid, name))
    for step in case.steps:
        ((method, kwargs),) = step.items()
        getattr(b, method)(**(kwargs or {}))
    b.close()
    return b


def found(case: Case, b: T3Builder) -> list[dict[str, Any]]:
    alias = {v: k for k, v in b.ids.items()}
    result = scan(b.path, select=[case.rule], deep=case.deep)
    return sorted(
        (
            {
                "thread": alias.get(f.thread_id, f.thread_id),
                "turn": alias.get(f.turn_id, f.turn_id),
                "severity": f.severity.value,
            }
            for f in result.findings
        ),
        key=lambda d: (str(d["thread"]), str(d["turn"])),
    )


def expected(case: Case) -> list[dict[str, Any]]:
    return sorted(
        ({"thread": e.get("thread"), "turn": e.get("turn"), "severity": e.get("severity")} for e in case.expect),
        key=lambda d: (str(d["thread"]), str(d["turn"])),
    )
