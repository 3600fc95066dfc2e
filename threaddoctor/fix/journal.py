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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from threaddoctor.errors import ThreadDoctorError
from threaddoctor.fix.images import Image


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
    """A consistent copy through SQLite's backup API (WAL content included), mode 0600."""
    target = folder(db) / f"backup-{name}.sqlite"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    os.chmod(target, 0o600)
    return target


def write(db: Path, entry: JournalEntry) -> Path:
    """Write the entry durably (temp file, fsync, rename) before the repair commits."""
    journal = folder(db) / "journal"
    journal.mkdir(mode=0o700, exist_ok=True)
    target = journal / f"{entry.repair_id}.json"
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(entry.model_dump_json(indent=1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(journal, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


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
