"""Open a T3 Code database for reading, without ever writing to it.

The connection is `mode=ro`: SQLite never takes a write lock through it, never checkpoints the
WAL on close, and still reads what is in the WAL (it maps the shared-memory index, which readers
may touch). All queries of one scan run in one read transaction, so they see one snapshot even
while the app keeps writing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from threaddoctor.errors import InputError

_SQLITE_MAGIC = b"SQLite format 3\x00"


def open_readonly(path: Path) -> sqlite3.Connection:
    label = str(path)
    if not path.exists():
        raise InputError(f"{label}: no such file")
    if path.is_dir():
        raise InputError(f"{label}: is a directory, not a database")
    with path.open("rb") as f:
        head = f.read(16)
    if head and head != _SQLITE_MAGIC:
        raise InputError(f"{label}: not a SQLite database")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # starts the snapshot
    except sqlite3.DatabaseError as e:
        raise InputError(f"{label}: cannot read database ({e})") from None
    return conn
