"""Codex's SQLite state (`state_<N>.sqlite`, `thread_history_<N>.sqlite`), opened read-only.

The rollout is authoritative and these databases are projections of it, rebuilt by backfill
(reference §1.6). Two of their tables can hold a stuck thread: `thread_turns` (a turn left
`inProgress`, #40563) and `thread_queued_turns` (a row stuck `dispatching`, or a `failed` head that
blocks every pending turn behind it). Version 0.169.0 keeps its queue in `queue_1.sqlite` without
states; the queued-turn rule applies only where `thread_queued_turns` exists.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threaddoctor.findings import Finding, Location
from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.files.liveness import Liveable, first_holder
from threaddoctor.sources.t3code.reader import Snapshot, open_readonly


@dataclass
class CodexStateDb(Liveable):
    path: Path
    snapshot: Snapshot
    tables: set[str]

    kinds = ("codex-sqlite",)

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def description(self) -> str:
        parts = [t for t in ("thread_turns", "thread_queued_turns", "threads") if t in self.tables]
        return f"Codex SQLite state ({', '.join(parts) or 'no thread tables'})"

    def uncertain(self) -> str | None:
        return None

    def cannot_run(self, rule: object) -> str | None:
        return None

    def notes(self) -> list[str]:
        return []

    def read_again(self, error: Exception | None) -> None:
        return None

    def thread_title(self, thread_id: str) -> str | None:
        if "threads" not in self.tables:
            return None
        row = self.row("SELECT title FROM threads WHERE id = ?", (thread_id,))
        return row["title"] if row and row.get("title") else None

    def events_decoded(self) -> int:
        return 0

    def close(self) -> None:
        self.snapshot.conn.close()

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.snapshot.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def row(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql + " LIMIT 1", args)
        return found[0] if found else None

    def written_files(self) -> list[Path]:
        return [self.path, Path(f"{self.path}-wal")]

    def open_files(self) -> list[Path]:
        return self.written_files()

    def newest_record_at(self) -> float | None:
        """The newest time a turn or queued turn row carries (epoch seconds; the queue's are in ms)."""
        found: list[float] = []
        for table, columns, scale in (
            ("thread_turns", "MAX(started_at), MAX(completed_at)", 1),
            ("thread_queued_turns", "MAX(created_at_ms), MAX(updated_at_ms)", 1000),
        ):
            if table in self.tables:
                try:
                    found += [n / scale for n in _numbers(self.row(f"SELECT {columns} FROM {table}"))]
                except sqlite3.Error:
                    continue  # a schema without these columns: no time to go by
        return max(found, default=None)

    def locate(self, finding: Finding) -> Location:
        parts = ["thread", finding.thread_id] if finding.thread_id else []
        if finding.turn_id:
            parts += ["turn", finding.turn_id]
        if finding.subject:
            parts += [finding.subject]
        return Location(path=self.label, line=None, logical="/".join(parts) or "database")


def _numbers(row: dict[str, Any] | None) -> list[float]:
    return [float(v) for v in (row or {}).values() if isinstance(v, int | float)]


def open_state_db(path: Path, options: ReadOptions | None = None) -> CodexStateDb:
    path = Path(path)
    holder = first_holder([path, Path(f"{path}-wal")])  # asked before our own connection holds it too
    snapshot = open_readonly(path)
    tables = {r[0] for r in snapshot.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db = CodexStateDb(path=path, snapshot=snapshot, tables=tables)
    db.__dict__["_holder"] = holder
    return db
