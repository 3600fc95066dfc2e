"""Write a planned step the way T3 Code itself would: corrective events with real envelopes,
projected by the release's projector in the same transaction (reference §4.4)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from threaddoctor.findings import PlannedEvent, RowChange
from threaddoctor.sources.t3code.projector import EventRow, Projector
from threaddoctor.sources.t3code.vocabulary import iso_now

COMMAND_PREFIX = "server:threaddoctor:"


def append_event(conn: sqlite3.Connection, projector: Projector, step: PlannedEvent) -> dict[str, Any]:
    """Append one event (sequence from AUTOINCREMENT, new event id, the stream's next version,
    command id `server:threaddoctor:<uuid>` = correlation id, actor server) and project it."""
    version = conn.execute(
        "SELECT COALESCE(MAX(stream_version) + 1, 0) FROM orchestration_events WHERE aggregate_kind = ? AND stream_id = ?",
        (step.aggregate_kind, step.stream_id),
    ).fetchone()[0]
    now = iso_now()
    command_id = f"{COMMAND_PREFIX}{uuid.uuid4()}"
    row = {
        "event_id": str(uuid.uuid4()),
        "aggregate_kind": step.aggregate_kind,
        "stream_id": step.stream_id,
        "stream_version": version,
        "event_type": step.event_type,
        "occurred_at": now,
        "command_id": command_id,
        "causation_event_id": None,
        "correlation_id": command_id,
        "actor_kind": "server",
        "payload_json": json.dumps(step.payload, separators=(",", ":"), ensure_ascii=False),
        "metadata_json": json.dumps(step.metadata, separators=(",", ":")),
    }
    cur = conn.execute(
        f"INSERT INTO orchestration_events ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
        list(row.values()),
    )
    row["sequence"] = int(cur.lastrowid or 0)
    projector.apply(
        EventRow(
            row["sequence"], step.event_type, step.stream_id, now, step.payload, step.metadata, step.aggregate_kind
        )
    )
    return row


def change_row(conn: sqlite3.Connection, step: RowChange) -> None:
    """A direct projection-row change (only where the app's projector would make it and no
    event can). The `before` image must still match, or the database changed since planning."""
    where = " AND ".join(f"{k} = ?" for k in step.key)
    current = conn.execute(f"SELECT COUNT(*) FROM {step.table} WHERE {where}", list(step.key.values())).fetchone()[0]
    if step.action == "insert-row" and step.after:
        if current != 0:
            raise StaleStep(f"{step.table} row {step.key} exists already")
        values = {**step.key, **step.after}
        conn.execute(
            f"INSERT INTO {step.table} ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            list(values.values()),
        )
        return
    if current != 1:
        raise StaleStep(f"{step.table} row {step.key} is no longer there")
    if step.action == "delete-row":
        conn.execute(f"DELETE FROM {step.table} WHERE {where}", list(step.key.values()))
    elif step.action == "update-row" and step.after:
        sets = ", ".join(f"{k} = ?" for k in step.after)
        conn.execute(f"UPDATE {step.table} SET {sets} WHERE {where}", [*step.after.values(), *step.key.values()])
    else:
        raise StaleStep(f"unsupported row change {step.action}")


class StaleStep(Exception):
    """The database no longer matches the plan."""
