"""Whether an agent may still be writing a log: recent writes, or a process holding it open.

Codex keeps its rollout open for appending while a session runs (RolloutWriterState in
codex-rs/rollout/src/recorder.rs holds a JsonlWriter around one file handle), so on Linux an open
handle in /proc is proof of life even when the model has been thinking for minutes without a write. Claude Code opens and closes the transcript per append, so
for it only recent writes count (transcript.py adds its subagents' files and the time a tool may run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LIVE_WINDOW_SECONDS = 120  # a log written this recently may belong to a running agent


def seconds_since_written(*paths: Path) -> float | None:
    """Seconds since the newest of these files was written, None if none exists."""
    times = []
    for path in paths:
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            continue
    return None if not times else max(0.0, time.time() - max(times))


def held_open(path: Path) -> bool:
    """A process (of this user: /proc shows no other's descriptors) has the file open. False where
    there is no /proc to ask."""
    try:
        target = os.stat(path)
    except OSError:
        return False
    return (target.st_dev, target.st_ino) in _open_files()


_OPEN_FILES: tuple[float, set[tuple[int, int]]] = (0.0, set())


def _open_files() -> set[tuple[int, int]]:
    """(device, inode) of every file a process has open, listed once a second at most: a scan of
    many logs asks for each, and a busy machine has tens of thousands of descriptors."""
    global _OPEN_FILES
    listed_at, found = _OPEN_FILES
    if time.monotonic() - listed_at < 1.0:
        return found
    found = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        pids = []
    for pid in pids:
        try:
            fds = os.scandir(f"/proc/{pid}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    st = os.stat(fd.path)
                except OSError:
                    continue
                found.add((st.st_dev, st.st_ino))
    _OPEN_FILES = (time.monotonic(), found)
    return found
