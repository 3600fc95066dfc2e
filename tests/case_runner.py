"""Build the database a case file describes, and say what a scan found in alias terms."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from fixtures.t3code_builder import FORK_LEDGER, T3Builder
from fixtures.t3code_v2_builder import V2Builder
from tests.helpers import moved_to
from threaddoctor import scan
from threaddoctor.sources.t3code.ledger import SPLIT_V2_NAMES
from threaddoctor.sources.t3code.releases import MIGRATIONS

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_RELEASES = ("v0.0.9", "v0.0.29", "main-2026-08")


@dataclass
class Case:
    """One case of a rule. T3 Code cases list builder steps; log cases list the file's records."""

    rule: str
    name: str
    kind: str  # positive, negative, lookalike
    steps: list[dict[str, Any]]
    expect: list[dict[str, Any]]
    releases: tuple[str, ...] = DEFAULT_RELEASES
    deep: bool = False
    fix: bool = True  # False: the finding is reported with no repair, on purpose
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "t3code"
    records: list[Any] = field(default_factory=list)


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        source = doc.get("source", "t3code")
        for c in doc["cases"]:
            cases.append(
                Case(
                    rule=doc["rule"],
                    name=c["name"],
                    kind=c["kind"],
                    steps=c.get("steps", []),
                    source=source,
                    records=c.get("records", []),
                    expect=c.get("expect") or [],
                    releases=tuple(c.get("releases", _default_releases(source))),
                    deep=c.get("deep", False),
                    fix=c.get("fix", True),
                    options={
                        k: c[k]
                        for k in ("migration_names", "extra_migrations", "age_seconds", "file", "copied", "ledger")
                        if k in c
                    },
                )
            )
    return cases


def _default_releases(source: str) -> tuple[str, ...]:
    return {"t3code": DEFAULT_RELEASES, "t3code-v2": ("statev2",)}.get(source, ("file",))


@dataclass
class LogFile:
    """A log a case describes, written to disk (the counterpart of a T3Builder)."""

    path: Path
    ids: dict[str, str] = field(default_factory=dict)


def write_log(case: Case, path: Path) -> LogFile:
    """Records as a mapping (written as is), as `[type, payload]` (a Codex rollout line: a timestamp
    is added, and `ordinal` when given third), or a raw string (a damaged line, written as is)."""
    start = datetime(2026, 5, 24, 21, 27, 14, 630000, tzinfo=UTC)
    lines = []
    for i, record in enumerate(case.records):
        if isinstance(record, str):
            lines.append(record.encode("latin-1"))  # YAML escapes (\x00, \xff) are the bytes written
            continue
        if isinstance(record, dict):  # a whole record, written as it is (Claude Code, ConnectOnion)
            lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
            continue
        kind, payload, *rest = record
        at = start + timedelta(seconds=7 * i)
        ts = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        line: dict[str, Any] = {"timestamp": ts}
        if rest:
            line["ordinal"] = rest[0]
        line |= {"type": kind, "payload": payload}
        lines.append(json.dumps(line, separators=(",", ":")).encode() + b"\n")
    if "file" in case.options:  # a fixed name (session_results.jsonl): one folder per case
        path.parent.joinpath(path.stem).mkdir(exist_ok=True)
        path = path.parent / path.stem / case.options["file"]
    else:
        path = path.with_name(f"rollout-2026-05-24T21-27-14-{path.stem}.jsonl")
    # As the agent left it `age_seconds` ago: its newest record written then, as its last write;
    # `copied`: a copy made then of a log written long ago (its records keep their own times).
    age = case.options.get("age_seconds", 3600)
    then = time.time() - age
    data = b"".join(lines)
    path.write_bytes(data if case.options.get("copied") else moved_to(data, then))
    os.utime(path, (then, then))
    return LogFile(path)


def write_database(case: Case, path: Path) -> LogFile:
    """A SQLite file made by the case's SQL statements (for Codex's state databases)."""
    conn = sqlite3.connect(path)
    for statement in case.records:
        conn.execute(statement)
    conn.commit()
    conn.close()
    age = case.options.get("age_seconds", 3600)
    os.utime(path, (time.time() - age, time.time() - age))
    return LogFile(path)


def build_v2(case: Case, home: Path) -> V2Builder:
    """A T3 home of a V2 build (state.sqlite, statev2.sqlite) made by the case's builder steps."""
    b = V2Builder(home)
    for step in case.steps:
        ((method, kwargs),) = step.items()
        getattr(b, method)(**(kwargs or {}))
    b.close()
    return b


def build(case: Case, release: str, path: Path) -> T3Builder | LogFile | V2Builder:
    if case.source == "t3code-v2":
        return build_v2(case, path.parent / f"{path.stem}-home")
    if case.source == "codex-sqlite":
        return write_database(case, path)
    if case.source != "t3code":
        return write_log(case, path)
    spec = case.options.get("ledger")
    b = T3Builder(path, release, migration_names=case.options.get("migration_names"), ledger=ledger_rows(spec))
    for mid, name in (case.options.get("extra_migrations") or {}).items():
        b.conn.execute("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)", (mid, name))
    for step in case.steps:
        ((method, kwargs),) = step.items()
        getattr(b, method)(**(kwargs or {}))
    b.close()
    return b


def ledger_rows(spec: Any) -> list[tuple[int, str]] | None:
    """A case's `ledger:`: "fork" (a fork's own 41-44 after upstream's 1-40), "split-v2", or
    {upstream: N, names: {id: name}, then: {id: name}}: upstream's 1..N with some names replaced,
    then more rows."""
    if spec is None:
        return None
    if spec == "fork":
        return list(FORK_LEDGER)
    if spec == "split-v2":
        return [(i, SPLIT_V2_NAMES.get(i, MIGRATIONS[i])) for i in range(1, 62)]
    names = {int(k): v for k, v in (spec.get("names") or {}).items()}
    rows = [(i, names.get(i, MIGRATIONS[i])) for i in range(1, int(spec["upstream"]) + 1) if names.get(i) != "-"]
    return rows + [(int(k), v) for k, v in (spec.get("then") or {}).items()]


def found(case: Case, b: T3Builder | V2Builder) -> list[dict[str, Any]]:
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
