"""Recognise a T3 Code database's schema generation, and say when it cannot be sure."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from threaddoctor.errors import InputError
from threaddoctor.sources.t3code.releases import (
    FOREIGN_NAME,
    LATER_MIGRATIONS,
    MIGRATIONS,
    PLAUSIBLE_NAME,
    Release,
    release_for_migration,
)

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


@dataclass(frozen=True)
class MigrationProblem:
    """A recorded migration that does not match upstream's manifest (#8896)."""

    migration_id: int
    recorded: str | None  # None: the id is missing
    expected: str | None  # None: upstream has no such id that we know of
    reason: str


@dataclass
class SchemaInfo:
    migrations: list[tuple[int, str]]
    release: Release
    tables: set[str]
    columns: dict[str, set[str]] = field(default_factory=dict)
    problems: list[MigrationProblem] = field(default_factory=list)
    unknown_later: list[tuple[int, str]] = field(default_factory=list)
    v2_tables: list[str] = field(default_factory=list)

    @property
    def max_migration(self) -> int:
        return max((i for i, _ in self.migrations), default=0)

    @property
    def certain(self) -> bool:
        """True when the tool knows what every table means (and may later write)."""
        return not self.problems and not self.v2_tables

    @property
    def label(self) -> str:
        later = f", {len(self.unknown_later)} later unknown" if self.unknown_later else ""
        return f"migrations 1-{self.max_migration} ({self.release.name} schema{later})"

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, set())


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
    rows = conn.execute("SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id").fetchall()
    migrations = [(int(i), str(n)) for i, n in rows]
    if not migrations:
        raise InputError(f"{label}: unknown schema: effect_sql_migrations is empty")
    info = SchemaInfo(
        migrations=migrations,
        release=release_for_migration(min(max(i for i, _ in migrations), max(MIGRATIONS))),
        tables=tables,
        v2_tables=sorted(t for t in tables if t.startswith("orchestration_v2_")),
    )
    _check_manifest(info)
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing and not info.problems:
        raise InputError(f"{label}: unknown schema: migrations say {info.label} but table {missing[0]} is missing")
    if max(i for i, _ in migrations) < 13:
        raise InputError(f"{label}: unknown schema: migrations 1-{info.max_migration} predate v0.0.9 (1-13)")
    for t in tables:
        info.columns[t] = _column_names(conn, t)
    return info


def _check_manifest(info: SchemaInfo) -> None:
    recorded = dict(info.migrations)
    for mid, name in info.migrations:
        expected = MIGRATIONS.get(mid) or LATER_MIGRATIONS.get(mid)
        if expected == name:
            continue
        if FOREIGN_NAME.match(name):
            reason = "a migration of the Orchestration V2 branch recorded at an upstream id"
            info.problems.append(MigrationProblem(mid, name, expected, reason))
        elif mid in MIGRATIONS:
            reason = "a different migration recorded at an upstream id (fork or preview build)"
            info.problems.append(MigrationProblem(mid, name, expected, reason))
        elif PLAUSIBLE_NAME.match(name):
            info.unknown_later.append((mid, name))  # a newer release than this tool knows
        else:
            info.problems.append(MigrationProblem(mid, name, expected, "an implausible migration name"))
    for mid in range(1, min(info.max_migration, max(MIGRATIONS)) + 1):
        if mid not in recorded:
            info.problems.append(MigrationProblem(mid, None, MIGRATIONS[mid], "missing: the migrator skipped it"))
