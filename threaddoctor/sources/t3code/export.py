"""`threaddoctor export`: a T3 Code database as portable JSONL (format in the README).

Line 1 is a header (format version, the schema's migrations and the DDL of every exported table).
Then every orchestration_events row, all columns, payload and metadata as JSON, in sequence
order; then the projection rows the rules read. Written as it is read, so memory stays flat.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from threaddoctor.errors import InputError
from threaddoctor.sources.t3code.redact import redact_payload, redact_row
from threaddoctor.sources.t3code.schema import CORE_TABLES
from threaddoctor.sources.t3code.source import T3Source, open_t3
from threaddoctor.sources.t3code.vocabulary import iso_now
from threaddoctor.version import __version__

FORMAT = "threaddoctor-export"
FORMAT_VERSION = 1
# The projection tables the rules read, plus the runtime bindings.
ROW_TABLES = (*(t for t in CORE_TABLES if t != "orchestration_events"), "provider_session_runtime")
_BATCH = 2000


class ExportSummary(dict):
    """Counts of what was written: events, rows per table."""


def export(db: Path, out: Path, threads: list[str] | None = None, redact: bool = False) -> ExportSummary:
    from threaddoctor.sources.detect import kind_of

    if kind_of(Path(db).expanduser()) == "t3code-v2":
        from threaddoctor.sources.t3code.v2.export import export_v2

        return export_v2(db, out, threads, redact)
    return write_export(open_t3(Path(db).expanduser()), db, out, threads, redact, "projection_threads", _write)


def write_export(
    src: Any, db: Path, out: Path, threads: list[str] | None, redact: bool, threads_table: str, write: Any
) -> ExportSummary:
    """Check the asked-for threads exist in `threads_table`, then `write` the export to a partial
    file renamed into place, so a failed export never leaves a half-written FILE. Closes `src`."""
    try:
        if threads:
            marks = ", ".join("?" for _ in threads)
            query = f"SELECT thread_id FROM {threads_table} WHERE thread_id IN ({marks})"
            known = {r["thread_id"] for r in src.rows(query, tuple(threads))}
            missing = [t for t in threads if t not in known]
            if missing:
                raise InputError(f"{db}: no thread {missing[0]!r}")
        tmp = out.with_name(out.name + ".partial")
        with _open(tmp) as f:
            summary = write(src, f, threads, redact)
        os.replace(tmp, out)
        return summary
    finally:
        src.close()


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz.partial") or path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8", newline="\n")
    return path.open("w", encoding="utf-8", newline="\n")


def _line(f: IO[str], record: dict[str, Any]) -> None:
    f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    f.write("\n")


def _write(src: T3Source, f: IO[str], threads: list[str] | None, redact: bool) -> ExportSummary:
    tables = ("orchestration_events", "effect_sql_migrations", *(t for t in ROW_TABLES if src.has(t)))
    # Orchestration V2 tables travel as DDL only: their presence is evidence (T3014), their rows are not.
    with_ddl = (*tables, *src.schema.v2_tables)
    marks = ", ".join("?" for _ in with_ddl)
    ddl = [
        r["sql"]
        for r in src.rows(
            f"SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY type = 'index', rowid",
            with_ddl,
        )
    ]
    _line(
        f,
        {
            "type": FORMAT,
            "format_version": FORMAT_VERSION,
            "app": "t3code",
            "tool_version": __version__,
            "exported_at": iso_now(),
            "source": src.path.name,
            "redacted": redact,
            "threads": threads,
            "schema": {"release": src.schema.release.name, "migrations": src.schema.migrations, "ddl": ddl},
        },
    )
    summary = ExportSummary(events=0)
    for row in _events(src, threads):
        _line(f, _event_record(row, redact))
        summary["events"] += 1
    for table in tables[2:]:
        summary[table] = 0
        for row in _rows(src, table, threads):
            _line(f, {"type": "row", "table": table, "row": redact_row(table, row) if redact else row})
            summary[table] += 1
    return summary


def _event_record(row: dict[str, Any], redact: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "event"}
    for col, value in row.items():
        if col in ("payload_json", "metadata_json"):
            name = col.removesuffix("_json")
            try:
                parsed = json.loads(value)
            except (TypeError, ValueError):
                record[col] = value  # kept verbatim: the row the app cannot decode stays so
                continue
            record[name] = redact_payload(row["event_type"], parsed) if redact and name == "payload" else parsed
        else:
            record[col] = value
    return record


def _events(src: T3Source, threads: list[str] | None) -> Iterator[dict[str, Any]]:
    where, args = "sequence > ?", []
    if threads:
        projects = [
            r["project_id"]
            for r in src.rows(
                f"SELECT DISTINCT project_id FROM projection_threads WHERE thread_id IN ({', '.join('?' for _ in threads)})",
                tuple(threads),
            )
        ]
        ids = threads + projects  # the thread's events and its project's
        where += f" AND stream_id IN ({', '.join('?' for _ in ids)})"
        args = ids
    last = 0
    while True:
        batch = src.rows(
            f"SELECT * FROM orchestration_events WHERE {where} ORDER BY sequence LIMIT {_BATCH}", (last, *args)
        )
        if not batch:
            return
        yield from batch
        last = batch[-1]["sequence"]


def _rows(src: T3Source, table: str, threads: list[str] | None) -> Iterator[dict[str, Any]]:
    if threads and src.has(table, "thread_id"):
        sql = f"SELECT * FROM {table} WHERE thread_id IN ({', '.join('?' for _ in threads)}) ORDER BY rowid"
        args: tuple[Any, ...] = tuple(threads)
    else:
        sql, args = f"SELECT * FROM {table} ORDER BY rowid", ()
    cur = src.conn.execute(sql, args)
    names = [d[0] for d in cur.description]
    while chunk := cur.fetchmany(_BATCH):
        for r in chunk:
            yield dict(zip(names, r, strict=True))
