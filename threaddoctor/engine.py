"""Run rules over a source and collect what they find."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from threaddoctor.findings import Finding, Severity, Unjudged
from threaddoctor.rules import all_rules, rules_for
from threaddoctor.rules.base import Rule
from threaddoctor.rules.selection import select_rules
from threaddoctor.sources.base import Progress, ReadOptions, Source
from threaddoctor.sources.detect import kind_of
from threaddoctor.sources.files.liveness import LiveCheck
from threaddoctor.sources.registry import opener

_SCOPE_ORDER = {"schema": 0, "state": 1, "log": 2}


class Unreadable(BaseModel):
    """A file the scan could not read: why, and where reading stopped. `message` is the one-line
    error `scan` prints for it; `line` the line (of a log) it stopped at, None when it stopped
    before any line could be read (a missing file, not a format threaddoctor reads, a damaged database)."""

    message: str
    reason: str
    line: int | None = None

    @property
    def stopped_at(self) -> str:
        return f"at line {self.line}" if self.line is not None else "before the first record"


class ScanResult(BaseModel):
    source: str
    source_kind: str
    schema_label: str
    findings: list[Finding] = Field(default_factory=list)
    rules_run: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    unjudged: list[Unjudged] = Field(default_factory=list)  # left unjudged: the agent may still be writing
    events_decoded: int = 0
    seconds: float = 0.0
    thread_titles: dict[str, str] = Field(default_factory=dict)
    unreadable: Unreadable | None = None  # set when the file could not be read (check goes on with the rest)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out


def run_rules(src: Source, rules: Sequence[Rule], live_check: LiveCheck = LiveCheck.recent) -> ScanResult:
    """Run the rules that apply to the source. `live_check`: what evidence of a running agent
    leaves its current turn unjudged (see threaddoctor/sources/files/liveness.py)."""
    started = time.perf_counter()
    if hasattr(src, "live_check"):
        src.live_check = live_check
    result = ScanResult(source=src.label, source_kind=src.kinds[0], schema_label=src.description)
    ordered = sorted((r for r in rules if r.source_kind in src.kinds), key=lambda r: _SCOPE_ORDER[r.scope])
    reason = src.uncertain()
    cannot = {r.code: why for r in ordered if r.scope != "schema" and reason and (why := src.cannot_run(r))}
    if reason:
        result.notes.append(_partial_note(reason, ordered, cannot))
    result.notes.extend(src.notes())
    for rule in ordered:
        if rule.code in cannot:
            continue
        result.findings.extend(f.model_copy(update={"location": src.locate(f)}) for f in rule.detect(src))
        result.rules_run.append(rule.code)
    for thread_id in sorted({f.thread_id for f in result.findings if f.thread_id}):
        title = src.thread_title(thread_id)
        if title:
            result.thread_titles[thread_id] = title
    result.unjudged = list(getattr(src, "unjudged", []))
    result.notes.extend(unjudged_notes(result.unjudged))
    result.events_decoded = src.events_decoded()
    result.seconds = round(time.perf_counter() - started, 4)
    return result


def unjudged_notes(unjudged: Sequence[Unjudged]) -> list[str]:
    """One note per reason: '1 turn not judged (CX001): written 40 s ago and held open by pid 4242'."""
    by_why: dict[str, list[Unjudged]] = {}
    for u in unjudged:
        by_why.setdefault(u.why, []).append(u)
    notes = []
    for why, items in by_why.items():
        counts: dict[str, int] = {}
        for u in items:
            counts[u.what] = counts.get(u.what, 0) + 1
        what = " and ".join(f"{n} {w}{'s' if n != 1 else ''}" for w, n in counts.items())
        codes = ", ".join(sorted({u.rule for u in items}))
        notes.append(
            f"{what} not judged ({codes}): {why}; the agent may still be working on "
            f"{'it' if len(items) == 1 else 'them'} (--settled judges anyway)"
        )
    return notes


def _partial_note(reason: str, rules: Sequence[Rule], cannot: dict[str, str]) -> str:
    """Which state rules ran on a source the tool is not sure of, and why the others could not."""
    ran = [r.code for r in rules if r.scope != "schema" and r.code not in cannot]
    by_reason: dict[str, list[str]] = {}
    for code, why in cannot.items():
        by_reason.setdefault(why, []).append(code)
    parts = []
    if ran:
        parts.append(f"ran {len(ran)} rule(s) whose tables and columns are there as they expect ({', '.join(ran)})")
    if cannot:
        parts.append(
            f"could not run {len(cannot)}: "
            + "; ".join(f"{', '.join(codes)} ({why})" for why, codes in by_reason.items())
        )
    return f"{reason}; nothing may be written" + (": " + "; ".join(parts) if parts else "")


def scan(
    path: str | Path,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    deep: bool = False,
    progress: Progress | None = None,
    rules: Sequence[Rule] | None = None,
    live_check: LiveCheck = LiveCheck.recent,
) -> ScanResult:
    """Scan one file of any format the registry reads (read-only). Raises ThreadDoctorError on bad input.
    `live_check`: how much evidence of a running agent leaves a log's current turn unjudged: `recent`
    (held open, or its newest record and last write both recent: a scan), `held-open` (a check of
    exported logs), `off` (judge everything). Whatever is left unjudged is in `unjudged` and `notes`."""
    path = Path(path).expanduser()
    kind = kind_of(path)
    if rules is None:
        rules = select_rules(all_rules(), select, ignore) if select or ignore else rules_for(kind)
    src = opener(kind)(path, ReadOptions(deep=deep, progress=progress))
    while True:
        result, error = None, None
        try:
            result = run_rules(src, rules, live_check)
        except Exception as e:  # the source says whether a failed read is the input's fault
            error = e
        finally:
            src.close()
        again = src.read_again(error)
        if again is None:
            if error is not None:
                raise error
            assert result is not None
            return result
        src = again
