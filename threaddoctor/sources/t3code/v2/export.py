"""`threaddoctor export` of a `statev2.sqlite`: the same JSONL as a V1 export (export.py), with
the header marked `"orchestration": "v2"`, every orchestration_events row (both versions, with
application_event_version) and the rows of the V2 tables the V2 rules read, under the same
redaction (redact.py)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from threaddoctor.sources.t3code.export import FORMAT, FORMAT_VERSION, ExportSummary, _event_record, _line, write_export
from threaddoctor.sources.t3code.redact import redact_payload, redact_v2, redact_v2_row
from threaddoctor.sources.t3code.v2.source import V2Source, open_v2
from threaddoctor.sources.t3code.v2.vocabulary import PAYLOAD_TABLES
from threaddoctor.sources.t3code.vocabulary import iso_now
from threaddoctor.version import __version__

ROW_TABLES = (
    *PAYLOAD_TABLES,
    "orchestration_v2_projection_metadata",
    "orchestration_v2_effect_outbox",
    "orchestration_v2_legacy_imports",
)
_BATCH = 2000


def export_v2(db: Path, out: Path, threads: list[str] | None = None, redact: bool = False) -> ExportSummary:
    src = open_v2(Path(db).expanduser())
    return write_export(src, db, out, threads, redact, "orchestration_v2_projection_threads", _write)


def _write(src: V2Source, f: IO[str], threads: list[str] | None, redact: bool) -> ExportSummary:
    tables = ("orchestration_events", "effect_sql_migrations", *(t for t in ROW_TABLES if src.has(t)))
    marks = ", ".join("?" for _ in tables)
    ddl = [
        r["sql"]
        for r in src.rows(
            f"SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ({marks}) "
            "ORDER BY type = 'index', rowid",
            tables,
        )
    ]
    _line(
        f,
        {
            "type": FORMAT,
            "format_version": FORMAT_VERSION,
            "app": "t3code",
            "orchestration": "v2",
            "tool_version": __version__,
            "exported_at": iso_now(),
            "source": src.path.name,
            "redacted": redact,
            "threads": threads,
            "schema": {"release": "orchestration-v2", "migrations": src.ledger, "ddl": ddl},
        },
    )
    summary = ExportSummary(events=0)
    where, args = (
        ("stream_id IN ({})".format(", ".join("?" for _ in threads)), tuple(threads)) if threads else ("1", ())
    )
    for row in _select(src, f"SELECT * FROM orchestration_events WHERE {where} ORDER BY sequence", args):
        record = _event_record(row, False)
        if redact and isinstance(record.get("payload"), dict):
            version = row.get("application_event_version", 1)
            record["payload"] = (
                redact_v2(record["payload"]) if version == 2 else redact_payload(row["event_type"], record["payload"])
            )
        _line(f, record)
        summary["events"] += 1
    for table in tables[2:]:
        summary[table] = 0
        has_thread = "thread_id" in {r["name"] for r in src.rows(f"SELECT name FROM pragma_table_info('{table}')")}
        sql, targs = f"SELECT * FROM {table} ORDER BY rowid", ()
        if threads and has_thread:
            sql = f"SELECT * FROM {table} WHERE thread_id IN ({', '.join('?' for _ in threads)}) ORDER BY rowid"
            targs = tuple(threads)
        for row in _select(src, sql, targs):
            _line(f, {"type": "row", "table": table, "row": redact_v2_row(table, row) if redact else row})
            summary[table] += 1
    return summary


def _select(src: V2Source, sql: str, args: tuple[Any, ...]):
    cur = src.conn.execute(sql, args)
    names = [d[0] for d in cur.description]
    while chunk := cur.fetchmany(_BATCH):
        for r in chunk:
            yield dict(zip(names, r, strict=True))
