"""Run rules over a source and collect what they find."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from threaddoctor.errors import InputError
from threaddoctor.findings import Finding, Severity
from threaddoctor.rules import all_rules
from threaddoctor.rules.base import Rule
from threaddoctor.rules.selection import select_rules
from threaddoctor.sources.t3code.exported import load_export, looks_like_export
from threaddoctor.sources.t3code.source import Progress, T3Source, open_t3

_SCOPE_ORDER = {"schema": 0, "state": 1, "log": 2}


class ScanResult(BaseModel):
    source: str
    source_kind: str
    schema_label: str
    findings: list[Finding] = Field(default_factory=list)
    rules_run: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    events_decoded: int = 0
    seconds: float = 0.0
    thread_titles: dict[str, str] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out


def run_rules(src: T3Source, rules: Sequence[Rule]) -> ScanResult:
    started = time.perf_counter()
    result = ScanResult(source=src.label, source_kind=src.kind, schema_label=src.schema.label)
    ordered = sorted((r for r in rules if r.source_kind == src.kind), key=lambda r: _SCOPE_ORDER[r.scope])
    skipped = [r.code for r in ordered if r.scope != "schema" and not src.schema.certain]
    if skipped:
        result.notes.append(
            "the schema does not match T3 Code's migration history, so what its tables mean is uncertain: "
            f"{len(skipped)} state rule(s) were not run and nothing may be written"
        )
    for rule in ordered:
        if rule.code in skipped:
            continue
        result.findings.extend(f.model_copy(update={"location": src.locate(f)}) for f in rule.detect(src))
        result.rules_run.append(rule.code)
    for thread_id in sorted({f.thread_id for f in result.findings if f.thread_id}):
        row = src.row("SELECT title FROM projection_threads WHERE thread_id = ?", (thread_id,))
        if row:
            result.thread_titles[thread_id] = row["title"]
    result.events_decoded = src.events_decoded()
    result.seconds = round(time.perf_counter() - started, 4)
    return result


def scan(
    path: str | Path,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
    rules: Sequence[Rule] | None = None,
) -> ScanResult:
    """Scan one T3 Code database (read-only) or one exported log. Raises ThreadDoctorError on bad input."""
    rules = select_rules(all_rules(), select, ignore) if rules is None else rules
    path = Path(path).expanduser()
    if looks_like_export(path):
        src = load_export(path)
        src.deep, src.progress = deep, progress
        try:
            return run_rules(src, rules)
        finally:
            src.close()
    src = open_t3(path, deep=deep, progress=progress)
    try:
        result = run_rules(src, rules)
    except sqlite3.DatabaseError as e:
        if src.snapshot.still_valid():
            raise InputError(f"{path}: the database is damaged or unreadable ({e})") from None
        result = None  # a writer started during an immutable read; read again below
    finally:
        src.close()
    if result is not None and src.snapshot.still_valid():
        return result
    src = open_t3(path, deep=deep, progress=progress, allow_immutable=False)
    try:
        return run_rules(src, rules)
    except sqlite3.DatabaseError as e:
        raise InputError(f"{path}: the database is damaged or unreadable ({e})") from None
    finally:
        src.close()
