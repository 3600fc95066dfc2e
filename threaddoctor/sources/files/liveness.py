"""Whether an agent may still be writing a log, judged on evidence that survives a copy.

A copy (an attachment to a bug report, a CI artifact, an unpacked tarball) has a fresh
modification time, so a recent write alone proves nothing. A log counts as possibly live only when
a process holds it open, or when its own newest record (a timestamp inside the file) is recent
together with a recent write: a fresh copy of an old log is judged in full.

Codex keeps its rollout open for appending while a session runs (RolloutWriterState in
codex-rs/rollout/src/recorder.rs holds a JsonlWriter around one file handle), so on Linux an open
handle in /proc is proof of life even when the model has been thinking for minutes without a write.
Claude Code opens and closes the transcript per append, so for it only recent records and writes
count (transcript.py adds its subagents' files and the time a tool may run).

What the rules leave unjudged because the log may be live is recorded (`Unjudged`), and every output
format names it: a report never hides what it did not check.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from threaddoctor.findings import Unjudged

LIVE_WINDOW_SECONDS = 120  # a log written this recently may belong to a running agent
_TAIL_BYTES = 1 << 20  # how far back from a plain file's end its newest timestamp is looked for
_TAIL_LINES = 64


class LiveCheck(StrEnum):
    """How much evidence of a running agent leaves a turn unjudged."""

    recent = "recent"  # scan: held open, or the newest record and the last write both recent
    held_open = "held-open"  # check on exported logs: only a process holding the file open
    off = "off"  # settled: everything is judged, whatever holds the file


@dataclass(frozen=True)
class Liveness:
    """The evidence that an agent may still be writing a log."""

    holder: int | None  # pid of a process that holds the file open
    written_ago: float | None  # seconds since the newest of its files was written
    record_ago: float | None  # seconds since its newest record's own timestamp
    window: float  # how recent counts as recent

    def recent(self) -> bool:
        return (
            self.written_ago is not None
            and self.written_ago < self.window
            and self.record_ago is not None
            and self.record_ago < self.window
        )

    def live(self, check: LiveCheck) -> bool:
        if check is LiveCheck.off:
            return False
        return self.holder is not None or (check is LiveCheck.recent and self.recent())

    def reason(self) -> str:
        """'written 40 s ago and held open by pid 4242'."""
        parts = []
        if self.written_ago is not None and (self.holder is None or self.written_ago < 86400):
            parts.append(f"written {ago(self.written_ago)} ago")
            if self.holder is None and self.record_ago is not None:
                parts[-1] += f", its newest record {ago(self.record_ago)} old"
        if self.holder is not None:
            parts.append(f"held open by pid {self.holder}")
        return " and ".join(parts) or "may still be written"


def ago(seconds: float) -> str:
    s = int(max(0.0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h"


class Liveable:
    """What a source mixes in to say whether it may be live and to record what it left unjudged.
    It overrides `written_files`, `open_files`, `newest_record_at` and `live_window` where its format
    differs; the engine sets `live_check` from the caller's choice."""

    path: Path
    live_check: LiveCheck = LiveCheck.recent

    def written_files(self) -> list[Path]:
        """The files whose writes show the agent at work on this log."""
        return [self.path]

    def open_files(self) -> list[Path]:
        """The files an agent at work holds open."""
        return [self.path]

    def live_window(self) -> float:
        return LIVE_WINDOW_SECONDS

    def newest_record_at(self) -> float | None:
        """Epoch seconds of the newest timestamp inside the files (None when none has one)."""
        found = [t for t in map(last_timestamp, self.written_files()) if t is not None]
        return max(found, default=None)

    def liveness(self) -> Liveness:
        cached = self.__dict__.get("_liveness")
        if cached is None:
            now = time.time()
            written = seconds_since_written(*self.written_files())
            newest = self.newest_record_at() if written is not None and written < self.live_window() else None
            cached = Liveness(
                holder=self.holder(),
                written_ago=written,
                record_ago=None if newest is None else max(0.0, now - newest),
                window=self.live_window(),
            )
            self.__dict__["_liveness"] = cached
        return cached

    def holder(self) -> int | None:
        """A process holding one of the open files open. A source that keeps a file open itself (a
        database connection) asks before it opens it, and remembers."""
        if "_holder" not in self.__dict__:
            self.__dict__["_holder"] = first_holder(self.open_files())
        return self.__dict__["_holder"]

    def maybe_live(self) -> bool:
        """The agent may still be writing this file (see the module's docstring)."""
        return self.liveness().live(self.live_check)

    @property
    def unjudged(self) -> list[Unjudged]:
        return self.__dict__.setdefault("_unjudged", [])

    def left_unjudged(
        self,
        rule: str,
        what: str,
        thread_id: str | None = None,
        subject: str | None = None,
        line: int | None = None,
        young: str | None = None,
    ) -> bool:
        """True when the item may still be in progress, and so is not judged: it is then recorded,
        for every output to name. `young`: the item's own reason to be taken as possibly live,
        where a format's items age on their own (a waiting approval); it counts only as a scan
        counts a recent write, and a process holding the file open counts whatever it says."""
        state = self.liveness()
        if young is not None and self.live_check is LiveCheck.recent:
            why = young if state.holder is None else f"{young}; {state.reason()}"
        elif state.live(self.live_check):
            why = state.reason()
        else:
            return False
        self.unjudged.append(Unjudged(rule=rule, what=what, thread_id=thread_id, subject=subject, line=line, why=why))
        return True


def seconds_since_written(*paths: Path) -> float | None:
    """Seconds since the newest of these files was written, None if none exists."""
    times = []
    for path in paths:
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            continue
    return None if not times else max(0.0, time.time() - max(times))


def first_holder(paths: list[Path]) -> int | None:
    return next((pid for pid in map(held_open, paths) if pid is not None), None)


def held_open(path: Path) -> int | None:
    """The pid of a process (of this user: /proc shows no other's descriptors) that has the file
    open, or None. None also where there is no /proc to ask."""
    global _OPEN_FILES
    try:
        target = os.stat(path)
    except OSError:
        return None
    key = (target.st_dev, target.st_ino)
    pid = _open_files().get(key)
    if pid is not None and not _holds(pid, key):  # a listing up to a second old: the inode may be reused
        _OPEN_FILES = (0.0, {})
        pid = _open_files().get(key)
    return pid


def _holds(pid: int, key: tuple[int, int]) -> bool:
    try:
        fds = os.scandir(f"/proc/{pid}/fd")
    except OSError:
        return False
    with fds:
        for fd in fds:
            try:
                st = os.stat(fd.path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == key:
                return True
    return False


_OPEN_FILES: tuple[float, dict[tuple[int, int], int]] = (0.0, {})


def _open_files() -> dict[tuple[int, int], int]:
    """(device, inode) of every file a process has open, with one such pid, listed once a second
    at most: a scan of many logs asks for each, and a busy machine has tens of thousands of
    descriptors."""
    global _OPEN_FILES
    listed_at, found = _OPEN_FILES
    if time.monotonic() - listed_at < 1.0:
        return found
    found = {}
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
                found.setdefault((st.st_dev, st.st_ino), int(pid))
    _OPEN_FILES = (time.monotonic(), found)
    return found


def last_timestamp(path: Path) -> float | None:
    """The top-level `timestamp` of the last lines of a plain JSONL file that carry one, as epoch
    seconds. Compressed files are not written while an agent works, so they have none here."""
    if path.suffix in (".zst", ".gz"):
        return None
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except OSError:
        return None
    lines = tail.splitlines()
    if size > _TAIL_BYTES:
        lines = lines[1:]  # the first may be the end of a longer line
    for raw in reversed(lines[-_TAIL_LINES:]):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        at = parse_time(record.get("timestamp")) if isinstance(record, dict) else None
        if at is not None:
            return at
    return None


def parse_time(value: object) -> float | None:
    """An ISO-8601 timestamp (Codex and Claude Code write `2026-05-24T21:27:14.630Z`) as epoch seconds."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.timestamp() if at.tzinfo is not None else None
