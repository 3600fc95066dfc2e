"""Recognise a T3 Code database's schema generation, and say when it cannot be sure."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from threaddoctor.errors import InputError
from threaddoctor.sources.t3code.ledger import Divergence, Ledger, classify, read_rows
from threaddoctor.sources.t3code.releases import Release

# Tables every generation from v0.0.9 on has; without them the rules have nothing to read.
CORE_TABLES = (
    "orchestration_events",
    "projection_threads",
    "projection_thread_sessions",
    "projection_turns",
    "projection_thread_messages",
    "projection_thread_activities",
    "projection_pending_approvals",
    "projection_state",
)


@dataclass
class SchemaInfo:
    ledger: Ledger
    tables: set[str]
    columns: dict[str, set[str]] = field(default_factory=dict)
    v2_tables: list[str] = field(default_factory=list)

    @property
    def migrations(self) -> list[tuple[int, str]]:
        return list(self.ledger.rows)

    @property
    def release(self) -> Release:
        return self.ledger.release

    @property
    def problems(self) -> tuple[Divergence, ...]:
        return self.ledger.divergences

    @property
    def max_migration(self) -> int:
        return self.ledger.max_id

    @property
    def certain(self) -> bool:
        """True when the tool knows what every table means (and may later write)."""
        return self.ledger.status == "recognised" and self.ledger.generation == "v1" and not self.v2_tables

    @property
    def label(self) -> str:
        return self.ledger.label

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, set())

    def missing(self, reads: tuple[str, ...]) -> list[str]:
        """Which of `table` / `table.column` names are not in this database."""
        out = []
        for name in reads:
            table, _, column = name.partition(".")
            if table not in self.tables or (column and not self.has_column(table, column)):
                out.append(name)
        return out


# Plain queries of the catalogue, nothing set on the connection (it is read-only and stays
# untouched). sqlite-utils did this before; importing it (click, pluggy, dateutil, its plugins'
# entry points) took a third of a T3 Code scan's start-up.
def _table_names(conn: sqlite3.Connection) -> set[str]:
    return {str(name) for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _column_names(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(name) for (name,) in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def read_schema(conn: sqlite3.Connection, label: str) -> SchemaInfo:
    try:
        tables = _table_names(conn)
    except sqlite3.DatabaseError as e:
        raise InputError(f"{label}: not a SQLite database ({e})") from None
    if "orchestration_events" not in tables:
        what = "an empty database" if not tables else "not a T3 Code database"
        raise InputError(f"{label}: {what} (no orchestration_events table)")
    if "effect_sql_migrations" not in tables:
        raise InputError(f"{label}: unknown schema: no effect_sql_migrations table to tell its generation")
    rows = read_rows(conn)
    if not rows:
        raise InputError(f"{label}: unknown schema: effect_sql_migrations is empty")
    info = SchemaInfo(
        ledger=classify(rows),
        tables=tables,
        v2_tables=sorted(t for t in tables if t.startswith("orchestration_v2_")),
    )
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing and info.ledger.status == "recognised":
        raise InputError(f"{label}: unknown schema: migrations say {info.label} but table {missing[0]} is missing")
    if info.max_migration < 13:
        raise InputError(f"{label}: unknown schema: migrations 1-{info.max_migration} predate v0.0.9 (1-13)")
    for t in tables:
        info.columns[t] = _column_names(conn, t)
    return info
