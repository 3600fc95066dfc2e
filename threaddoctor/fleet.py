"""Checking many files: one result per file, unreadable ones included, on a process pool or a Dask cluster.

A file that cannot be read does not end the check: it becomes a result that says why and where
reading stopped, and the rest are checked. `check_stream` fans out over local processes and yields
results as they come; `check_many` maps the check over a Dask distributed cluster and reduces the
findings per rule and per source, for checks past one machine (`pip install threaddoctor[dask]`):

    from distributed import Client
    from threaddoctor.fleet import check_many

    report = check_many(paths, client=Client("tcp://scheduler:8786"))
    print(report.files, report.by_rule, report.unreadable)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from threaddoctor.engine import ScanResult, Unreadable, scan
from threaddoctor.errors import ThreadDoctorError
from threaddoctor.rules import all_rules
from threaddoctor.rules.base import Rule
from threaddoctor.rules.selection import select_rules
from threaddoctor.sources.files.liveness import LiveCheck

if TYPE_CHECKING:
    from threaddoctor.sources.t3code.source import Progress

# The readers' one-line errors start "<path>:<line>: reason" (or "<path>:<first>-<last>: reason" for
# a run of records) when reading stopped at a line, "<path>: reason" when it stopped before any.
_AT_LINE = re.compile(r":(\d+)(?:-\d+)?: ")


def unreadable_result(path: str | Path, message: str) -> ScanResult:
    """The result for a file that could not be read, from its one-line error."""
    source = str(path)
    rest = message[len(source) :] if message.startswith(source) else ""
    at = _AT_LINE.match(rest)
    if at:
        line, reason = int(at.group(1)), rest[at.end() :]
    else:
        line, reason = None, rest.removeprefix(": ") if rest.startswith(": ") else message
    return ScanResult(
        source=source,
        source_kind="unreadable",
        schema_label="could not be read",
        unreadable=Unreadable(message=message, reason=reason, line=line),
    )


@cache
def _rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> list[Rule] | None:
    return select_rules(all_rules(), select, ignore) if select or ignore else None


def scan_target(
    target: str | Path,
    rules: Sequence[Rule] | None,
    deep: bool = False,
    progress: Progress | None = None,
    live_check: LiveCheck = LiveCheck.recent,
) -> ScanResult:
    """Scan a file, or the database a T3 home uses, with the notes about the file left behind."""
    from threaddoctor.sources.t3code.v2 import home as t3_home

    path, notes = t3_home.resolve(Path(target))
    result = scan(path, rules=rules, deep=deep, progress=progress, live_check=live_check)
    result.notes[:0] = notes
    return result


def check_one(
    path: str | Path,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    deep: bool = False,
    progress: Progress | None = None,
    live_check: LiveCheck = LiveCheck.held_open,
) -> ScanResult:
    """Check one file (`live_check` as `check` does by default); a file that cannot be read gives an
    unreadable result instead of an error."""
    try:
        return scan_target(path, _rules(tuple(select), tuple(ignore)), deep, progress, live_check)
    except ThreadDoctorError as e:
        return unreadable_result(path, str(e))
    except OSError as e:
        return unreadable_result(path, f"{path}: cannot read ({e.strerror or e})")
    except Exception as e:
        # A reader that fails on input it did not expect must not hide the other files' results;
        # the file is reported unreadable (exit status 2), with what went wrong, to be fixed.
        return unreadable_result(path, f"{path}: threaddoctor failed on it ({type(e).__name__}: {e})")


def check_stream(
    paths: Sequence[str | Path],
    jobs: int = 1,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    deep: bool = False,
    progress: Progress | None = None,
    live_check: LiveCheck = LiveCheck.held_open,
) -> Iterator[tuple[int, ScanResult]]:
    """(index in `paths`, result) for every file, as each is done. With jobs > 1 the files are
    spread over that many processes and at most a few per process are in flight, so memory stays
    bounded whatever the number of files; the order is then the order they finish in."""
    if jobs <= 1 or len(paths) <= 1:
        for i, p in enumerate(paths):
            yield i, check_one(p, select, ignore, deep, progress, live_check)
        return
    from threaddoctor.parallel import process_pool

    window = 4 * jobs
    todo = iter(enumerate(paths))
    with process_pool(jobs) as pool:
        running: dict[Future[ScanResult], int] = {}

        def submit_more() -> None:
            for i, p in todo:
                running[pool.submit(check_one, p, tuple(select), tuple(ignore), deep, None, live_check)] = i
                if len(running) >= window:
                    return

        submit_more()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
            submit_more()


class FleetFinding(BaseModel):
    """One finding, reduced to what a fleet report keeps of it."""

    source: str
    rule: str
    severity: str
    thread_id: str | None = None
    line: int | None = None
    fingerprint: str


class FleetReport(BaseModel):
    """Findings over many files, reduced per rule and per source (file and kind)."""

    files: int = 0
    by_rule: dict[str, int] = Field(default_factory=dict)
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_source: dict[str, dict[str, int]] = Field(default_factory=dict)
    unreadable: dict[str, Unreadable] = Field(default_factory=dict)
    findings: list[FleetFinding] = Field(default_factory=list)

    def add(self, result: ScanResult) -> None:
        self.files += 1
        if result.unreadable is not None:
            self.unreadable[result.source] = result.unreadable
            return
        self.by_kind[result.source_kind] = self.by_kind.get(result.source_kind, 0) + 1
        per_rule = Counter(f.rule for f in result.findings)
        self.by_source[result.source] = dict(per_rule)
        for code, n in per_rule.items():
            self.by_rule[code] = self.by_rule.get(code, 0) + n
        self.findings.extend(
            FleetFinding(
                source=result.source,
                rule=f.rule,
                severity=f.severity.value,
                thread_id=f.thread_id,
                line=f.location.line if f.location else None,
                fingerprint=f.fingerprint,
            )
            for f in result.findings
        )

    def merge(self, other: FleetReport) -> FleetReport:
        self.files += other.files
        for code, n in other.by_rule.items():
            self.by_rule[code] = self.by_rule.get(code, 0) + n
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n
        self.by_source.update(other.by_source)
        self.unreadable.update(other.unreadable)
        self.findings.extend(other.findings)
        return self


def check_batch(
    paths: Sequence[str], select: Sequence[str] = (), ignore: Sequence[str] = (), deep: bool = False
) -> FleetReport:
    """Check a batch of files and reduce them: the task each Dask worker runs."""
    report = FleetReport()
    for p in paths:
        report.add(check_one(p, select, ignore, deep))
    return report


def check_many(
    paths: Iterable[str | Path],
    client: Any,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    deep: bool = False,
    batch: int = 32,
) -> FleetReport:
    """Check files on a Dask distributed cluster (`client` a `distributed.Client`): batches of
    `batch` files are mapped over the workers, each batch reduced where it ran, and the batch
    reports merged here as they finish. The paths must be readable by the workers (a shared or
    network file system, or one machine)."""
    from distributed import as_completed

    names = [str(p) for p in paths]
    batches = [names[i : i + batch] for i in range(0, len(names), batch)]
    futures = client.map(check_batch, batches, select=tuple(select), ignore=tuple(ignore), deep=deep, pure=False)
    total = FleetReport()
    for future in as_completed(futures):
        total.merge(future.result())
        future.release()
    return total
