"""A Claude Code run log as rules see it: the stdout of `claude -p --output-format stream-json
--verbose` (what CI jobs, the Agent SDK and consoles built on a Claude process keep), the same
stream from a long-lived process fed prompts on stdin (`--input-format stream-json`), or
claude-code-action's execution file (one JSON array of the same messages, pretty-printed; a
JSON-lines copy of it reads as a plain run log).

One streaming pass (the chunked fast path of files/chunks.py for JSON lines; files/json_array.py
for an array) splits the stream into turns, each ended by its own `result` (reference
claude-stream-json.md §1, §4). A turn opens on what starts work after a `result`: a `system/init`
(Claude Code 2.1.197 writes one at the start of each turn of a long-lived session), an echoed
prompt, a retry, a status line, or any message of the main conversation. Background-task lines
(task_started/progress/notification, hooks) and a subagent's messages (`parent_tool_use_id` set)
after a `result` open no turn. Unknown types and subtypes are read past: the format grows with
every release. Per turn the reader keeps its prompt, its API retries, its tool calls and which got
a result, its `result`, what was written last and the newest timestamp in it (only user lines
carry one), and no message bodies.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.claude.run_records import RUN_LOG, Record, from_dict
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import decoded_chunks, gc_paused
from threaddoctor.sources.files.json_array import array_elements, starts_an_array
from threaddoctor.sources.files.lines import LineReader

# Claude Code writes nothing while a tool runs, and its Bash tool may run for up to ten minutes
# (as for transcripts, transcript.py): a stream that ends inside a tool call may be live that long.
TOOL_RUNNING_SECONDS = 660
# What a `result` says when the user (or the SDK's interrupt()) stopped the turn: the CLI answers
# the running tool with a synthetic result and ends the turn cleanly (recorded: session_interrupt).
INTERRUPTED = frozenset({"aborted_streaming", "aborted_tools"})
# Lines that start a turn when one is not open. Anything else after a `result` (a background
# task's notification, a hook, a rate-limit notice, a type this reader does not know) does not.
_OPENS_SYSTEM = frozenset({"init", "status", "api_retry", "compact_boundary"})
_OPENS = frozenset({"user", "assistant", "stream_event"})


@dataclass(frozen=True)
class Retry:
    line: int
    attempt: int | None
    max_retries: int | None
    error_status: int | None
    error: str


@dataclass
class Call:
    line: int
    tool_use_id: str
    name: str
    answered: int | None = None  # the line of its tool_result


@dataclass(frozen=True)
class Result:
    line: int
    subtype: str
    is_error: bool
    api_error_status: int | None
    terminal_reason: str | None
    errors: tuple[str, ...]
    text: str
    num_turns: int | None
    origin: object = None

    @property
    def interrupted(self) -> bool:
        """A cooperative interrupt: the turn was stopped on purpose, and ended cleanly."""
        return self.terminal_reason in INTERRUPTED


@dataclass
class RunTurn:
    index: int  # 1-based position in the stream: turns have no ids of their own
    line: int  # where it opened
    session_id: str | None = None
    prompt_line: int | None = None  # an echoed prompt (--replay-user-messages)
    result: Result | None = None
    superseded_at: int | None = None  # a later turn opened here while this one had no result
    retries: list[Retry] = field(default_factory=list)
    output_after_retry: int = 0  # assistant lines after the last retry: the request went through
    calls: dict[str, Call] = field(default_factory=dict)
    last_line: int = 0
    last_seen: str = ""  # what was written last: prompt, assistant, tool_use, tool_result, retry, ...
    last_assistant: int | None = None
    open_message: int | None = None  # a partial message started (message_start) and never stopped
    assistant_error: str | None = None  # an assistant message's API error kind (server_error, ...)
    timestamp: str | None = None  # the newest timestamp in the turn

    @property
    def open_calls(self) -> list[Call]:
        return [c for c in self.calls.values() if c.answered is None]

    @property
    def ended(self) -> bool:
        return self.result is not None


@dataclass
class ClaudeRunLog(LogSource):
    path: Path
    reader: LineReader
    array: bool = False  # claude-code-action's execution file: one JSON array
    turns: list[RunTurn] = field(default_factory=list)
    records: int = 0
    version: str | None = None
    cwd: str | None = None
    sessions: dict[str, None] = field(default_factory=dict)  # session ids, in the order first seen
    _transcripts: dict[str, Path | None] = field(default_factory=dict)

    kinds = ("claude-run", "jsonl")

    @property
    def description(self) -> str:
        what = "claude-code-action execution file" if self.array else "Claude Code stream-json run log"
        parts = [what]
        if self.version:
            parts.append(f"cli {self.version}")
        ended = sum(t.ended for t in self.turns)
        parts.append(f"{len(self.turns)} turn(s), {ended} with a result")
        return ", ".join(parts)

    @property
    def session_id(self) -> str | None:
        return next(reversed(self.sessions), None)

    # ---- liveness ----------------------------------------------------------------------------
    def written_files(self) -> list[Path]:
        """The run log, and the transcript of its last turn's session: the CLI appends to both."""
        last = self.turns[-1].session_id if self.turns else self.session_id
        transcript = self.transcript(last)
        return [self.path] if transcript is None else [self.path, transcript]

    def live_window(self) -> float:
        last = self.turns[-1] if self.turns else None
        running = last is not None and not last.ended and bool(last.open_calls)
        return TOOL_RUNNING_SECONDS if running else super().live_window()

    # ---- the transcript beside it --------------------------------------------------------------
    def transcript(self, session_id: str | None) -> Path | None:
        """The session's transcript, when it exists: beside the run log, or in the projects folder
        of $CLAUDE_CONFIG_DIR (default ~/.claude), where the CLI writes it as <session_id>.jsonl."""
        if not session_id:
            return None
        if session_id not in self._transcripts:
            self._transcripts[session_id] = _find_transcript(self.path, session_id)
        return self._transcripts[session_id]

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> ClaudeRunLog:
        with gc_paused():
            if self.array:
                self._read_array()
            else:
                self._read_lines()
        return self

    def _read_lines(self) -> None:
        for chunk in decoded_chunks(self.path, RUN_LOG):
            self.reader.mark(chunk.first, chunk.offset)
            if chunk.kept is not None:
                self.records += chunk.lines
                self._take(chunk.first, chunk.kept)
                continue
            for lineno, raw in self.reader.checked(enumerate(chunk.raw_lines(), chunk.first)):
                self.records += 1
                record = self.reader.parse(lineno, raw)
                if record is not None and (r := from_dict(record)) is not None:
                    self._apply(lineno, r)

    def _read_array(self) -> None:
        for lineno, element in array_elements(self.path, self.reader.problems):
            self.records += 1
            self.reader.lines = lineno
            if (r := from_dict(element)) is not None:
                self._apply(lineno, r)

    def _take(self, first: int, kept: Iterable[Record]) -> None:
        for r in kept:
            self._apply(first + r.line, r)

    def _apply(self, lineno: int, r: Record) -> None:
        rtype, sub = r.type, r.subtype
        if r.session_id and r.session_id not in self.sessions:
            self.sessions[r.session_id] = None
        turn = self.turns[-1] if self.turns and not self.turns[-1].ended else None
        if rtype == "system" and sub == "init":
            self.version = r.claude_code_version or self.version
            self.cwd = r.cwd or self.cwd
            if turn is not None and turn.last_seen not in ("", "init", "status"):
                turn.superseded_at = lineno  # the stream went on into a new turn without a result
                turn = None
        if turn is None:
            opens = rtype in _OPENS if rtype != "system" else sub in _OPENS_SYSTEM
            if not opens or r.parent_tool_use_id:
                return  # background work after a result, or a type this reader does not know
            turn = RunTurn(len(self.turns) + 1, lineno)
            self.turns.append(turn)
        if r.session_id:
            turn.session_id = r.session_id
        if r.timestamp:
            turn.timestamp = r.timestamp
        if rtype == "system":
            self._system(turn, lineno, r)
        elif rtype == "assistant":
            self._assistant(turn, lineno, r)
        elif rtype == "user":
            self._user(turn, lineno, r)
        elif rtype == "stream_event" and not r.parent_tool_use_id:
            if r.event.type == "message_start":
                turn.open_message = lineno
            elif r.event.type == "message_stop":
                turn.open_message = None
        elif rtype == "result":
            turn.result = _result(lineno, r)
            turn.last_line, turn.last_seen = lineno, "result"

    def _system(self, turn: RunTurn, lineno: int, r: Record) -> None:
        if r.subtype == "api_retry":
            turn.retries.append(
                Retry(lineno, _int(r.attempt), _int(r.max_retries), _int(r.error_status), str(r.error or ""))
            )
            turn.output_after_retry = 0
            turn.last_line, turn.last_seen = lineno, "retry"
        elif r.subtype in ("init", "status") and turn.last_seen in ("", "init", "status"):
            turn.last_line, turn.last_seen = lineno, r.subtype

    def _assistant(self, turn: RunTurn, lineno: int, r: Record) -> None:
        m = r.message
        if isinstance(r.error, str):
            turn.assistant_error = r.error
        turn.output_after_retry += 1
        if r.parent_tool_use_id:  # a subagent's message: its calls are paired too, the turn's state is not
            for b in _blocks(m):
                if b.type == "tool_use" and b.id:
                    turn.calls[b.id] = Call(lineno, b.id, b.name or "?")
            return
        turn.last_assistant = lineno
        turn.last_line, turn.last_seen = lineno, "assistant"
        for b in _blocks(m):
            if b.type == "tool_use" and b.id:
                turn.calls[b.id] = Call(lineno, b.id, b.name or "?")
                turn.last_seen = "tool_use"

    def _user(self, turn: RunTurn, lineno: int, r: Record) -> None:
        results = [b.tool_use_id for b in _blocks(r.message) if b.type == "tool_result" and b.tool_use_id]
        for tool_use_id in results:
            call = turn.calls.get(tool_use_id) or _earlier_call(self.turns, tool_use_id)
            if call is not None:
                call.answered = lineno
        if r.parent_tool_use_id:
            return
        if results:
            turn.last_line, turn.last_seen = lineno, "tool_result"
        elif r.isReplay and turn.prompt_line is None and turn.last_seen in ("", "init", "status"):
            turn.prompt_line = lineno
            turn.last_line, turn.last_seen = lineno, "prompt"
        else:
            turn.last_line, turn.last_seen = lineno, "user"


def _blocks(m) -> list:
    return m.content if m is not None and isinstance(m.content, list) else []


def _earlier_call(turns: list[RunTurn], tool_use_id: str) -> Call | None:
    for turn in reversed(turns[-3:]):  # a late result answers a call of a turn just before
        if tool_use_id in turn.calls:
            return turn.calls[tool_use_id]
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _result(lineno: int, r: Record) -> Result:
    errors = tuple(str(e) for e in r.errors) if isinstance(r.errors, list) else ()
    return Result(
        line=lineno,
        subtype=r.subtype or "",
        is_error=r.is_error is True,
        api_error_status=_int(r.api_error_status),
        terminal_reason=r.terminal_reason,
        errors=errors,
        text=r.result if isinstance(r.result, str) else "",
        num_turns=_int(r.num_turns),
        origin=r.origin,
    )


def _find_transcript(run_log: Path, session_id: str) -> Path | None:
    name = f"{session_id}.jsonl"
    beside = run_log.parent / name
    if beside.is_file() and beside.resolve() != run_log.resolve():
        return beside
    config = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    projects = (Path(config).expanduser() if config else Path.home() / ".claude") / "projects"
    found = sorted(glob.glob(str(projects / "*" / glob.escape(name))))
    return Path(found[0]) if found else None


def open_run_log(path: Path, options: ReadOptions | None = None) -> ClaudeRunLog:
    path = Path(path)
    return ClaudeRunLog(path=path, reader=LineReader(path), array=starts_an_array(path)).read()
