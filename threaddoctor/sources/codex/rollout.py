"""A Codex rollout (`~/.codex/sessions/**/rollout-*.jsonl[.zst]`) as rules see it.

One streaming pass replays the file with Codex's own turn-lifecycle rules
(codex-rs/rollout/src/turn_lifecycle.rs, reference agent-log-formats.md §1.4):
- `task_started` (alias `turn_started`) opens a turn; an open turn before it is finished silently;
- `task_complete` (alias `turn_complete`) finishes the current turn, whatever its turn_id;
- `turn_aborted` and an `error` whose kind affects the turn end it;
- `thread_rolled_back` drops the last `num_turns` finished turns;
- `user_message` or `compacted` outside an explicit turn opens an implicit one (legacy files).
Only small facts are kept (turns, tool calls, ordinals, damaged lines); message and reasoning
bodies are never decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import LineFormat, decoded_chunks, gc_paused
from threaddoctor.sources.files.lines import LineReader

# Errors that leave the turn running (ErrorEvent::affects_turn_status is false only for these).
_ERRORS_THAT_KEEP_THE_TURN = {"thread_rollback_failed", "active_turn_not_steerable"}
_CALLS = {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
_OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
# Events the turn lifecycle needs.
_LIFECYCLE = {
    "task_started",
    "turn_started",
    "task_complete",
    "turn_complete",
    "turn_aborted",
    "error",
    "thread_rolled_back",
    "user_message",
}
# Kinds whose records matter only for the payload types in _NEEDED; every other record is skipped.
_SKIPPED = {
    "event_msg",
    "response_item",
    "turn_context",
    "world_state",
    "token_usage_record",
    "inter_agent_communication",
}
_NEEDED = _LIFECYCLE | _CALLS | _OUTPUTS


class _Payload(msgspec.Struct, gc=False, omit_defaults=True):
    """The payload fields any rule reads; msgspec validates and skips the rest (message bodies,
    reasoning, token counts) without building them. Not tracked by the cyclic GC (gc=False): they
    hold no cycles, and tracking 150k small objects per 200 MB costs a third of the decode."""

    type: str | None = None
    turn_id: Any = None
    reason: Any = None
    error: Any = None
    codex_error_info: Any = None
    message: Any = None
    num_turns: Any = None
    call_id: Any = None
    id: Any = None
    name: Any = None
    output: Any = None
    cli_version: Any = None
    history_mode: Any = None


class _Record(msgspec.Struct, gc=False):
    """Typed as Codex writes them: another type (a float or boolean ordinal, a list as kind) fails
    the chunk's decode, and the line-by-line path judges it."""

    timestamp: str | None = None
    type: str | None = None
    payload: _Payload | None = None
    ordinal: int | None = None


# What a chunk's records come down to: (line index, kind, payload, timestamp, transport phrase) of
# each record a rule needs, the ordinals (the first, when they run on without a gap, else all of
# them) and the last timestamp. Tool outputs are dropped once read: they never cross processes.
_Picked = tuple[int, Any, _Payload, str | None, str | None]
_Kept = tuple[list[_Picked], Any, str | None]


def _keep(records: list[_Record]) -> _Kept:
    wanted = [
        (i, r)
        for i, r in enumerate(records)
        if (p := r.payload) is not None and (r.type not in _SKIPPED or p.type in _NEEDED)
    ]
    picked = []
    for i, r in wanted:
        p, transport = r.payload, None
        if p.output is not None:
            transport, p.output = transport_dropped(p.output), None
        picked.append((i, r.type, p, r.timestamp, transport))
    ordinals = [r.ordinal for r in records]
    start = ordinals[0]
    run = type(start) is int and ordinals == list(range(start, start + len(ordinals)))  # compared in C
    last = next((r.timestamp for r in reversed(records) if r.timestamp), None)
    return picked, start if run else ordinals, last


def _from_dict(record: dict[str, Any]) -> _Record:
    """A line parsed on the slow path, in the fast path's shape (odd values are left out)."""
    payload, ts = record.get("payload"), record.get("timestamp")
    try:
        p = msgspec.convert(payload, _Payload) if isinstance(payload, dict) else None
    except msgspec.ValidationError:
        p = None
    kind = record.get("type")
    # An ordinal of another type is kept as written: _check_ordinal reports it.
    return _Record(
        ts if isinstance(ts, str) else None, kind if isinstance(kind, str) else None, p, record.get("ordinal")
    )


ROLLOUT = LineFormat(_Record, _keep, _Kept, joint=b'}\n{"timestamp":"')
# What a tool output says when the transport under it, not the agent, failed (exec-server
# reconnects, Codex PR #23867 and #28512; MCP stdio servers after a blip). Assumed, as the
# reference documents no exact text: the failure is reported as the output itself, so the phrase
# must open it (within _TRANSPORT_HEAD characters); further in, it is what a command printed.
TRANSPORT_DROPPED = re.compile(
    r"transport (?:closed|error)|websocket (?:closed|disconnected)|exec-server (?:session|connection)"
    r"|connection (?:reset|closed) by peer|broken pipe|session (?:was )?(?:closed|lost|not found) after disconnect",
    re.IGNORECASE,
)
_TRANSPORT_HEAD = 1000
# Words every phrase above contains: a cheap pre-check on the lowered head of the output.
_TRANSPORT_WORDS = ("transport", "websocket", "exec-server", "by peer", "broken pipe", "after disconnect")
LIVE_WINDOW_SECONDS = 120  # a rollout written this recently may belong to a running Codex


@dataclass(slots=True)
class ToolCall:
    call_id: str
    kind: str
    name: str
    line: int
    turn: int | None  # index into turns
    output_line: int | None = None
    transport: str | None = None  # what the output says about a dropped transport, if anything


@dataclass(slots=True)
class Turn:
    turn_id: str | None
    explicit: bool
    line: int
    started_at: str
    state: str = "in_progress"  # in_progress, completed, aborted, failed
    end_line: int | None = None
    end_detail: str = ""


@dataclass
class OrdinalProblem:
    line: int
    what: str


@dataclass
class CodexRollout(LogSource):
    """A parsed rollout: the source the codex-rollout rules read."""

    path: Path
    reader: LineReader
    thread_id: str | None = None
    cli_version: str | None = None
    history_mode: str | None = None
    turns: list[Turn] = field(default_factory=list)
    calls: dict[str, ToolCall] = field(default_factory=dict)
    ordinal_problems: list[OrdinalProblem] = field(default_factory=list)
    last_timestamp: str | None = None
    records: int = 0
    current: int | None = None  # index of the open turn
    next_ordinal: int | None = None  # what an appended record's ordinal must be (paginated files)

    kinds = ("codex-rollout", "jsonl")

    @property
    def description(self) -> str:
        parts = ["Codex rollout"]
        if self.cli_version:
            parts.append(f"cli {self.cli_version}")
        if self.history_mode:
            parts.append(f"{self.history_mode} history")
        return ", ".join(parts)

    @property
    def has_explicit_turns(self) -> bool:
        return any(t.explicit for t in self.turns)

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> CodexRollout:
        """Whole chunks decoded in C when they are clean; line by line only where one is not."""
        with gc_paused():
            self.next_ordinal = self._read_chunks()
        return self

    def _read_chunks(self) -> int | None:
        expected: int | None = None
        for chunk in decoded_chunks(self.path, ROLLOUT):
            self.reader.mark(chunk.first, chunk.offset)
            if chunk.kept is not None:
                expected = self._take(chunk.first, chunk.lines, chunk.kept, expected)
                continue
            lines = chunk.raw_lines()
            for lineno, raw in self.reader.checked(enumerate(lines, chunk.first)):
                record = self.reader.parse(lineno, raw)
                if record is not None:
                    expected = self._take(lineno, 1, _keep([_from_dict(record)]), expected)
                else:
                    self.records += 1
        return expected

    def _take(self, first: int, lines: int, kept: _Kept, expected: int | None) -> int | None:
        picked, ordinals, last_timestamp = kept
        self.records += lines
        known, since = self.history_mode, 0
        for i, kind, payload, ts, transport in picked:
            self._apply(first + i, kind, payload, ts or "", transport)
            if known is None and self.history_mode is not None:  # ordinals count from session_meta on
                known, since = self.history_mode, i
        self.last_timestamp = last_timestamp or self.last_timestamp
        if self.history_mode != "paginated":
            return expected
        if since:
            ordinals = range(ordinals, ordinals + lines) if type(ordinals) is int else ordinals
            return self._take_ordinals(first + since, lines - since, ordinals[since:], expected)
        return self._take_ordinals(first, lines, ordinals, expected)

    def _take_ordinals(self, first: int, lines: int, ordinals: Any, expected: int | None) -> int | None:
        if type(ordinals) is int:  # a run without gaps, from `ordinals`
            if expected is None or ordinals >= expected:  # only its start can be wrong
                self._check_ordinal(first, ordinals, expected)
                return ordinals + lines
            ordinals = range(ordinals, ordinals + lines)  # it reuses ordinals: judge each record
        for i, ordinal in enumerate(ordinals):
            expected = self._check_ordinal(first + i, ordinal, expected)
        return expected

    def _check_ordinal(self, lineno: int, ordinal: Any, expected: int | None) -> int | None:
        if type(ordinal) is not int:  # a boolean is no ordinal to Codex either
            self.ordinal_problems.append(OrdinalProblem(lineno, "record without an ordinal"))
            return expected
        if expected is not None and ordinal < expected:
            self.ordinal_problems.append(OrdinalProblem(lineno, f"ordinal {ordinal} reused (expected {expected})"))
            return expected
        if expected is not None and ordinal > expected:
            self.ordinal_problems.append(OrdinalProblem(lineno, f"ordinals {expected}-{ordinal - 1} missing"))
        return ordinal + 1

    def _apply(self, lineno: int, kind: Any, p: _Payload, ts: str, transport: str | None) -> None:
        if kind == "session_meta":
            self.thread_id = self.thread_id or _str(p.id)
            self.cli_version = self.cli_version or _str(p.cli_version)
            self.history_mode = self.history_mode or _str(p.history_mode)
        elif kind == "event_msg":
            self._event(lineno, p, ts)
        elif kind == "response_item":
            self._response_item(lineno, p, transport)
        elif kind == "compacted" and self.current is None:
            self._open(None, False, lineno, ts)

    def _event(self, lineno: int, p: _Payload, ts: str) -> None:
        etype = p.type
        if etype in ("task_started", "turn_started"):
            if self.current is not None:
                self._end("completed", lineno, "finished by the next task_started")
            self._open(p.turn_id, True, lineno, ts)
        elif etype in ("task_complete", "turn_complete"):
            if p.error:  # a failed turn ends with task_complete carrying its error (cli 0.169)
                message = p.error.get("message") if isinstance(p.error, dict) else str(p.error)
                self._end("failed", lineno, str(message or "error"))
            else:
                self._end("completed", lineno, "")
        elif etype == "turn_aborted":
            self._end("aborted", lineno, str(p.reason or ""))
        elif etype == "error":
            info = p.codex_error_info
            name = next(iter(info), None) if isinstance(info, dict) else info if isinstance(info, str) else None
            if name not in _ERRORS_THAT_KEEP_THE_TURN:
                self._end("failed", lineno, str(p.message or name or "error"))
        elif etype == "thread_rolled_back":
            self._roll_back(_int(p.num_turns))
        elif etype == "user_message" and self.current is None and not self.has_explicit_turns:
            self._open(None, False, lineno, ts)

    def _response_item(self, lineno: int, p: _Payload, transport: str | None) -> None:
        call_id = p.call_id or p.id
        if not isinstance(call_id, str):
            return
        if p.type in _CALLS:
            self.calls[call_id] = ToolCall(call_id, p.type, str(p.name or p.type), lineno, self.current)
        elif p.type in _OUTPUTS and call_id in self.calls:
            call = self.calls[call_id]
            call.output_line, call.transport = lineno, transport

    def _open(self, turn_id: Any, explicit: bool, lineno: int, ts: str) -> None:
        self.turns.append(Turn(turn_id if isinstance(turn_id, str) else None, explicit, lineno, ts))
        self.current = len(self.turns) - 1

    def _end(self, state: str, lineno: int, detail: str) -> None:
        if self.current is None:
            return
        turn = self.turns[self.current]
        turn.state, turn.end_line, turn.end_detail = state, lineno, detail
        self.current = None

    def _roll_back(self, n: int) -> None:
        finished = [i for i, t in enumerate(self.turns) if t.state != "in_progress"]
        for i in reversed(finished[-n:] if n else []):
            del self.turns[i]
            for call in self.calls.values():
                if call.turn == i:
                    call.turn = None
                elif call.turn is not None and call.turn > i:
                    call.turn -= 1
        if self.current is not None:
            self.current = next((i for i, t in enumerate(self.turns) if t.state == "in_progress"), None)


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        content = output.get("content") if isinstance(output.get("content"), str) else ""
        return content or str(output)
    return "" if output is None else str(output)


def transport_dropped(output: Any) -> str | None:
    """The phrase that opens a tool output when its transport dropped, or None."""
    head = (output if isinstance(output, str) else _output_text(output))[:_TRANSPORT_HEAD]
    lowered = head.lower()
    for word in _TRANSPORT_WORDS:
        if word in lowered:
            found = TRANSPORT_DROPPED.search(head)
            return found.group(0) if found else None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if type(value) is int else 0


def open_rollout(path: Path) -> CodexRollout:
    return CodexRollout(path=Path(path), reader=LineReader(Path(path))).read()
