"""Small helpers shared by tests: fresh database files and file snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def snapshot(db: Path) -> dict[str, str | None]:
    """The bytes of a database and its WAL (the -shm index is shared memory readers may touch)."""
    return {suffix: digest(Path(f"{db}{suffix}")) for suffix in ("", "-wal")}
