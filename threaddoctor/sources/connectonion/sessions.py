"""ConnectOnion's `.co/session_results.jsonl` (connectonion/network/host/session/storage.py) as rules see it.

The host appends a whole `Session` record per status change (`connected`, `running`,
`waiting_approval`, `done`, `failed`, and `interrupted` from the startup reconcile, which then
compacts the file to one line per session); the newest line of a session is its state ("last entry
wins"). One streaming pass keeps, per session, only the newest record reduced to the facts rules read
(status, timestamps, revision, pending tool, calls without a result) plus its status history; the
bodies of older records are dropped as soon as a newer one is read.

Time: the records carry the host's epoch timestamps. They are compared with each other, and anchored
to now by the file's mtime (the host appends whenever any of its sessions changes): a session's idle
time is how long it had been idle at the file's newest record plus how long the file has been quiet
since, with no clock skew between host and scanner, and a test can age a file with os.utime. A file
written well after its newest record is a copy (an attachment, a CI artifact), whose mtime says
nothing: its sessions are aged by this machine's clock, so a fresh copy of an old file is judged as
the original. Sessions too young to judge (an approval that may still come, a turn that may still
run) are left unjudged, and the report says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.lines import LineProblem, LineReader

# A person answers an approval prompt within minutes; the signed RemoteAgent client does not wait at
# all (it raises ApprovalPendingError and closes its socket), so a checkpoint idle this long has most
# likely lost the client that saw it.
APPROVAL_ORPHANED_AFTER = 10 * 60
# The host's in-memory ActiveSessionRegistry drops `running` sessions (a blocked approval wait is one)
# after 1 h idle (session/active.py): past this even a live host no longer routes a reconnect to it.
# Nothing is written mid-turn, so a `running` record younger than this may be a long turn.
HOST_FORGETS_AFTER = 60 * 60
# The host writes its record and the file at one moment: a file written this long after its newest
# record was copied (or touched) since, and its mtime is not the host's.
COPIED_AFTER = 120
UNFINISHED = ("interrupted", "failed", "waiting_approval")  # no live turn will close their calls


@dataclass(frozen=True)
class OpenCall:
    """A tool call the newest record leaves without a result."""

    tool_id: str
    name: str
    in_trace: bool  # a trace tool_call with no tool_result (or only a `pending` one)
    in_messages: bool  # an assistant tool_calls entry with no role:"tool" reply


@dataclass(frozen=True)
class SessionRecord:
    """The facts of one record that rules read; built per line, kept only for a session's newest."""

    line: int
    status: str
    title: str | None
    revision: int | None
    created: float | None
    expires: float | None
    updated_at: float | None
    turn: int | None
    pending_tool: tuple[str, str] | None  # (id, name)
    open_calls: tuple[OpenCall, ...]
    open_turn: bool  # a user_input after the last turn_result

    @property
    def at(self) -> float | None:
        """When the host wrote it (older hosts have no updated_at; `created` was reset at checkpoints, #568)."""
        return self.updated_at if self.updated_at is not None else self.created


@dataclass
class Session:
    session_id: str
    first_line: int
    latest: SessionRecord
    statuses: list[str] = field(default_factory=list)  # every record's status, in file order


@dataclass
class ConnectOnionSessions(LogSource):
    """A parsed session_results.jsonl: the source the connectonion-sessions rules read."""

    path: Path
    reader: LineReader
    sessions: dict[str, Session] = field(default_factory=dict)
    records: int = 0
    newest_at: float | None = None  # the newest host timestamp in the file
    quiet_seconds: float = 0.0  # since the file was last written (its mtime), at open time
    copy_clock: float | None = None  # now on this machine, when the mtime is a copy's (see above)

    kinds = ("connectonion-sessions", "jsonl")
    thread_word = "session"
    subject_word = "tool"

    @property
    def description(self) -> str:
        counts: dict[str, int] = {}
        for s in self.sessions.values():
            counts[s.latest.status] = counts.get(s.latest.status, 0) + 1
        states = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"ConnectOnion session results, {len(self.sessions)} session(s)" + (f" ({states})" if states else "")

    def thread_title(self, thread_id: str) -> str | None:
        s = self.sessions.get(thread_id)
        return s.latest.title if s else None

    def host_now(self) -> float | None:
        """Now on the host's clock, as the file tells it (this machine's clock for a copy)."""
        if self.newest_at is None:
            return None
        anchored = self.newest_at + self.quiet_seconds
        return anchored if self.copy_clock is None else max(anchored, self.copy_clock)

    def newest_record_at(self) -> float | None:
        return self.newest_at

    def idle_seconds(self, s: Session) -> float | None:
        """How long the session's newest record has stood with nothing newer."""
        now, at = self.host_now(), s.latest.at
        return None if now is None or at is None else max(0.0, now - at)

    def expired(self, s: Session) -> bool:
        now, expires = self.host_now(), s.latest.expires
        return now is not None and expires is not None and now >= expires

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> ConnectOnionSessions:
        for lineno, record in self.reader.records():
            sid = record.get("session_id")
            if not isinstance(sid, str) or not isinstance(record.get("status"), str):
                self.reader.problems.append(_not_a_session(lineno, record))
                continue
            self.records += 1
            self._keep(sid, _summarise(lineno, record))
        self.quiet_seconds = _quiet_seconds(self.path)
        now = time.time()
        if self.newest_at is not None and now - self.quiet_seconds - self.newest_at > COPIED_AFTER:
            self.copy_clock = now
        return self

    def _keep(self, sid: str, rec: SessionRecord) -> None:
        if rec.at is not None and (self.newest_at is None or rec.at > self.newest_at):
            self.newest_at = rec.at
        session = self.sessions.get(sid)
        if session is None:
            session = self.sessions[sid] = Session(sid, rec.line, rec)
        session.latest = rec  # last entry wins, as in storage.py
        session.statuses.append(rec.status)


def _not_a_session(lineno: int, record: dict[str, Any]) -> LineProblem:
    missing = "session_id" if not isinstance(record.get("session_id"), str) else "status"
    return LineProblem(lineno, "not a session record", f"no {missing}")


def _quiet_seconds(path: Path) -> float:
    try:
        return max(0.0, time.time() - os.stat(path).st_mtime)
    except OSError:
        return 0.0


def _summarise(lineno: int, r: dict[str, Any]) -> SessionRecord:
    body = r.get("session") if isinstance(r.get("session"), dict) else {}
    meta = r.get("metadata") if isinstance(r.get("metadata"), dict) else {}
    trace_calls, open_turn = _trace_tail(_list(body.get("trace")))
    message_calls = _message_tail(_list(body.get("messages")))
    return SessionRecord(
        line=lineno,
        status=r["status"],
        title=_str(meta.get("title")) or _str(r.get("prompt")) or None,
        revision=r["revision"] if isinstance(r.get("revision"), int) else None,
        created=_num(r.get("created")),
        expires=_num(r.get("expires")),
        updated_at=_num(r.get("updated_at")),
        turn=body["turn"] if isinstance(body.get("turn"), int) else None,
        pending_tool=_pending(body.get("pending_tool")),
        open_calls=_merge(trace_calls, message_calls),
        open_turn=open_turn,
    )


def _trace_tail(trace: list[Any]) -> tuple[dict[str, str], bool]:
    """Trace tool_calls with no settled tool_result, and whether the last turn has no turn_result."""
    calls: dict[str, str] = {}
    open_turn = False
    for e in _dicts(trace):
        etype, tool_id = e.get("type"), _str(e.get("tool_id"))
        if etype == "tool_call" and tool_id:
            calls[tool_id] = _str(e.get("name")) or "?"
        elif etype == "tool_result" and e.get("status") != "pending":  # `pending` while the tool runs
            calls.pop(tool_id, None)
        elif etype == "user_input":
            open_turn = True
        elif etype == "turn_result":
            open_turn = False
    return calls, open_turn


def _message_tail(messages: list[Any]) -> dict[str, str]:
    """Assistant tool_calls with no role:"tool" message answering them (OpenAI chat format)."""
    calls: dict[str, str] = {}
    for m in _dicts(messages):
        if m.get("role") == "assistant":
            for c in _dicts(_list(m.get("tool_calls"))):
                fn = c.get("function") if isinstance(c.get("function"), dict) else {}
                if _str(c.get("id")):
                    calls[c["id"]] = _str(fn.get("name")) or "?"
        elif m.get("role") == "tool":
            calls.pop(_str(m.get("tool_call_id")), None)
    return calls


def _merge(trace: dict[str, str], messages: dict[str, str]) -> tuple[OpenCall, ...]:
    ids = list(trace) + [i for i in messages if i not in trace]
    return tuple(OpenCall(i, trace.get(i) or messages[i], i in trace, i in messages) for i in ids)


def _pending(p: Any) -> tuple[str, str] | None:
    if not isinstance(p, dict):
        return None
    return _str(p.get("id")), _str(p.get("name")) or "?"


def _dicts(items: list[Any]) -> Iterator[dict[str, Any]]:
    return (i for i in items if isinstance(i, dict))


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def iso(ts: float | None) -> str | None:
    """A host epoch timestamp as ISO-8601 UTC with milliseconds."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def young_approval(idle: float) -> str:
    return f"waiting {duration(idle)} for an approval that may still come"


def duration(seconds: float) -> str:
    """'45 s', '22 min', '3 h 5 min', '2 d 4 h'."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def open_sessions(path: Path, options: ReadOptions | None = None) -> ConnectOnionSessions:
    return ConnectOnionSessions(path=Path(path), reader=LineReader(Path(path))).read()
