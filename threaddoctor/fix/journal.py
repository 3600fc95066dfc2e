"""Where repairs leave their traces: a backup before every write and a journal entry per repair.

Both live in `<database>.threaddoctor/` beside the database (mode 0700; files 0600), so a person
finds them next to what they protect:
    state.sqlite.threaddoctor/backup-20261121T061502Z-r3f9c.sqlite
    state.sqlite.threaddoctor/journal/20261121T061502Z-r3f9c.json
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from threaddoctor.errors import ThreadDoctorError
from threaddoctor.fix.images import Image

TEMPORARY = ".threaddoctor-tmp"  # the suffix of a file being written, renamed once complete


class JournalEntry(BaseModel):
    repair_id: str
    created_at: str
    database: str
    backup: str
    release: str
    action: str = "fix"  # "fix" or "undo"
    rules: list[str] = Field(default_factory=list)
    threads: list[str] = Field(default_factory=list)
    events: list[dict[str, Any]] = Field(default_factory=list)  # appended rows, envelope included
    before: Image = Field(default_factory=dict)
    after: Image = Field(default_factory=dict)
    undone_at: str | None = None


def folder(db: Path) -> Path:
    path = db.parent / f"{db.name}.threaddoctor"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_repair_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-r{secrets.token_hex(2)}"


def backup(conn: sqlite3.Connection, db: Path, name: str) -> Path:
    """A consistent copy through SQLite's backup API (WAL content included), mode 0600. It is
    written under a temporary name and renamed once complete, so a backup by its own name is
    never half-written (a process killed midway leaves only the temporary, which the next
    `fix` removes)."""
    target = folder(db) / f"backup-{name}.sqlite"
    tmp = target.with_name(target.name + TEMPORARY)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    with _removed_on_error(tmp):
        dest = sqlite3.connect(tmp)
        try:
            conn.backup(dest)
        finally:
            dest.close()
        os.chmod(tmp, 0o600)
        _fsync_file(tmp)
        os.replace(tmp, target)
    _fsync_dir(target.parent)
    return target


@contextmanager
def _removed_on_error(tmp: Path) -> Iterator[None]:
    """A temporary that could not be completed (a full disk, a write error) is not left behind."""
    try:
        yield
    except BaseException:
        for stale in (tmp, tmp.with_name(tmp.name + "-journal")):
            with suppress(OSError):
                stale.unlink()
        raise


def remove_temporaries(where: Path) -> None:
    """Delete what a run killed midway left under a temporary name (never a backup or a journal entry)."""
    if where.is_dir():
        # The suffix, and SQLite's own -journal or -wal of a temporary backup.
        for stale in [*where.glob(f"*{TEMPORARY}*"), *where.glob(f"journal/*{TEMPORARY}*")]:
            stale.unlink(missing_ok=True)


def write_durably(target: Path, text: str) -> Path:
    """Write `text` to `target` all or nothing: a temporary file, fsync, rename, fsync of the folder."""
    tmp = target.with_name(target.name + TEMPORARY)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with _removed_on_error(tmp):
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    _fsync_dir(target.parent)
    return target


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync_file(path)  # a folder opened read-only can be fsynced on Linux and macOS


def write(db: Path, entry: JournalEntry) -> Path:
    """Write the entry durably (temp file, fsync, rename) before the repair commits."""
    journal = folder(db) / "journal"
    journal.mkdir(mode=0o700, exist_ok=True)
    return write_durably(journal / f"{entry.repair_id}.json", entry.model_dump_json(indent=1))


def entries(db: Path) -> list[JournalEntry]:
    journal = db.parent / f"{db.name}.threaddoctor" / "journal"
    if not journal.is_dir():
        return []
    found = []
    for p in sorted(journal.glob("*.json")):
        try:
            found.append(JournalEntry.model_validate(json.loads(p.read_text())))
        except (OSError, ValueError) as e:  # pydantic's ValidationError is a ValueError
            raise ThreadDoctorError(
                f"{p}: unreadable journal entry ({type(e).__name__}); undo cannot trust it"
            ) from None
    return sorted(found, key=lambda e: e.repair_id)
