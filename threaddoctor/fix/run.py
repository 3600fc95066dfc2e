"""`fix --dry-run`, `fix` and `undo`: the guarded procedures around the repair loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from threaddoctor.engine import run_rules
from threaddoctor.errors import ThreadDoctorError
from threaddoctor.findings import Finding
from threaddoctor.fix import journal
from threaddoctor.fix.guard import open_for_writing, refuse_if_app_runs, refuse_if_stale_v1
from threaddoctor.fix.images import capture, restore
from threaddoctor.fix.plan import Loop, Outcome, Selection
from threaddoctor.fix.scratch import scratch_copy
from threaddoctor.rules import all_rules
from threaddoctor.rules.base import Rule
from threaddoctor.rules.selection import select_rules
from threaddoctor.sources.t3code.contract import contract_of
from threaddoctor.sources.t3code.projector import Projector
from threaddoctor.sources.t3code.reader import Snapshot
from threaddoctor.sources.t3code.schema import read_schema
from threaddoctor.sources.t3code.source import T3Source, open_t3
from threaddoctor.sources.t3code.vocabulary import iso_now


class Refused(ThreadDoctorError):
    """The repair is not attempted; nothing was written."""


class VerificationFailed(ThreadDoctorError):
    """The repair was rolled back because its result did not check out."""


class FixReport(BaseModel):
    mode: str  # "dry-run" or "fix"
    source: str
    schema_label: str
    release: str
    findings: list[Finding]  # what the scan found before repairing
    outcome: Outcome | None = None  # None when nothing was selected for repair
    repair_id: str | None = None
    backup: str | None = None
    journal: str | None = None


def source_on(conn: sqlite3.Connection, path: Path) -> T3Source:
    """The rules' view of any connection: the database in a transaction, or a scratch copy."""
    schema = read_schema(conn, str(path))
    contract = contract_of(schema.release)
    return T3Source(path=path, snapshot=Snapshot(conn, path, immutable=False), schema=schema, contract=contract)


def _rules(select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Rule]:
    return select_rules(all_rules(), select, ignore)


def _refuse_unsafe_state(src: T3Source) -> None:
    if not src.schema.certain:
        raise Refused(
            f"{src.label}: the schema does not match T3 Code's migration history (run `threaddoctor "
            "scan` for details); nothing will be written to it"
        )
    lowest, head = src.lowest_cursor(), src.max_sequence()
    if lowest < head:
        raise Refused(
            f"{src.label}: {head - lowest} event(s) after sequence {lowest} are not projected yet, and projector "
            "cursors are global, so an appended repair would hide them from the app for good; start T3 Code "
            "once so it projects them, quit it, and run fix again"
        )


def _targets(findings: list[Finding], selection: Selection) -> list[str]:
    """The threads the repairs touch; "" stands for the database as a whole (a cursor row)."""
    return sorted({f.thread_id or "" for f in findings if selection.allows(f)})


def dry_run(path: Path, select=None, ignore=None, selection: Selection | None = None) -> FixReport:
    """Play the whole repair on an in-memory copy of the affected threads. Writes nothing."""
    selection = selection or Selection()
    rules = _rules(select, ignore)
    refuse_if_stale_v1(path)
    src = open_t3(Path(path).expanduser())
    try:
        _refuse_unsafe_state(src)
        findings = run_rules(src, rules).findings
        report = FixReport(
            mode="dry-run",
            source=src.label,
            schema_label=src.schema.label,
            release=src.schema.release.name,
            findings=findings,
        )
        threads = _targets(findings, selection)
        if not threads:
            return report
        scratch = scratch_copy(src.snapshot, threads)
    finally:
        src.close()
    try:
        report.outcome = _loop(scratch, src.path, rules, selection, src.schema.release).run(
            run_rules(source_on(scratch, src.path), rules).findings
        )
    finally:
        scratch.close()
    return report


def _loop(conn: sqlite3.Connection, path: Path, rules: list[Rule], selection: Selection, release) -> Loop:
    return Loop(
        conn=conn,
        source=lambda: source_on(conn, path),
        rules=rules,
        selection=selection,
        projector=Projector(conn, release),
    )


def fix(path: Path, select=None, ignore=None, selection: Selection | None = None) -> FixReport:
    """Repair in one transaction: backup, apply, verify, journal, commit; or roll back."""
    with _cannot_write(path):
        return _fix(path, select, ignore, selection)


@contextmanager
def _cannot_write(path: Path) -> Iterator[None]:
    """A file or folder we may not write is a refusal, said in one line; the transaction has
    been rolled back by then, so nothing changed."""
    try:
        yield
    except (sqlite3.DatabaseError, OSError) as e:
        raise Refused(f"{path}: cannot write ({e}); nothing was changed") from None


def _fix(path: Path, select=None, ignore=None, selection: Selection | None = None) -> FixReport:
    selection = selection or Selection()
    path = Path(path).expanduser()
    rules = _rules(select, ignore)
    open_t3(path).close()  # bad input fails here, read-only, before any lock is taken
    refuse_if_stale_v1(path)
    refuse_if_app_runs(path)
    conn = open_for_writing(path)
    committed = False
    made: list[Path] = []  # this repair's backup and journal entry: removed when it does not commit
    try:
        src = source_on(conn, path)
        _refuse_unsafe_state(src)
        findings = run_rules(src, rules).findings
        report = FixReport(
            mode="fix",
            source=str(path),
            schema_label=src.schema.label,
            release=src.schema.release.name,
            findings=findings,
        )
        threads = sorted({f.thread_id for f in findings if f.thread_id})
        if not _targets(findings, selection):
            return report
        journal.remove_temporaries(path.parent / f"{path.name}.threaddoctor")  # we hold the write lock
        report.repair_id = journal.new_repair_id()
        report.backup = str(_backup(path, report.repair_id))
        made.append(Path(report.backup))
        before = capture(conn, threads)
        outcome = _loop(conn, path, rules, selection, src.schema.release).run(findings)
        report.outcome = outcome
        if outcome.problems:
            raise VerificationFailed(f"{path}: repair rolled back, nothing changed: {outcome.problems[0]}")
        entry = journal.JournalEntry(
            repair_id=report.repair_id,
            created_at=iso_now(),
            database=str(path.resolve()),
            backup=report.backup,
            release=src.schema.release.name,
            rules=sorted({r for s in outcome.steps for r in s.rules}),
            threads=threads,
            events=[s.event for s in outcome.steps if s.event],
            before=before,
            after=capture(conn, threads),
        )
        report.journal = str(journal.write(path, entry))
        made.append(Path(report.journal))
        conn.execute("COMMIT")
        committed = True
        return report
    finally:
        if not committed:
            if conn.in_transaction:  # a COMMIT that failed (a full disk) may have rolled back already
                conn.execute("ROLLBACK")
            for trace in made:  # nothing changed, so there is nothing to keep or undo
                trace.unlink(missing_ok=True)
        conn.close()


def _backup(path: Path, name: str) -> Path:
    """Back up through a second connection: the write lock we hold keeps everyone else out, so
    it copies exactly the state the repair starts from."""
    reader = sqlite3.connect(path)
    try:
        return journal.backup(reader, path, name)
    finally:
        reader.close()


class UndoReport(BaseModel):
    repair_id: str
    backup: str
    events_removed: int
    threads: list[str]


def undo(path: Path, repair_id: str | None = None) -> UndoReport:
    """Revert a repair while the app has not yet run on the repaired database."""
    with _cannot_write(path):
        return _undo(path, repair_id)


def _undo(path: Path, repair_id: str | None = None) -> UndoReport:
    path = Path(path).expanduser()
    open_t3(path).close()
    entry = _pick(path, repair_id)
    refuse_if_app_runs(path)
    conn = open_for_writing(path)
    committed = False
    try:
        _check_undoable(conn, entry)
        backup = _backup(path, f"{journal.new_repair_id()}-before-undo-of-{entry.repair_id}")
        sequences = [e["sequence"] for e in entry.events]
        conn.executemany("DELETE FROM orchestration_events WHERE sequence = ?", [(s,) for s in sequences])
        restore(conn, entry.threads, entry.before)
        if capture(conn, entry.threads) != entry.before or conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
            raise VerificationFailed(f"{path}: undo rolled back: the restored rows do not match the journal")
        journal.write(path, entry.model_copy(update={"undone_at": iso_now()}))
        conn.execute("COMMIT")
        committed = True
        return UndoReport(
            repair_id=entry.repair_id, backup=str(backup), events_removed=len(sequences), threads=entry.threads
        )
    finally:
        if not committed and conn.in_transaction:  # a COMMIT that failed (a full disk) may have rolled back
            conn.execute("ROLLBACK")
        conn.close()


def _pick(path: Path, repair_id: str | None) -> journal.JournalEntry:
    live = [e for e in journal.entries(path) if e.undone_at is None]
    if repair_id is not None:
        named = [e for e in journal.entries(path) if e.repair_id == repair_id]
        if not named:
            raise Refused(f"{path}: no repair {repair_id!r} in the journal")
        if named[0].undone_at:
            raise Refused(f"{path}: repair {repair_id} was already undone at {named[0].undone_at}")
        return named[0]
    if not live:
        raise Refused(f"{path}: no repair to undo")
    # The entry is written just before the repair commits, so a run killed between the two leaves
    # an entry whose events never reached the database: the one to undo is the newest that did.
    return next((e for e in reversed(live) if _landed(path, e)), live[-1])


def _landed(path: Path, entry: journal.JournalEntry) -> bool:
    ids = [e["event_id"] for e in entry.events]
    if not ids:
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" for _ in ids)
        return conn.execute(f"SELECT COUNT(*) FROM orchestration_events WHERE event_id IN ({marks})", ids).fetchone()[
            0
        ] == len(ids)
    finally:
        conn.close()


def _check_undoable(conn: sqlite3.Connection, entry: journal.JournalEntry) -> None:
    ids = [e["event_id"] for e in entry.events]
    present = (
        conn.execute(
            f"SELECT COUNT(*) FROM orchestration_events WHERE event_id IN ({', '.join('?' for _ in ids)})", ids
        ).fetchone()[0]
        if ids
        else 0
    )
    if present != len(ids):
        raise Refused(
            f"repair {entry.repair_id} is not in the database (it never committed, or was reverted "
            "another way); nothing to undo"
        )
    head = conn.execute("SELECT MAX(sequence) FROM orchestration_events").fetchone()[0]
    last = max((e["sequence"] for e in entry.events), default=head)
    if head != last:
        raise Refused(
            f"repair {entry.repair_id} can no longer be undone: {head - last} event(s) were appended "
            "after it (the app has run, or a later repair exists: undo that one first)"
        )
    if capture(conn, entry.threads) != entry.after:
        raise Refused(
            f"repair {entry.repair_id} can no longer be undone: the repaired threads or the projector "
            f"cursors changed since (the app has run); restore the backup {entry.backup} instead"
        )
