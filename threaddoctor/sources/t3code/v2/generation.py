"""Tell an Orchestration V2 database (`statev2.sqlite`) from a V1 one.

A small stand-in until the ledger recogniser of releases.py/schema.py tells the generation
(issue 17, item 1): V2 when the V2 projection tables are there and the ledger records
OrchestrationV2 at 50 (the September split build), 53/54 (the published previews) or 55 (main).
A fork that recorded it at 41 (`copilot-v2`, #8896) is a collision, not a V2 file."""

from __future__ import annotations

import sqlite3

V2_MARK_TABLE = "orchestration_v2_projection_threads"
V2_LEDGER_NAME = "OrchestrationV2"
V2_LEDGER_IDS = (50, 53, 54, 55)


def is_orchestration_v2(tables: set[str], ledger: list[tuple[int, str]]) -> bool:
    return V2_MARK_TABLE in tables and any(n == V2_LEDGER_NAME and i in V2_LEDGER_IDS for i, n in ledger)


def database_is_v2(conn: sqlite3.Connection) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "effect_sql_migrations" not in tables:
        return False
    ledger = [(int(i), str(n)) for i, n in conn.execute("SELECT migration_id, name FROM effect_sql_migrations")]
    return is_orchestration_v2(tables, ledger)
