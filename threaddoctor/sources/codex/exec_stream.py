"""`codex exec --json` output (what CI logs hold) as rules see it.

Each line is a ThreadEvent (codex-rs/exec/src/exec_events.rs): thread.started, turn.started,
turn.completed, turn.failed, item.started/updated/completed, error. The stream drops the
app-server's `willRetry` flag, so a retry prints `{"type":"error","message":"Reconnecting... 1/5
(...)"}` exactly like a fatal error (reference §1.5; recorded from codex-cli 0.169.0). This reader
groups each turn's errors so the rules can tell a recovered reconnect from exhausted retries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.lines import LineReader

RECONNECT = re.compile(r"^Reconnecting\.\.\.\s*(\d+)/(\d+)")


@dataclass
class ExecError:
    line: int
    message: str

    @property
    def reconnect(self) -> tuple[int, int] | None:
        m = RECONNECT.match(self.message)
        return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass
class ExecTurn:
    index: int  # 1-based position in the stream: the stream has no turn ids
    line: int
    state: str = "in_progress"  # in_progress, completed, failed
    end_line: int | None = None
    failure: str = ""
    errors: list[ExecError] = field(default_factory=list)
    items_after_errors: int = 0  # items that arrived after the last error: the turn went on
    open_items: dict[str, int] = field(default_factory=dict)  # item id -> line of item.started

    @property
    def reconnects(self) -> list[ExecError]:
        return [e for e in self.errors if e.reconnect]


@dataclass
class CodexExecStream(LogSource):
    path: Path
    reader: LineReader
    thread_id: str | None = None
    turns: list[ExecTurn] = field(default_factory=list)
    records: int = 0

    kinds = ("codex-exec", "jsonl")

    @property
    def description(self) -> str:
        return f"codex exec --json stream, {len(self.turns)} turn(s)"

    def read(self) -> CodexExecStream:
        for lineno, record in self.reader.records():
            self.records += 1
            self._apply(lineno, record)
        return self

    def _apply(self, lineno: int, r: dict[str, Any]) -> None:
        etype = r.get("type")
        turn = self.turns[-1] if self.turns and self.turns[-1].state == "in_progress" else None
        if etype == "thread.started":
            self.thread_id = self.thread_id or r.get("thread_id")
        elif etype == "turn.started":
            self.turns.append(ExecTurn(len(self.turns) + 1, lineno))
        elif etype == "error" and turn is not None:
            turn.errors.append(ExecError(lineno, str(r.get("message") or "")))
            turn.items_after_errors = 0
        elif etype in ("item.started", "item.updated", "item.completed") and turn is not None:
            self._item(turn, lineno, etype, r.get("item") or {})
        elif etype in ("turn.completed", "turn.failed") and turn is not None:
            turn.state = "completed" if etype == "turn.completed" else "failed"
            turn.end_line = lineno
            error = r.get("error") or {}
            turn.failure = str(error.get("message") or "") if isinstance(error, dict) else str(error)

    def _item(self, turn: ExecTurn, lineno: int, etype: str, item: dict[str, Any]) -> None:
        turn.items_after_errors += 1
        item_id = str(item.get("id") or "")
        if etype == "item.started":
            turn.open_items[item_id] = lineno
        elif etype == "item.completed":
            turn.open_items.pop(item_id, None)


def open_exec_stream(path: Path, options: ReadOptions | None = None) -> CodexExecStream:
    return CodexExecStream(path=Path(path), reader=LineReader(Path(path))).read()
