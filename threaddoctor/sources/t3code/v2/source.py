"""`statev2.sqlite` as the V2 rules see it: the V2 projection tables, V2 events, the cursor.

Opened like the V1 file (reader.open_readonly: `mode=ro`, `immutable` only while no `-wal`
exists, one read transaction), and behind the same Source interface. Whether a live server
holds the file decides what a non-terminal row means: with one it may still be streaming, without
one it was cut off, and the app's next start-up recovery will settle part of it (§4.4)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threaddoctor.errors import InputError
from threaddoctor.findings import EvidenceItem, Finding, Location
from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.t3code.ledger import Ledger, classify
from threaddoctor.sources.t3code.reader import Snapshot, open_readonly
from threaddoctor.sources.t3code.v2.generation import V2_MARK_TABLE, is_orchestration_v2
from threaddoctor.sources.t3code.v2.vocabulary import (
    BACKGROUND_ITEM_TYPES,
    LIVE_NODE,
    LIVE_RUN,
    THREAD_PROJECTIONS,
    V1_FILE_NAME,
    V2_THREAD_EVENTS,
)

# The V2 tables every rule reads; without them the file is not one the rules understand.
REQUIRED = (
    "orchestration_events",
    "orchestration_v2_projection_threads",
    "orchestration_v2_projection_runs",
    "orchestration_v2_projection_runtime_requests",
    "orchestration_v2_projection_provider_sessions",
    "orchestration_v2_projection_metadata",
)


@dataclass
class V2Source:
    """An open, read-only Orchestration V2 database (or the scratch copy of its export)."""

    path: Path
    snapshot: Snapshot
    tables: set[str]
    ledger: list[tuple[int, str]]
    server_pid: int | None = None  # a live T3 Code server recorded beside the file
    is_copy: bool = False  # an export: no server can hold it, no sibling file to compare
    deep: bool = False  # check every projection payload, not only what the app reads at start
    decoded: int = 0
    _memo: dict[str, Any] = field(default_factory=dict)

    kinds = ("t3code-v2", "t3code-ledger")

    @property
    def migration_ledger(self) -> Ledger:
        return classify(sorted(self.ledger))

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def description(self) -> str:
        top = max((i for i, _ in self.ledger), default=0)
        return f"Orchestration V2 (statev2.sqlite), migrations 1-{top}"

    @property
    def conn(self) -> sqlite3.Connection:
        return self.snapshot.conn

    def uncertain(self) -> str | None:
        missing = [t for t in REQUIRED if t not in self.tables]
        return f"the V2 table {missing[0]} is missing" if missing else None

    def cannot_run(self, rule: object) -> str | None:
        return "the V2 tables it reads are incomplete"

    def notes(self) -> list[str]:
        return []

    def read_again(self, error: Exception | None) -> None:
        return None  # open_v2 already read again when a writer overtook the immutable read

    def thread_title(self, thread_id: str) -> str | None:
        row = self.row("SELECT title FROM orchestration_v2_projection_threads WHERE thread_id = ?", (thread_id,))
        return row["title"] if row else None

    def events_decoded(self) -> int:
        return self.decoded

    def maybe_live(self) -> bool:
        """For `fix`: a live server may be writing the file."""
        return self.server_alive

    def line_of(self, finding: Finding) -> int | None:
        return None

    def locate(self, finding: Finding) -> Location:
        parts = ["thread", finding.thread_id] if finding.thread_id else []
        if finding.subject and finding.subject != finding.thread_id:
            parts += [finding.subject]
        return Location(path=self.label, line=self.line_of(finding), logical="/".join(parts) or "database")

    def close(self) -> None:
        self.conn.close()

    # ---- rows ----------------------------------------------------------------------------
    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def row(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql + " LIMIT 1", args)
        return found[0] if found else None

    def has(self, table: str) -> bool:
        return table in self.tables

    def memo(self, key: str, compute: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # ---- what the rules ask ----------------------------------------------------------------
    @property
    def server_alive(self) -> bool:
        return self.server_pid is not None

    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        """A projection row's payload_json, decoded ({} when it does not decode: T3107 reports that)."""
        self.decoded += 1
        try:
            value = json.loads(row.get("payload_json") or "")
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def projection_cursor(self) -> dict[str, Any] | None:
        return self.row(
            "SELECT schema_version, last_sequence, updated_at FROM orchestration_v2_projection_metadata "
            "WHERE projection_name = ?",
            (THREAD_PROJECTIONS,),
        )

    def latest_v2_sequence(self) -> int:
        """The newest V2 thread event. UNVERIFIED which high-water mark verify() compares the cursor
        with; V2 thread events are what the thread projections apply, and a file freshly migrated by
        055 (cursor seeded from the then-empty private V2 log) is consistent by this measure."""

        # ORDER BY ... LIMIT 1 walks (application_event_version, sequence) from its end; MAX() with
        # the aggregate_kind term reads every version-2 row.
        def newest() -> int:
            row = self.conn.execute(
                f"SELECT sequence FROM orchestration_events WHERE {V2_THREAD_EVENTS} ORDER BY sequence DESC LIMIT 1"
            ).fetchone()
            return row[0] if row else 0

        return self.memo("latest", newest)

    def indexed_by(self, index: str) -> str:
        """`INDEXED BY index` when the file has it: the planner, with no statistics, prefers the
        stream index to 055's partial ones and reads every thread row."""
        if "indexes" not in self._memo:
            self._memo["indexes"] = {
                r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            }
        return f"INDEXED BY {index}" if index in self._memo["indexes"] else ""

    def recovery_threads(self) -> set[str]:
        """The threads start-up recovery reads (getRecoveryThreadIds): a run not settled, a pending
        request, or background work still live; through 055's recovery indexes."""

        def compute() -> set[str]:
            queries = (
                f"SELECT thread_id FROM orchestration_v2_projection_runs WHERE status IN ({_marks(LIVE_RUN)})",
                "SELECT thread_id FROM orchestration_v2_projection_runtime_requests WHERE status = 'pending'",
                "SELECT thread_id FROM orchestration_v2_projection_turn_items WHERE type IN "
                f"({_marks(BACKGROUND_ITEM_TYPES)}) AND status IN ({_marks(LIVE_NODE)})",
            )
            return {r[0] for q in queries if _table_of(q) in self.tables for r in self.conn.execute(q)}

        return self.memo("recovery-threads", compute)

    def thread_last_event(self, thread_id: str) -> str | None:
        r = self.conn.execute(
            f"SELECT MAX(occurred_at) FROM orchestration_events WHERE {V2_THREAD_EVENTS} AND stream_id = ?",
            (thread_id,),
        ).fetchone()
        return r[0] if r else None

    def stable_file(self) -> Path | None:
        """The V1 `state.sqlite` beside this file, which the one-time copy was taken from."""
        if self.is_copy:
            return None
        sibling = self.path.parent / V1_FILE_NAME
        return sibling if sibling.is_file() and sibling.resolve() != self.path.resolve() else None


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _table_of(sql: str) -> str:
    return sql.split(" FROM ", 1)[1].split()[0]


def row_evidence(table: str, key: dict[str, Any], values: dict[str, Any], description: str) -> EvidenceItem:
    return EvidenceItem(kind="row", table=table, key=key, values=values, description=description)


def _read_ledger(conn: sqlite3.Connection, label: str) -> tuple[set[str], list[tuple[int, str]]]:
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = conn.execute("SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id").fetchall()
    except sqlite3.DatabaseError as e:
        raise InputError(f"{label}: cannot read the database ({e})") from None
    ledger = [(int(i), str(n)) for i, n in rows]
    if not is_orchestration_v2(tables, ledger):
        raise InputError(f"{label}: not an Orchestration V2 database (no {V2_MARK_TABLE} with its ledger row)")
    return tables, ledger


def source_on(snapshot: Snapshot, label: str, is_copy: bool = False) -> V2Source:
    from threaddoctor.fix.guard import running_server_pid

    tables, ledger = _read_ledger(snapshot.conn, label)
    pid = None if is_copy else running_server_pid(snapshot.path)
    return V2Source(path=Path(label), snapshot=snapshot, tables=tables, ledger=ledger, server_pid=pid, is_copy=is_copy)


def open_v2(path: Path, options: ReadOptions | None = None) -> V2Source:
    """The registry's opener for `t3code-v2`. An immutable read that a writer overtook is read
    again in `mode=ro` (the same care as the V1 reader). `options.deep`: T3107 checks every
    projection row."""
    snapshot = open_readonly(path)
    try:
        src = source_on(snapshot, str(path))
    except BaseException:
        snapshot.conn.close()
        raise
    if not snapshot.still_valid():
        src.close()
        src = source_on(open_readonly(path, allow_immutable=False), str(path))
    src.deep = (options or ReadOptions()).deep
    return src
