"""A Codex rollout (`~/.codex/sessions/**/rollout-*.jsonl[.zst]`) as rules see it.

One streaming pass replays the file's events with Codex's own turn-lifecycle rules
(lifecycle.py), pairs tool calls with their outputs by call_id as Codex does, and checks the
ordinals of paginated files. Only small facts are kept (turns, tool calls, ordinals, damaged
lines); message and reasoning bodies are never decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from threaddoctor.sources.codex import lifecycle
from threaddoctor.sources.codex.lifecycle import Turn, TurnLifecycle
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import LineFormat, decoded_chunks, gc_paused
from threaddoctor.sources.files.lines import LineReader
from threaddoctor.sources.files.liveness import parse_time

_CALLS = {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
# Which calls an output answers (codex-rs/core/src/context_manager/normalize.rs): pairs go by call_id.
_ANSWERS = {
    "function_call_output": {"function_call", "local_shell_call"},
    "custom_tool_call_output": {"custom_tool_call"},
    "tool_search_output": {"tool_search_call"},
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
_NEEDED = lifecycle.EVENTS | _CALLS | set(_ANSWERS)


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
    text: Any = None
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
# must be on its first line, and an output that is a command's result (Codex's exec header, or the
# older shell tool's JSON) is what the command printed, never a transport failure.
TRANSPORT_DROPPED = re.compile(
    r"transport (?:closed|error)|websocket (?:closed|disconnected)|exec-server (?:session|connection)"
    r"|connection (?:reset|closed) by peer|broken pipe|session (?:was )?(?:closed|lost|not found) after disconnect",
    re.IGNORECASE,
)
_TRANSPORT_HEAD = 1000
# Words every phrase above contains: a cheap pre-check on the lowered head of the output.
_TRANSPORT_WORDS = ("transport", "websocket", "exec-server", "by peer", "broken pipe", "after disconnect")
_COMMAND_RESULT = ("Chunk ID:", "Exit code:", "Process exited", "Wall time:", '{"output":')


@dataclass(slots=True)
class ToolCall:
    call_id: str
    kind: str
    name: str
    line: int
    turn: int | None  # index into turns
    output_line: int | None = None
    transport: str | None = None  # what the output says about a dropped transport, if anything


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
    lifecycle: TurnLifecycle = field(default_factory=TurnLifecycle)
    calls: dict[str, ToolCall] = field(default_factory=dict)
    ordinal_problems: list[OrdinalProblem] = field(default_factory=list)
    last_timestamp: str | None = None
    records: int = 0
    next_ordinal: int | None = None  # what an appended record's ordinal must be (paginated files)
    jump: tuple[int, int, int] | None = None  # (line, ordinal, expected) of a jump not yet judged

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
    def turns(self) -> list[Turn]:
        """Every turn the file opened, rolled back ones included (marked so)."""
        return self.lifecycle.turns

    @property
    def current(self) -> int | None:
        """Index in `turns` of the turn still current at the end, if any."""
        return self.lifecycle.current

    def thread_turns(self) -> Iterator[Turn]:
        """The turns still part of the thread: a rollback drops turns from it."""
        return (t for t in self.turns if not t.rolled_back)

    def thread_calls(self) -> Iterator[tuple[ToolCall, Turn | None]]:
        """The tool calls still part of the thread, each with its turn (None outside any turn)."""
        for call in self.calls.values():
            turn = None if call.turn is None else self.turns[call.turn]
            if turn is None or not turn.rolled_back:
                yield call, turn

    def newest_record_at(self) -> float | None:
        """The last record's own timestamp, read with the rest (compressed files too)."""
        return parse_time(self.last_timestamp)

    def completed_after(self, line: int) -> Turn | None:
        """The first turn of the thread begun after `line` that completed on its own task_complete
        (not one a later task_started or a rollback finished): the thread went on past that line,
        as a resumed thread does, and what was left open there is history."""
        return next(
            (
                t
                for t in self.thread_turns()
                if t.line > line
                and t.state == "completed"
                and t.end_line is not None
                and not t.end_detail.startswith("finished by")
            ),
            None,
        )

    def open_turn(self) -> Turn | None:
        """The explicit turn resume would show as "Working": current, and in progress."""
        turn = None if self.current is None else self.turns[self.current]
        return turn if turn is not None and turn.explicit and turn.state == "in_progress" else None

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> CodexRollout:
        """Whole chunks decoded in C when they are clean; line by line only where one is not."""
        with gc_paused():
            self.next_ordinal = self._read_chunks()
            if self.jump is not None:  # the last record jumped: nothing after it says otherwise
                line, jumped, before = self.jump
                self.ordinal_problems.append(OrdinalProblem(line, f"ordinals {before}-{jumped - 1} missing"))
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
        if self.jump is not None:
            expected = self._settle_jump(ordinal, expected)
        if type(ordinal) is not int:  # a boolean is no ordinal to Codex either
            self.ordinal_problems.append(OrdinalProblem(lineno, "record without an ordinal"))
            return None if expected is None else expected + 1  # it still took a place in the sequence
        if expected is not None and ordinal < expected:
            self.ordinal_problems.append(OrdinalProblem(lineno, f"ordinal {ordinal} reused (expected {expected})"))
            return expected
        if expected is not None and ordinal > expected:
            self.jump = (lineno, ordinal, expected)  # judged by the next record: a gap, or one stray record
        return ordinal + 1

    def _settle_jump(self, ordinal: Any, expected: int | None) -> int | None:
        """A record whose ordinal jumped ahead, seen from the next one: if that one goes on from
        before the jump, the jump was a single record out of sequence; else ordinals are missing."""
        line, jumped, before = self.jump  # type: ignore[misc]
        self.jump = None
        if type(ordinal) is int and before <= ordinal < jumped:
            self.ordinal_problems.append(OrdinalProblem(line, f"ordinal {jumped} out of sequence (expected {before})"))
            return before if ordinal == before else before + 1  # the stray record took its place, or none
        self.ordinal_problems.append(OrdinalProblem(line, f"ordinals {before}-{jumped - 1} missing"))
        return expected

    def _apply(self, lineno: int, kind: Any, p: _Payload, ts: str, transport: str | None) -> None:
        if kind == "session_meta":
            self.thread_id = self.thread_id or _str(p.id)
            self.cli_version = self.cli_version or _str(p.cli_version)
            self.history_mode = self.history_mode or _str(p.history_mode)
        elif kind == "event_msg":
            self.lifecycle.event(lineno, p, ts)
        elif kind == "response_item":
            self._response_item(lineno, p, transport)
        elif kind == "compacted":
            self.lifecycle.compacted(lineno, ts)

    def _response_item(self, lineno: int, p: _Payload, transport: str | None) -> None:
        call_id = p.call_id
        if not isinstance(call_id, str) or not call_id:  # Codex pairs calls and outputs by call_id only
            return
        if p.type in _CALLS:
            self.calls[call_id] = ToolCall(call_id, p.type, str(p.name or p.type), lineno, self.current)
        elif (call := self.calls.get(call_id)) is not None and call.kind in _ANSWERS.get(p.type or "", ()):
            call.output_line, call.transport = lineno, transport


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        content = output.get("content") if isinstance(output.get("content"), str) else ""
        return content or str(output)
    return "" if output is None else str(output)


def transport_dropped(output: Any) -> str | None:
    """The phrase on the first line of a tool output that reports its transport dropped, or None."""
    text = (output if isinstance(output, str) else _output_text(output)).lstrip()
    if text.startswith(_COMMAND_RESULT):
        return None
    head = text[:_TRANSPORT_HEAD].split("\n", 1)[0]
    lowered = head.lower()
    for word in _TRANSPORT_WORDS:
        if word in lowered:
            found = TRANSPORT_DROPPED.search(head)
            return found.group(0) if found else None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def open_rollout(path: Path) -> CodexRollout:
    return CodexRollout(path=Path(path), reader=LineReader(Path(path))).read()
