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

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.lines import LineReader

# Errors that leave the turn running (ErrorEvent::affects_turn_status is false only for these).
_ERRORS_THAT_KEEP_THE_TURN = {"thread_rollback_failed", "active_turn_not_steerable"}
_CALLS = {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
_OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
# The envelope Codex writes (serde field order, compact JSON): kind and payload type in the first
# bytes, so most lines are classified without being parsed. Anything else takes the slow path.
_HEAD = re.compile(rb'\{"timestamp":"([^"]*)"(?:,"ordinal":(\d+))?,"type":"(\w+)","payload":\{(?:"type":"(\w+)")?')
_START = b'{"timestamp":'
# Each boundary between two records, "}\n" then the next envelope, with that record's ordinal
# (b"" when it has none). It starts with a literal, so the regex engine jumps from one to the next.
_JOINT = re.compile(rb'\}\n\{"timestamp":"[^"]*"(?:,"ordinal":(\d+))?')
# The records the rules need, matched from the newline before them: the pattern starts with a
# literal, so the regex engine hops from one line start to the next in C and returns only these.
_NEEDED_LINE = re.compile(
    rb'\n\{"timestamp":"([^"]*)"(?:,"ordinal":\d+)?,"type":"(event_msg|response_item)","payload":\{"type":"'
    rb"(task_started|turn_started|task_complete|turn_complete|turn_aborted|error|thread_rolled_back|user_message"
    rb"|function_call|custom_tool_call|local_shell_call|tool_search_call|function_call_output"
    rb'|custom_tool_call_output|local_shell_call_output|tool_search_output)"'
)
_COMPACTED = b'"type":"compacted","payload":'


# Events the turn lifecycle needs; every other event is skipped unparsed.
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
# Turn events read by field extraction (a payload "error" sends them down the full-parse path).
_QUICK_EVENTS = {"task_started", "turn_started", "task_complete", "turn_complete", "turn_aborted"}
_IGNORED_KINDS = {b"turn_context", b"world_state", b"token_usage_record", b"inter_agent_communication"}
# What a tool output says when the transport under it, not the agent, failed (exec-server
# reconnects, Codex PR #23867 and #28512; MCP stdio servers after a blip).
_TRANSPORT = (
    r"transport (?:closed|error)|websocket (?:closed|disconnected)|exec-server (?:session|connection)"
    r"|connection (?:reset|closed) by peer|broken pipe|session (?:was )?(?:closed|lost|not found) after disconnect"
)
TRANSPORT_DROPPED = re.compile(_TRANSPORT, re.IGNORECASE)
# Substrings every phrase above contains (in either case of its first letter): a fast pre-check.
_TRANSPORT_BYTES = re.compile(_TRANSPORT.encode(), re.IGNORECASE)
LIVE_WINDOW_SECONDS = 120  # a rollout written this recently may belong to a running Codex


@dataclass
class ToolCall:
    call_id: str
    kind: str
    name: str
    line: int
    turn: int | None  # index into turns
    output_line: int | None = None
    transport: str | None = None  # what the output says about a dropped transport, if anything


@dataclass
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
        """Whole chunks at C speed when they are clean; line by line only where one is not."""
        expected: int | None = None
        first = 1
        for chunk in self.reader.chunks():
            breaks = self._clean(chunk)
            if breaks is not None:
                expected = self._scan_chunk(first, chunk, breaks, expected)
                first += len(breaks) + 1
            else:
                lines = chunk.splitlines(keepends=True)
                for lineno, raw in self.reader.checked(enumerate(lines, first)):
                    expected = self._line(lineno, raw, expected)
                first += len(lines)
        self.next_ordinal = expected
        return self

    @staticmethod
    def _clean(chunk: bytes) -> list[bytes | None] | None:
        """For a chunk whose every line is one record of Codex's envelope (no NUL, valid UTF-8,
        nothing torn or merged): the ordinals of its lines after the first; else None."""
        if not chunk.endswith(b"}\n") or not chunk.startswith(_START) or b"\x00" in chunk:
            return None
        joints = _JOINT.findall(chunk)  # every "}\n{"timestamp":..." boundary, with its ordinal
        lines = len(joints) + 1
        if chunk.count(_START) != lines or chunk.count(b"\n") != lines:
            return None  # a torn record, a blank line, or two records on one line
        if not chunk.isascii():
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return [j or None for j in joints]

    def _scan_chunk(self, first: int, chunk: bytes, ordinals: list[bytes | None], expected: int | None) -> int | None:
        self.records += len(ordinals) + 1
        if first == 1:  # the session_meta header, before any newline
            self._slow_event(1, chunk[: chunk.index(b"\n") + 1])
        lineno, counted = first, 0
        for m in _NEEDED_LINE.finditer(chunk):
            start = m.start() + 1  # after the newline the match begins with
            lineno += chunk.count(b"\n", counted, start)
            counted = start
            ts, kind, ptype = m.groups()
            self.last_timestamp = ts.decode()
            self._fast(lineno, chunk[start : chunk.index(b"\n", start) + 1], kind, ptype.decode(), m.end() - start)
        if _COMPACTED in chunk:
            self._compacted_in(first, chunk)
        if self.history_mode == "paginated":
            head = _HEAD.match(chunk)
            expected = self._check_chunk_ordinals(first, [head.group(2) if head else None, *ordinals], expected)
        return expected

    def _compacted_in(self, first: int, chunk: bytes) -> None:
        at = chunk.find(_COMPACTED)
        while at != -1:
            start = chunk.rfind(b"\n", 0, at) + 1
            self._line_only(first + chunk.count(b"\n", 0, start), chunk[start : chunk.index(b"\n", at) + 1])
            at = chunk.find(_COMPACTED, at + 1)

    def _line_only(self, lineno: int, raw: bytes) -> None:
        head = _HEAD.match(raw)
        if head is not None:
            _, _, kind, ptype = head.groups()
            self._fast(lineno, raw, kind, ptype.decode() if ptype else None, head.end())

    def _check_chunk_ordinals(self, first: int, ordinals: list[bytes | None], expected: int | None) -> int | None:
        if None not in ordinals and expected is not None:
            values = list(map(int, ordinals))
            if values == list(range(expected, expected + len(values))):  # the usual case, compared in C
                return expected + len(values)
        for i, ordinal in enumerate(ordinals):
            expected = self._check_ordinal(first + i, int(ordinal) if ordinal else None, expected)
        return expected

    def _line(self, lineno: int, raw: bytes, expected: int | None) -> int | None:
        self.records += 1
        head = _HEAD.match(raw)
        if head is None or raw.find(_START, 1) != -1:
            return self._slow(lineno, raw, expected)  # unusual shape, or two records in one line
        ts, ordinal, kind, ptype = head.groups()
        expected = self._check_ordinal(lineno, int(ordinal) if ordinal else None, expected)
        self.last_timestamp = ts.decode()
        self._fast(lineno, raw, kind, ptype.decode() if ptype else None, head.end())
        return expected

    def _slow(self, lineno: int, raw: bytes, expected: int | None) -> int | None:
        record = self.reader.parse(lineno, raw)
        if record is None:
            return expected
        expected = self._check_ordinal(lineno, record.get("ordinal"), expected)
        self.last_timestamp = record.get("timestamp") or self.last_timestamp
        self._apply(lineno, record.get("type"), record.get("payload"), record.get("timestamp") or "")
        return expected

    def _fast(self, lineno: int, raw: bytes, kind: bytes, ptype: str | None, at: int) -> None:
        if kind == b"response_item":
            if ptype in _CALLS:
                self._call_from_bytes(lineno, raw, ptype, at)
            elif ptype in _OUTPUTS:
                self._output_from_bytes(lineno, raw, at)
        elif kind == b"event_msg":
            if ptype in _QUICK_EVENTS and not _has_error(raw, at):
                self._quick_event(lineno, raw, ptype, at)
            elif ptype in _LIFECYCLE and not (ptype == "user_message" and (self.current is not None or self.turns)):
                self._slow_event(lineno, raw)
        elif kind in _IGNORED_KINDS:
            return
        elif kind == b"compacted":
            if self.current is None:
                self._open(None, False, lineno, self.last_timestamp or "")
        else:
            self._slow_event(lineno, raw)  # session_meta and kinds this reader does not know

    def _quick_event(self, lineno: int, raw: bytes, ptype: str, at: int) -> None:
        """The common turn events, read by their two fields instead of a full parse."""
        payload = {"type": ptype, "turn_id": _string_after(raw, b'"turn_id":"', at)}
        if ptype == "turn_aborted":
            payload["reason"] = _string_after(raw, b'"reason":"', at)
        self._event(lineno, payload, self.last_timestamp or "")

    def _slow_event(self, lineno: int, raw: bytes) -> None:
        record = self.reader.parse(lineno, raw)
        if record is not None:
            self._apply(lineno, record.get("type"), record.get("payload"), record.get("timestamp") or "")

    def _call_from_bytes(self, lineno: int, raw: bytes, ptype: str, at: int) -> None:
        cid = _string_after(raw, b'"call_id":"', at)
        if cid is not None:
            name = _string_after(raw, b'"name":"', at) or ptype
            self.calls[cid] = ToolCall(cid, ptype, name, lineno, self.current)

    def _output_from_bytes(self, lineno: int, raw: bytes, at: int) -> None:
        cid = _string_after(raw, b'"call_id":"', at)
        call = self.calls.get(cid) if cid is not None else None
        if call is not None:
            call.output_line = lineno
            dropped = _TRANSPORT_BYTES.search(raw, at) if _may_report_transport(raw) else None
            call.transport = dropped.group(0).decode() if dropped else None

    def _check_ordinal(self, lineno: int, ordinal: Any, expected: int | None) -> int | None:
        if self.history_mode != "paginated":
            return expected
        if not isinstance(ordinal, int):
            self.ordinal_problems.append(OrdinalProblem(lineno, "record without an ordinal"))
            return expected
        if expected is not None and ordinal < expected:
            self.ordinal_problems.append(OrdinalProblem(lineno, f"ordinal {ordinal} reused (expected {expected})"))
            return expected
        if expected is not None and ordinal > expected:
            self.ordinal_problems.append(OrdinalProblem(lineno, f"ordinals {expected}-{ordinal - 1} missing"))
        return ordinal + 1

    def _apply(self, lineno: int, kind: Any, payload: Any, ts: str) -> None:
        if not isinstance(payload, dict):
            return
        if kind == "session_meta":
            self._session_meta(payload)
        elif kind == "event_msg":
            self._event(lineno, payload, ts)
        elif kind == "response_item":
            self._response_item(lineno, payload)
        elif kind == "compacted" and self.current is None:
            self._open(None, False, lineno, ts)

    def _session_meta(self, p: dict[str, Any]) -> None:
        self.thread_id = self.thread_id or p.get("id")
        self.cli_version = self.cli_version or p.get("cli_version")
        self.history_mode = self.history_mode or p.get("history_mode")

    def _event(self, lineno: int, p: dict[str, Any], ts: str) -> None:
        etype = p.get("type")
        if etype in ("task_started", "turn_started"):
            if self.current is not None:
                self._end("completed", lineno, "finished by the next task_started")
            self._open(p.get("turn_id"), True, lineno, ts)
        elif etype in ("task_complete", "turn_complete"):
            error = p.get("error")  # a failed turn ends with task_complete carrying its error (cli 0.169)
            if error:
                message = error.get("message") if isinstance(error, dict) else str(error)
                self._end("failed", lineno, str(message or "error"))
            else:
                self._end("completed", lineno, "")
        elif etype == "turn_aborted":
            self._end("aborted", lineno, str(p.get("reason") or ""))
        elif etype == "error":
            info = p.get("codex_error_info")
            name = next(iter(info), None) if isinstance(info, dict) else info
            if name not in _ERRORS_THAT_KEEP_THE_TURN:
                self._end("failed", lineno, str(p.get("message") or name or "error"))
        elif etype == "thread_rolled_back":
            self._roll_back(int(p.get("num_turns") or 0))
        elif etype == "user_message" and self.current is None and not self.has_explicit_turns:
            self._open(None, False, lineno, ts)

    def _response_item(self, lineno: int, p: dict[str, Any]) -> None:
        ptype, call_id = p.get("type"), p.get("call_id") or p.get("id")
        if not isinstance(call_id, str):
            return
        if ptype in _CALLS:
            name = p.get("name") or ptype
            self.calls[call_id] = ToolCall(call_id, ptype, str(name), lineno, self.current)
        elif ptype in _OUTPUTS and call_id in self.calls:
            call = self.calls[call_id]
            call.output_line = lineno
            dropped = TRANSPORT_DROPPED.search(_output_text(p.get("output")))
            call.transport = dropped.group(0) if dropped else None

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


def _may_report_transport(raw: bytes) -> bool:
    """A fast pre-check: every phrase of _TRANSPORT contains one of these (in either first-letter case)."""
    return (
        b"ransport" in raw
        or b"ebsocket" in raw
        or b"xec-server" in raw
        or b"by peer" in raw
        or b"roken pipe" in raw
        or b"fter disconnect" in raw
        or b"RANSPORT" in raw
        or b"EBSOCKET" in raw
        or b"XEC-SERVER" in raw
        or b"BY PEER" in raw
        or b"ROKEN PIPE" in raw
        or b"FTER DISCONNECT" in raw
    )


def _has_error(raw: bytes, at: int) -> bool:
    at = raw.find(b'"error":', at)
    return at != -1 and not raw.startswith(b'"error":null', at)


def _string_after(raw: bytes, key: bytes, start: int) -> str | None:
    """The JSON string value after `key` (which ends with its opening quote), unescaped."""
    at = raw.find(key, start)
    if at == -1:
        return None
    begin = end = at + len(key)
    while (end := raw.find(b'"', end)) != -1:
        backslashes = 0
        while raw[end - 1 - backslashes] == 0x5C:  # a quote after an odd number of \ is escaped
            backslashes += 1
        if backslashes % 2 == 0:
            break
        end += 1
    if end == -1:
        return None
    value = raw[begin:end]
    return json.loads(b'"' + value + b'"') if b"\\" in value else value.decode()


def open_rollout(path: Path) -> CodexRollout:
    return CodexRollout(path=Path(path), reader=LineReader(Path(path))).read()
