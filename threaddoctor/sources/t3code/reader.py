"""Open a T3 Code database for reading, without ever writing to it.

The connection is `mode=ro`: SQLite never takes a write lock through it, never checkpoints the
WAL on close, and still reads what is in the WAL (it maps the shared-memory index, which readers
may touch). All queries of one scan run in one read transaction, so they see one snapshot even
while the app keeps writing.

One exception keeps even the file list unchanged: opening a WAL database whose `-wal` file is
absent would create an empty `-wal` and `-shm`. The `-wal` exists while any connection has the
database open, so its absence means nobody does; such a file is read as `immutable`, and the
caller re-reads in `mode=ro` if a `-wal` appeared meanwhile (`Snapshot.still_valid`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from threaddoctor.errors import InputError

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Snapshot:
    conn: sqlite3.Connection
    path: Path
    immutable: bool

    def still_valid(self) -> bool:
        """False when an immutable read may have missed a writer that started meanwhile."""
        return not self.immutable or not Path(f"{self.path}-wal").exists()


def _header(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(100)


def open_readonly(path: Path, allow_immutable: bool = True) -> Snapshot:
    label = str(path)
    if not path.exists():
        raise InputError(f"{label}: no such file")
    if path.is_dir():
        raise InputError(f"{label}: is a directory, not a database")
    head = _header(path)
    if not head:
        raise InputError(f"{label}: empty file (neither a T3 Code database nor an export)")
    if not head.startswith(_SQLITE_MAGIC):
        raise InputError(f"{label}: not a SQLite database")
    wal_mode = len(head) >= 20 and head[18] == 2 and head[19] == 2
    quiet = wal_mode and not Path(f"{path}-wal").exists()
    params = "mode=ro&immutable=1" if quiet and allow_immutable else "mode=ro"
    try:
        return Snapshot(_connect(readonly_uri(path, params)), path, immutable="immutable" in params)
    except sqlite3.DatabaseError as e:
        raise InputError(f"{label}: cannot read database ({e})") from None


def readonly_uri(path: Path, params: str = "mode=ro") -> str:
    return f"file:{quote(str(path.resolve()))}?{params}"


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # starts the snapshot
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn
