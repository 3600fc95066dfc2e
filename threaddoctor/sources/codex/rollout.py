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

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threaddoctor.findings import Finding, Location
from threaddoctor.sources.files.lines import LineReader

# Errors that leave the turn running (ErrorEvent::affects_turn_status is false only for these).
_ERRORS_THAT_KEEP_THE_TURN = {"thread_rollback_failed", "active_turn_not_steerable"}
_CALLS = {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call"}
_OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
# Response items whose bodies are never needed: decided from the first bytes, never parsed.
_SKIP_PAYLOAD = re.compile(rb'"type":"response_item"(?:,"ordinal":\d+)?,"payload":\{"type":"(?:message|reasoning)"')
# What a tool output says when the transport under it, not the agent, failed (exec-server
# reconnects, Codex PR #23867 and #28512; MCP stdio servers after a blip).
TRANSPORT_DROPPED = re.compile(
    r"transport (?:closed|error)|websocket (?:closed|disconnected)|exec-server (?:session|connection)"
    r"|connection (?:reset|closed) by peer|broken pipe|session (?:was )?(?:closed|lost|not found) after disconnect",
    re.IGNORECASE,
)
LIVE_WINDOW_SECONDS = 120  # a rollout written this recently may belong to a running Codex


@dataclass
class ToolCall:
    call_id: str
    kind: str
    name: str
    line: int
    turn: int | None  # index into turns
    output_line: int | None = None
    output_text: str = ""


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
class CodexRollout:
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

    kinds = ("codex-rollout", "jsonl")

    @property
    def label(self) -> str:
        return str(self.path)

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

    def uncertain(self) -> str | None:
        return None

    def thread_title(self, thread_id: str) -> str | None:
        return None

    def events_decoded(self) -> int:
        return self.records

    def close(self) -> None:
        return None

    def maybe_live(self) -> bool:
        """Written moments ago: Codex may still be running this thread."""
        try:
            return time.time() - os.stat(self.path).st_mtime < LIVE_WINDOW_SECONDS
        except OSError:
            return False

    def locate(self, finding: Finding) -> Location:
        line = next((e.key.get("line") for e in finding.evidence if e.key and "line" in e.key), None)
        parts = ["thread", finding.thread_id] if finding.thread_id else []
        if finding.turn_id:
            parts += ["turn", finding.turn_id]
        if finding.subject:
            parts += ["item", finding.subject]
        return Location(path=self.label, line=line, logical="/".join(parts) or "file")

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> CodexRollout:
        expected_ordinal: int | None = None
        for lineno, raw in self.reader.raw():
            if _SKIP_PAYLOAD.search(raw, 0, 200):
                self.records += 1
                expected_ordinal = self._ordinal_from_bytes(lineno, raw, expected_ordinal)
                continue
            record = self.reader.parse(lineno, raw)
            if record is None:
                continue
            self.records += 1
            expected_ordinal = self._check_ordinal(lineno, record.get("ordinal"), expected_ordinal)
            self.last_timestamp = record.get("timestamp") or self.last_timestamp
            self._apply(lineno, record.get("type"), record.get("payload"), record.get("timestamp") or "")
        return self

    def _ordinal_from_bytes(self, lineno: int, raw: bytes, expected: int | None) -> int | None:
        if self.history_mode != "paginated":
            return expected
        match = re.search(rb'"ordinal":(\d+)', raw[:200])
        return self._check_ordinal(lineno, int(match.group(1)) if match else None, expected)

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
            call.output_text = _output_text(p.get("output"))[:2000]

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


def open_rollout(path: Path) -> CodexRollout:
    return CodexRollout(path=Path(path), reader=LineReader(Path(path))).read()
