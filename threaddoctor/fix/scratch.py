"""A scratch copy of some threads, in memory: where a dry run plays the repair.

The copy has the source's own DDL (so columns of newer releases come along), the threads' rows in
every thread-keyed table and their events, and the global bookkeeping (migrations, cursors,
AUTOINCREMENT counters), so events appended to it get the sequences the real repair would."""

from __future__ import annotations

import sqlite3

from threaddoctor.fix.images import thread_tables
from threaddoctor.sources.t3code.reader import Snapshot, readonly_uri

_WHOLE = ("effect_sql_migrations", "projection_state", "sqlite_sequence")


def scratch_copy(snapshot: Snapshot, thread_ids: list[str]) -> sqlite3.Connection:
    mem = sqlite3.connect("file:threaddoctor-scratch?mode=memory", uri=True, isolation_level=None)
    params = "mode=ro&immutable=1" if snapshot.immutable else "mode=ro"
    mem.execute("ATTACH DATABASE ? AS src", (readonly_uri(snapshot.path, params),))
    schema = mem.execute(
        "SELECT type, name, sql FROM src.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY type = 'index', rowid"
    ).fetchall()
    for _, _, sql in schema:
        mem.execute(sql)
    marks = ", ".join("?" for _ in thread_ids)
    for table in thread_tables(mem):
        mem.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table} WHERE thread_id IN ({marks})", thread_ids)
    mem.execute(
        "INSERT INTO main.orchestration_events SELECT * FROM src.orchestration_events "
        f"WHERE aggregate_kind = 'thread' AND stream_id IN ({marks})",
        thread_ids,
    )
    for table in _WHOLE:
        mem.execute(f"DELETE FROM main.{table}")
        mem.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    mem.execute("DETACH DATABASE src")
    return mem
