"""Small helpers shared by tests: fresh database files and file snapshots."""

from __future__ import annotations

import hashlib
import re
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


_ISO = re.compile(rb'"timestamp":\s*"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"')
_EPOCH = re.compile(rb'"(created|expires|updated_at)":\s*(\d+(?:\.\d+)?)')


def written_ago(source: Path, folder: Path, seconds: float, name: str | None = None) -> Path:
    """A copy of a recorded log as if its agent had written it `seconds` ago: every timestamp in it
    (ISO `timestamp` fields, ConnectOnion's epoch `created`/`expires`/`updated_at`) moved by one
    amount so that the newest is then, and its mtime then. An agent's own file looks like this; a
    plain copy keeps its old timestamps and only gets a fresh mtime."""
    import os
    import time

    then = time.time() - seconds
    data = moved_to(source.read_bytes(), then)
    copy = folder / (name or source.name)
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    os.utime(copy, (then, then))
    return copy


def moved_to(data: bytes, then: float) -> bytes:
    """JSONL whose timestamps are all moved by one amount so that the newest is `then` (epoch s)."""
    from datetime import UTC, datetime, timedelta

    isos = [datetime.fromisoformat(m.decode().replace("Z", "+00:00")) for m in _ISO.findall(data)]
    if isos:
        shift = timedelta(seconds=then) + datetime(1970, 1, 1, tzinfo=UTC) - max(isos)

        def iso(m: re.Match[bytes]) -> bytes:
            at = datetime.fromisoformat(m.group(1).decode().replace("Z", "+00:00")) + shift
            text = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
            return m.group(0).replace(m.group(1), text.encode())

        data = _ISO.sub(iso, data)
    epochs = [float(m[1]) for m in _EPOCH.findall(data) if m[0] != b"expires"]
    if epochs:
        delta = then - max(epochs)
        data = _EPOCH.sub(lambda m: b'"%s":%r' % (m.group(1), float(m.group(2)) + delta), data)
    return data
