"""Row images of the threads a repair touches: what the journal keeps so undo can restore them.

An image holds every row, all columns, of the given threads in every table keyed by thread_id,
plus the projector cursors and the AUTOINCREMENT counters, which appending events moves."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

Image = dict[str, list[dict[str, Any]]]

_GLOBAL = ("projection_state", "sqlite_sequence")


def thread_tables(conn: sqlite3.Connection) -> list[str]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [t for t in tables if any(c[1] == "thread_id" for c in conn.execute(f"PRAGMA table_info('{t}')"))]


def _rows(conn: sqlite3.Connection, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, list(args))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def capture(conn: sqlite3.Connection, thread_ids: list[str]) -> Image:
    marks = ", ".join("?" for _ in thread_ids)
    image: Image = {}
    for table in thread_tables(conn):
        image[table] = _rows(conn, f"SELECT * FROM {table} WHERE thread_id IN ({marks}) ORDER BY rowid", thread_ids)
    for table in _GLOBAL:
        image[table] = _rows(conn, f"SELECT * FROM {table} ORDER BY 1")
    return image


def restore(conn: sqlite3.Connection, thread_ids: list[str], image: Image) -> None:
    """Make the threads' rows, the cursors and the counters exactly what `image` holds."""
    marks = ", ".join("?" for _ in thread_ids)
    for table, rows in image.items():
        if table in _GLOBAL:
            conn.execute(f"DELETE FROM {table}")
        else:
            conn.execute(f"DELETE FROM {table} WHERE thread_id IN ({marks})", thread_ids)
        for row in rows:
            cols = list(row)
            conn.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols],
            )


def _key_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    cols = sorted((c[5], c[1]) for c in conn.execute(f"PRAGMA table_info('{table}')") if c[5] > 0)
    return [name for _, name in cols]


def diff(conn: sqlite3.Connection, before: Image, after: Image) -> list[dict[str, Any]]:
    """Every row inserted, changed or deleted between two images, keyed by primary key."""
    changes: list[dict[str, Any]] = []
    for table in sorted(set(before) | set(after)):
        keys = _key_columns(conn, table) if table != "sqlite_sequence" else ["name"]

        def index(rows: list[dict[str, Any]], keys: list[str] = keys) -> dict[tuple, dict[str, Any]]:
            return {tuple(r[k] for k in keys) if keys else tuple(r.values()): r for r in rows}

        old, new = index(before.get(table, [])), index(after.get(table, []))
        for key in sorted(set(old) | set(new), key=str):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            changed = sorted(c for c in (b or a or {}) if (a or {}).get(c) != (b or {}).get(c))
            changes.append(
                {
                    "table": table,
                    "key": dict(zip(keys, key, strict=False)) if keys else {},
                    "action": "insert" if a is None else "delete" if b is None else "update",
                    "changed": changed,
                    "before": a,
                    "after": b,
                }
            )
    return changes
