"""A Codex rollout (`~/.codex/sessions/**/rollout-*.jsonl[.zst]`) as rules see it.

One streaming pass replays the file's events with Codex's own turn-lifecycle rules
(lifecycle.py), pairs tool calls with their outputs by call_id as Codex does, and checks the
ordinals of paginated files. Only small facts are kept (turns, tool calls, ordinals, damaged
lines); message and reasoning bodies are never decoded.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.codex import lifecycle
from threaddoctor.sources.codex.lifecycle import Turn, TurnLifecycle
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import LineFormat, decoded_chunks, gc_paused
from threaddoctor.sources.files.lines import LineReader, loads
from threaddoctor.sources.files.liveness import parse_time

_CALLS = {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
# Which calls an output answers (codex-rs/core/src/context_manager/normalize.rs): pairs go by call_id.
_ANSWERS = {
    "function_call_output": {"function_call", "local_shell_call"},
    "custom_tool_call_output": {"custom_tool_call"},
    "tool_search_output": {"tool_search_call"},
}
# Record kinds read whatever their payload; event_msg records are read when the lifecycle reads
# their event type, response_item records when they are calls or outputs. Nothing else is kept.
_READ_KINDS = {"session_meta", "compacted"}


class _Payload(msgspec.Struct, gc=False, omit_defaults=True):
    """The payload fields any rule reads; msgspec validates and skips the rest (message bodies,
    reasoning, token counts) without building them. Not tracked by the cyclic GC (gc=False): they
    hold no cycles, and tracking 150k small objects per 200 MB costs a third of the decode. A tool
    output is kept as its raw JSON (a reference into the chunk, no string built): it is decoded
    only when its bytes may hold a transport failure (`_may_report_transport`)."""

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
    output: msgspec.Raw = msgspec.Raw()
    cli_version: Any = None
    history_mode: Any = None


class _Record(msgspec.Struct, gc=False):
    """Typed as Codex writes them: another type (a float or boolean ordinal, a list as kind) fails
    the chunk's decode, and the line-by-line path judges it."""

    timestamp: str | None = None
    type: str | None = None
    payload: _Payload | None = None
    ordinal: int | None = None


class _Kind(msgspec.Struct, gc=False):
    """What a payload holds that tells the records the reader needs from the rest, and all it
    needs of a call or an output. Decoded for every line (typed as in _Payload: a line this cannot
    decode, _Payload cannot either); the few records the lifecycle reads are decoded again whole:
    building the turn ids and timestamps of every record cost a third of the decode."""

    type: str | None = None
    call_id: Any = None
    name: Any = None
    output: msgspec.Raw = msgspec.Raw()


class _Line(msgspec.Struct, gc=False):
    type: str | None = None
    payload: _Kind | None = None
    ordinal: int | None = None


_FULL = msgspec.json.Decoder(_Record)


def _whole(line: bytes) -> _Record:
    """A line decoded again with every field a rule reads. Its JSON is valid (the chunk was
    decoded), but a field of another type fails here (a number as timestamp): read as the
    line-by-line path reads it."""
    try:
        return _FULL.decode(line)
    except msgspec.ValidationError:
        return _from_dict(loads(line))


# What a chunk's records come down to, as columns (no object per record, no Python call per call):
# - events: (line index, kind, payload, timestamp) of the records the lifecycle and the thread's
#   identity read (session_meta, compacted, the lifecycle's event_msg types), in order;
# - calls: [line index], [call_id], [kind], [name] of the tool calls;
# - outputs: [line index], [call_id], [type] of the tool outputs, and {output position: phrase}
#   of those whose text reports a dropped transport (outputs themselves never leave the chunk);
# - the ordinals (the first, when they run on without a gap, else all of them), the last timestamp.
_Event = tuple[int, Any, _Payload, str | None]
_Kept = tuple[list[_Event], list[list], list[list], dict[int, str], Any, str | None]


def _keep(records: list[_Line] | list[_Record], line: Callable[[int], bytes] | None = None) -> _Kept:
    """Comprehensions only: a Python statement per record would cost more than its decode. With
    `line`, the records are _Lines, and the events' lines are decoded again whole."""
    read = [
        i
        for i, r in enumerate(records)
        if (p := r.payload) is not None
        and ((kind := r.type) in _READ_KINDS or (kind == "event_msg" and p.type in lifecycle.EVENTS))
    ]
    whole = [_whole(line(i)) for i in read] if line is not None else [records[i] for i in read]
    events = [(i, r.type, r.payload, r.timestamp) for i, r in zip(read, whole, strict=True)]
    items = [
        (i, p)
        for i, r in enumerate(records)
        if r.type == "response_item" and (p := r.payload) is not None and type(p.call_id) is str and p.call_id
    ]
    calls = [(i, p.call_id, p.type, str(p.name or p.type)) for i, p in items if p.type in _CALLS]
    answers = [(i, p) for i, p in items if p.type in _ANSWERS]
    transports = {
        k: phrase
        for k, (_, p) in enumerate(answers)
        if _may_report_transport(p.output) and (phrase := transport_dropped(_raw_value(p.output)))
    }
    outputs = [(i, p.call_id, p.type) for i, p in answers]
    for _, _, p, _ in events:
        if p.output:  # a view of the chunk's buffer: it must not outlive it, nor cross to the parent
            p.output = _NO_OUTPUT
    ordinals = [r.ordinal for r in records]
    start = ordinals[0]
    run = type(start) is int and ordinals == list(range(start, start + len(ordinals)))  # compared in C
    if line is None:
        last = next((r.timestamp for r in reversed(records) if r.timestamp), None)
    else:  # usually the last line's
        last = next((ts for i in range(len(records) - 1, -1, -1) if (ts := _whole(line(i)).timestamp)), None)
    return events, _columns(calls, 4), _columns(outputs, 3), transports, start if run else ordinals, last


_NO_OUTPUT = msgspec.Raw()


def _columns(rows: list[tuple], width: int) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _raw_value(raw: msgspec.Raw) -> Any:
    return msgspec.json.decode(raw) if raw else None


def _from_dict(record: dict[str, Any]) -> _Record:
    """A line parsed on the slow path, in the fast path's shape (odd values are left out)."""
    payload, ts = record.get("payload"), record.get("timestamp")
    p = None
    if isinstance(payload, dict):
        fields = {k: v for k, v in payload.items() if k != "output"}
        try:
            p = msgspec.convert(fields, _Payload)
        except msgspec.ValidationError:
            p = None
        if p is not None and "output" in payload:
            p.output = msgspec.Raw(msgspec.json.encode(payload["output"]))
    kind = record.get("type")
    # An ordinal of another type is kept as written: _check_ordinal reports it.
    return _Record(
        ts if isinstance(ts, str) else None, kind if isinstance(kind, str) else None, p, record.get("ordinal")
    )


ROLLOUT = LineFormat(_Line, _keep, _Kept, joint=b'}\n{"timestamp":"', rereads=True)
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
# A command's result as its raw JSON starts (a string opening with one of _COMMAND_RESULT, no
# space before it): such an output is never a transport failure, and is not decoded at all. Any
# other output is decoded and judged by transport_dropped.
_COMMAND_RESULT_JSON = tuple(f'"{head}'.encode() for head in _COMMAND_RESULT if not head.startswith("{"))


@dataclass(slots=True)
class ToolCall:
    call_id: str
    kind: str
    name: str
    line: int
    turn: int | None  # index into turns
    output_line: int | None = None
    transport: str | None = None  # what the output says about a dropped transport, if anything


def _may_report_transport(output: msgspec.Raw) -> bool:
    return bool(output) and not bytes(output).startswith(_COMMAND_RESULT_JSON)


@dataclass
class ToolColumns:
    """Every tool call and tool output of the rollout as columns, in file order, paired in bulk
    when asked (`answers`): a 200 MB rollout holds tens of thousands of calls, and an object per
    call cost more than decoding it."""

    call_line: list[int] = field(default_factory=list)
    call_id: list[str] = field(default_factory=list)
    call_kind: list[str] = field(default_factory=list)
    call_name: list[str] = field(default_factory=list)
    output_line: list[int] = field(default_factory=list)
    output_id: list[str] = field(default_factory=list)
    output_type: list[str] = field(default_factory=list)
    transports: dict[int, str] = field(default_factory=dict)  # output index -> the dropped-transport phrase
    # The current turn after each record that can change it: (line, turn index or None), ascending.
    turn_lines: list[int] = field(default_factory=list)
    turn_current: list[int | None] = field(default_factory=list)

    def extend(self, first: int, calls: list[list], outputs: list[list], transports: dict[int, str]) -> None:
        lines, ids, kinds, names = calls
        self.call_line += [first + i for i in lines]
        self.call_id += ids
        self.call_kind += kinds
        self.call_name += names
        base = len(self.output_id)
        lines, ids, types = outputs
        self.output_line += [first + i for i in lines]
        self.output_id += ids
        self.output_type += types
        self.transports.update((base + k, phrase) for k, phrase in transports.items())

    def turn_at(self, line: int) -> int | None:
        """The current turn when the record on `line` was read."""
        k = bisect_right(self.turn_lines, line) - 1
        return self.turn_current[k] if k >= 0 else None

    def answers(self) -> dict[str, tuple[int, int | None]]:
        """call_id -> (index of its call, index of the output that answers it or None), in the
        order call ids first appear. As Codex pairs them: a later call with the same id replaces
        the earlier one, and the last output after it whose type answers the call's kind is its."""
        final = dict(zip(self.call_id, range(len(self.call_id)), strict=True))
        last = dict(zip(self.output_id, range(len(self.output_id)), strict=True))
        line, kind, out_line, out_type = self.call_line, self.call_kind, self.output_line, self.output_type
        paired = {
            cid: (j, o if o is not None and out_line[o] > line[j] else None)
            for cid, j in final.items()
            for o in (last.get(cid),)
        }
        odd = {cid for cid, (j, o) in paired.items() if o is not None and kind[j] not in _ANSWERS[out_type[o]]}
        if odd:  # the last output is of another type: an earlier one after the call may answer it
            for cid in odd:
                paired[cid] = (paired[cid][0], None)
            for o, (cid, otype) in enumerate(zip(self.output_id, out_type, strict=True)):
                if cid in odd and out_line[o] > line[j := paired[cid][0]] and kind[j] in _ANSWERS[otype]:
                    paired[cid] = (j, o)
        return paired

    def call(self, j: int, o: int | None) -> ToolCall:
        line = self.call_line[j]
        return ToolCall(
            self.call_id[j],
            self.call_kind[j],
            self.call_name[j],
            line,
            self.turn_at(line),
            None if o is None else self.output_line[o],
            None if o is None else self.transports.get(o),
        )


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
    tools: ToolColumns = field(default_factory=ToolColumns)
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

    @cached_property
    def _answers(self) -> dict[str, tuple[int, int | None]]:
        return self.tools.answers()

    @property
    def calls(self) -> dict[str, ToolCall]:
        """call_id -> every tool call, with its output if one answers it (made when asked: rules
        ask only for the calls without output or with a dropped transport)."""
        return {cid: self.tools.call(j, o) for cid, (j, o) in self._answers.items()}

    def unanswered_calls(self) -> list[ToolCall]:
        """The calls no output answers, in the order of `calls`."""
        return [self.tools.call(j, o) for j, o in self._answers.values() if o is None]

    def dropped_calls(self) -> list[ToolCall]:
        """The calls whose output reports that their transport dropped, in the order of `calls`."""
        dropped = set(self.tools.transports)
        if not dropped:
            return []
        return [self.tools.call(j, o) for j, o in self._answers.values() if o in dropped]

    def thread_calls(self, calls: Iterable[ToolCall] | None = None) -> Iterator[tuple[ToolCall, Turn | None]]:
        """The tool calls (of `calls`, all by default) still part of the thread, each with its turn
        (None outside any turn)."""
        for call in self.calls.values() if calls is None else calls:
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
        events, calls, outputs, transports, ordinals, last_timestamp = kept
        self.records += lines
        known, since, tools = self.history_mode, 0, self.tools
        for i, kind, payload, ts in events:
            self._apply(first + i, kind, payload, ts or "")
            tools.turn_lines.append(first + i)
            tools.turn_current.append(self.lifecycle.current)
            if known is None and self.history_mode is not None:  # ordinals count from session_meta on
                known, since = self.history_mode, i
        tools.extend(first, calls, outputs, transports)
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

    def _apply(self, lineno: int, kind: Any, p: _Payload, ts: str) -> None:
        if kind == "session_meta":
            self.thread_id = self.thread_id or _str(p.id)
            self.cli_version = self.cli_version or _str(p.cli_version)
            self.history_mode = self.history_mode or _str(p.history_mode)
        elif kind == "event_msg":
            self.lifecycle.event(lineno, p, ts)
        elif kind == "compacted":
            self.lifecycle.compacted(lineno, ts)


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


def open_rollout(path: Path, options: ReadOptions | None = None) -> CodexRollout:
    return CodexRollout(path=Path(path), reader=LineReader(Path(path))).read()
