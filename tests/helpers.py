"""Small helpers shared by tests: fresh database files and file snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def snapshot(db: Path) -> dict[str, str | None]:
    """The bytes of a database and its WAL (the -shm index is shared memory readers may touch)."""
    return {suffix: digest(Path(f"{db}{suffix}")) for suffix in ("", "-wal")}


def aged_copy(source: Path, folder: Path, age: float = 3600) -> Path:
    """A copy of a recorded log, dated `age` seconds ago: a checkout is fresh, but the file is not
    being written by a live agent, and readers judge liveness by modification time."""
    import os
    import shutil
    import time

    copy = folder / source.name
    shutil.copy(source, copy)
    then = time.time() - age
    os.utime(copy, (then, then))
    return copy
