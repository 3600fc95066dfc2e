"""Tell an Orchestration V2 database (`statev2.sqlite`) from a V1 one.

V2 when the V2 projection tables are there and the ledger is a V2 one (ledger.py): upstream's 55
OrchestrationV2 and later, the published previews' 53/54 OrchestrationV2, the September split
build's 50-61, or a newer build's after 61. A fork that recorded OrchestrationV2 at 41
(`copilot-v2`, #8896) is a collision in a V1 file, not a V2 file."""

from __future__ import annotations

import sqlite3

from threaddoctor.sources.t3code.ledger import classify

V2_MARK_TABLE = "orchestration_v2_projection_threads"


def is_orchestration_v2(tables: set[str], ledger: list[tuple[int, str]]) -> bool:
    return V2_MARK_TABLE in tables and bool(ledger) and classify(sorted(ledger)).generation == "v2"


def database_is_v2(conn: sqlite3.Connection) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "effect_sql_migrations" not in tables:
        return False
    ledger = [(int(i), str(n)) for i, n in conn.execute("SELECT migration_id, name FROM effect_sql_migrations")]
    return is_orchestration_v2(tables, ledger)
