"""Repairs of log files: records appended in the format's own vocabulary, never history edited.

The repaired file is written beside the original (its bytes, then the new records) under a hidden
name, fsynced, and re-scanned; only if the repaired findings are gone and nothing new appears is it
swapped in with an atomic rename. The original is kept as the backup, and the journal records both
files' sizes and hashes so `undo` can put the original back while nobody has written to the file
since. Backups and journals live in threaddoctor's state directory ($THREADDOCTOR_HOME, default
$XDG_STATE_HOME/threaddoctor or ~/.local/state/threaddoctor), never beside the logs, where an agent
listing its own files could trip on them. A file that may belong to a running agent (held open, or
its newest record and last write both recent: sources/files/liveness.py) is not touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from threaddoctor.engine import run_rules
from threaddoctor.errors import ThreadDoctorError
from threaddoctor.findings import AppendRecord, Finding
from threaddoctor.fix import journal
from threaddoctor.fix.plan import Selection
from threaddoctor.rules import all_rules
from threaddoctor.rules.selection import select_rules
from threaddoctor.sources.files.lines import compressed
from threaddoctor.sources.registry import opener
from threaddoctor.sources.t3code.vocabulary import iso_now


class FileRefused(ThreadDoctorError):
    """The file is not repaired; nothing was written."""


class FileFixReport(BaseModel):
    mode: str  # "dry-run" or "fix"
    source: str
    kind: str
    findings: list[Finding]
    repaired: list[Finding] = Field(default_factory=list)
    appended: list[dict] = Field(default_factory=list)  # the records, in order
    after: list[Finding] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    repair_id: str | None = None
    backup: str | None = None
    journal: str | None = None


class FileJournal(BaseModel):
    repair_id: str
    created_at: str
    file: str
    backup: str
    before_size: int
    before_sha256: str
    after_size: int
    after_sha256: str
    rules: list[str]
    appended: list[dict]
    undone_at: str | None = None


def state_folder(path: Path) -> Path:
    """Where a log file's backups and journal live: one folder per file, named by its path's hash."""
    home = os.environ.get("THREADDOCTOR_HOME") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "threaddoctor"
    )
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    folder = Path(home) / "files" / f"{path.name}-{digest}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / "journal").mkdir(mode=0o700, exist_ok=True)
    return folder


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _scan(path: Path, kind: str, rules) -> list[Finding]:
    return _scan_live(path, kind, rules)[0]


def _scan_live(path: Path, kind: str, rules) -> tuple[list[Finding], str | None]:
    """The findings, and why the agent may still be writing the log, if it may (see liveness.py)."""
    src = opener(kind)(path)
    try:
        findings = run_rules(src, rules).findings
        return findings, src.liveness().reason() if src.maybe_live() else None
    finally:
        src.close()


def _records(findings: list[Finding]) -> list[dict]:
    out: list[dict] = []
    for f in findings:
        for step in f.repair.steps if f.repair else []:
            if isinstance(step, AppendRecord) and step.record not in out:
                out.append(step.record)
    return out


def _write_repaired(original: Path, target: Path, records: list[dict]) -> None:
    with original.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        if dst.tell() and not _ends_with_newline(original):
            dst.write(b"\n")  # never glue a record onto a torn last line
        for record in records:
            dst.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        dst.flush()
        os.fsync(dst.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def repair_file(
    path: Path, kind: str, select=None, ignore=None, selection: Selection | None = None, dry_run: bool = False
) -> FileFixReport:
    selection = selection or Selection()
    rules = select_rules(all_rules(), select, ignore)
    findings, live = _scan_live(path, kind, rules)
    report = FileFixReport(mode="dry-run" if dry_run else "fix", source=str(path), kind=kind, findings=findings)
    report.repaired = [f for f in findings if selection.allows(f) and f.repair and f.repair.steps]
    report.appended = _records(report.repaired)
    if not report.appended:
        report.after = findings
        return report
    if compressed(path):
        raise FileRefused(
            f"{path}: a compressed log; appending to it would corrupt it. Decompress it (the "
            "agent reads the plain file first when both exist) and repair that"
        )
    if live:
        raise FileRefused(f"{path}: {live}; the agent may still be using it. Stop it (or wait) and run this again")
    tmp = path.parent / f".{path.name}{journal.TEMPORARY}"  # same file system: the rename is atomic
    try:
        _write_repaired(path, tmp, report.appended)
        report.after = _scan(tmp, kind, rules)
        report.problems = _verify(report)
        if dry_run or report.problems:
            return report
        return _swap(path, tmp, report)
    finally:
        tmp.unlink(missing_ok=True)


def _verify(report: FileFixReport) -> list[str]:
    before = {f.entity for f in report.findings}
    after = {f.entity: f for f in report.after}
    problems = [f"{f.rule} {f.name} is still reported after its repair" for f in report.repaired if f.entity in after]
    problems += [
        f"the repair would cause a new finding: {f.rule} {f.name}: {f.message}"
        for e, f in after.items()
        if e not in before
    ]
    return problems


def _swap(path: Path, tmp: Path, report: FileFixReport) -> FileFixReport:
    repair_id = journal.new_repair_id()
    folder = state_folder(path)
    journal.remove_temporaries(folder)
    backup = folder / f"backup-{repair_id}-{path.name}"
    journal_path = folder / "journal" / f"{repair_id}.json"
    try:
        if _same_device(path, backup):
            os.link(path, backup)  # the original inode survives the rename below: a free, exact backup
            os.chmod(backup, 0o600)
        else:  # a copy, complete before it takes the backup's name
            copy = backup.with_name(backup.name + journal.TEMPORARY)
            shutil.copy2(path, copy)
            os.chmod(copy, 0o600)
            os.replace(copy, backup)
        entry = FileJournal(
            repair_id=repair_id,
            created_at=iso_now(),
            file=str(path.resolve()),
            backup=str(backup),
            before_size=backup.stat().st_size,
            before_sha256=_sha256(backup),
            after_size=tmp.stat().st_size,
            after_sha256=_sha256(tmp),
            rules=sorted({f.rule for f in report.repaired}),
            appended=report.appended,
        )
        report.journal = str(_write_journal(path, entry))
        if _sha256(path) != entry.before_sha256:
            raise FileRefused(f"{path}: changed while it was being repaired; nothing was swapped")
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never a mix
        report.repair_id, report.backup = repair_id, str(backup)
        return report
    except BaseException:
        # Not swapped in: the file is as it was, and neither its backup nor its entry may stay.
        if report.repair_id is None:
            backup.unlink(missing_ok=True)
            journal_path.unlink(missing_ok=True)
        raise


def _same_device(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.parent.stat().st_dev


def _write_journal(path: Path, entry: FileJournal) -> Path:
    return journal.write_durably(
        state_folder(path) / "journal" / f"{entry.repair_id}.json", entry.model_dump_json(indent=1)
    )


def undo_file(path: Path, repair_id: str | None = None) -> FileJournal:
    folder = state_folder(path) / "journal"
    entries = sorted(
        (FileJournal.model_validate_json(p.read_text()) for p in folder.glob("*.json")), key=lambda e: e.repair_id
    )
    live = [e for e in entries if e.undone_at is None and (repair_id is None or e.repair_id == repair_id)]
    if not live:
        raise FileRefused(f"{path}: no repair to undo" + (f" named {repair_id!r}" if repair_id else ""))
    # The entry is written just before the repaired file is swapped in, so a run killed between the
    # two leaves an entry whose repair never reached the file: the one to undo is the newest whose
    # result is the file as it is now.
    now = _sha256(path)
    landed = [e for e in live if e.after_sha256 == now]
    if not landed and any(e.before_sha256 == now for e in live):
        raise FileRefused(f"{path}: the last repair never reached the file (it was stopped); nothing to undo")
    if not landed:
        raise FileRefused(
            f"{path}: written to since repair {live[-1].repair_id} (the agent has run); undo would lose "
            f"that. The original is kept at {live[-1].backup}"
        )
    entry = landed[-1]
    restored = path.parent / f".{path.name}.threaddoctor-restore"
    shutil.copy2(entry.backup, restored)
    os.replace(restored, path)
    done = entry.model_copy(update={"undone_at": iso_now()})
    journal.write_durably(folder / f"{entry.repair_id}.json", done.model_dump_json(indent=1))
    return done
