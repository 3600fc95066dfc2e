"""Read an exported log (`.jsonl` or `.jsonl.gz`) as if it were the database it came from.

The file is streamed line by line into a scratch SQLite database built from the export's own
DDL, so the rules run on it unchanged and memory stays flat whatever its size. Each record's line
number is kept, so findings point at `file:line`. A malformed line stops the read with
`file:line: what is wrong`.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError

from threaddoctor.errors import InputError
from threaddoctor.findings import Finding
from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.t3code.contract import contract_of
from threaddoctor.sources.t3code.export import FORMAT, FORMAT_VERSION
from threaddoctor.sources.t3code.reader import Snapshot
from threaddoctor.sources.t3code.schema import read_schema
from threaddoctor.sources.t3code.source import T3Source

GZIP_MAGIC = b"\x1f\x8b"
_BATCH = 2000
_EVENT_COLUMNS = (
    "sequence",
    "event_id",
    "aggregate_kind",
    "stream_id",
    "stream_version",
    "event_type",
    "occurred_at",
    "command_id",
    "causation_event_id",
    "correlation_id",
    "actor_kind",
)


class Header(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    format_version: int
    app: str
    schema_: dict[str, Any]
    redacted: bool = False
    threads: list[str] | None = None


@dataclass
class ExportedT3Source(T3Source):
    """A T3Source whose database is a scratch copy of an export; findings point at its lines."""

    scratch_dir: Path | None = None

    def line_of(self, finding: Finding) -> int | None:
        keys = [("event", str(s)) for s in finding.evidence_sequences]
        keys += [(e.table, _key(e.key)) for e in finding.evidence if e.kind == "row" and e.table and e.key]
        for kind, key in keys:
            row = self.conn.execute(
                "SELECT line FROM threaddoctor_lines WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            if row:
                return row[0]
        return 1  # the header: schema and database-level findings

    def close(self) -> None:
        super().close()
        if self.scratch_dir is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)


def _key(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-empty line, decoded strictly."""
    with path.open("rb") as probe:
        opener = gzip.open if probe.read(2) == GZIP_MAGIC else open
    lineno = 0
    try:
        with opener(path, "rb") as f:  # type: ignore[operator]
            stream: BinaryIO = f
            for lineno, raw in enumerate(stream, 1):
                if b"\x00" in raw:
                    raise InputError(f"{path}:{lineno}: NUL byte in the line")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise InputError(f"{path}:{lineno}: invalid UTF-8 at byte {e.start}") from None
                if lineno == 1:
                    text = text.removeprefix("\ufeff")
                if text.strip():
                    yield lineno, text
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise InputError(f"{path}:{lineno + 1}: truncated or damaged gzip stream ({e})") from None


def _parse(path: Path, lineno: int, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except ValueError as e:
        what = "truncated line" if not text.endswith("\n") else f"not valid JSON ({e.msg} at column {e.colno})"
        raise InputError(f"{path}:{lineno}: {what}") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
    return record


def load_export(path: Path, options: ReadOptions | None = None) -> ExportedT3Source:
    """The registry's opener for `t3code-export`: the export loaded into a scratch database."""
    path, options = Path(path), options or ReadOptions()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    scratch_dir = Path(tempfile.mkdtemp(prefix="threaddoctor-"))
    conn = sqlite3.connect(scratch_dir / "export.sqlite", isolation_level=None, check_same_thread=False)
    try:
        _load(path, conn)
        schema = read_schema(conn, str(path))
    except BaseException:
        conn.close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
        raise
    conn.execute("BEGIN")
    contract = contract_of(schema.release)
    snapshot = Snapshot(conn, scratch_dir / "export.sqlite", immutable=False)
    return ExportedT3Source(
        path=path,
        snapshot=snapshot,
        schema=schema,
        contract=contract,
        deep=options.deep,
        progress=options.progress,
        scratch_dir=scratch_dir,
    )


def _load(path: Path, conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{path}: empty file")
    header = _header(path, *first)
    indexes = _create_schema(path, conn, header)
    loader = _Loader(path, conn, {t for t in _tables(conn)})
    conn.execute("BEGIN")
    for lineno, text in lines:
        loader.add(lineno, _parse(path, lineno, text))
    loader.flush()
    for sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")


def _header(path: Path, lineno: int, text: str) -> Header:
    record = _parse(path, lineno, text)
    if record.get("type") != FORMAT:
        raise InputError(f"{path}:{lineno}: not a threaddoctor export (the first line is not its header)")
    try:
        header = Header.model_validate({**record, "schema_": record.get("schema")})
    except ValidationError as e:
        raise InputError(f"{path}:{lineno}: bad header: {e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}") from None
    if header.format_version != FORMAT_VERSION:
        raise InputError(
            f"{path}:{lineno}: export format version {header.format_version} is not supported "
            f"(this threaddoctor reads version {FORMAT_VERSION})"
        )
    if header.app != "t3code":
        raise InputError(f"{path}:{lineno}: exports of {header.app!r} are not supported")
    return header


def _create_schema(path: Path, conn: sqlite3.Connection, header: Header) -> list[str]:
    ddl = header.schema_.get("ddl") or []
    migrations = header.schema_.get("migrations") or []
    tables = [s for s in ddl if s.lstrip().upper().startswith("CREATE TABLE")]
    try:
        for sql in tables:
            conn.execute(sql)
        conn.executemany(
            "INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)",
            [(int(i), str(n)) for i, n in migrations],
        )
    except (sqlite3.DatabaseError, TypeError, ValueError) as e:
        raise InputError(f"{path}:1: bad header: its schema cannot be created ({e})") from None
    conn.execute(
        "CREATE TABLE threaddoctor_lines (kind TEXT, key TEXT, line INTEGER, PRIMARY KEY (kind, key)) WITHOUT ROWID"
    )
    return [s for s in ddl if s not in tables]


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


class _Loader:
    """Batches records into the scratch database, remembering each one's line."""

    def __init__(self, path: Path, conn: sqlite3.Connection, tables: set[str]) -> None:
        self.path, self.conn, self.tables = path, conn, tables
        self.columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info('{t}')")] for t in tables}
        self.keys = {
            t: [r[1] for r in sorted(conn.execute(f"PRAGMA table_info('{t}')"), key=lambda c: c[5]) if r[5]]
            for t in tables
        }
        self.pending: dict[str, list[tuple]] = {}
        self.lines: list[tuple[str, str, int]] = []

    def add(self, lineno: int, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind == "event":
            table, row = "orchestration_events", self._event_row(lineno, record)
            key = ("event", str(row["sequence"]))
        elif kind == "row":
            table, row = record.get("table"), record.get("row")
            if table not in self.tables or table in ("orchestration_events", "effect_sql_migrations"):
                raise InputError(f"{self.path}:{lineno}: row of unknown table {table!r}")
            if not isinstance(row, dict):
                raise InputError(f"{self.path}:{lineno}: 'row' must be an object")
            key = (table, _key({k: row.get(k) for k in self.keys[table]}))
        else:
            raise InputError(f"{self.path}:{lineno}: unknown record type {kind!r}")
        unknown = [c for c in row if c not in self.columns[table]]
        if unknown:
            raise InputError(f"{self.path}:{lineno}: {table} has no column {unknown[0]!r}")
        self.pending.setdefault(table, []).append(tuple(row.get(c) for c in self.columns[table]))
        self.lines.append((*key, lineno))
        if len(self.lines) >= _BATCH:
            self.flush()

    def _event_row(self, lineno: int, record: dict[str, Any]) -> dict[str, Any]:
        missing = [c for c in _EVENT_COLUMNS if c not in record]
        if missing:
            raise InputError(f"{self.path}:{lineno}: event record without {missing[0]!r}")
        row = {c: record[c] for c in _EVENT_COLUMNS}
        if "application_event_version" in record:  # Orchestration V2 (055): absent from V1 exports
            row["application_event_version"] = record["application_event_version"]
        for name in ("payload", "metadata"):
            if name in record:
                row[f"{name}_json"] = json.dumps(record[name], ensure_ascii=False, separators=(",", ":"))
            elif f"{name}_json" in record:
                row[f"{name}_json"] = record[f"{name}_json"]
            else:
                raise InputError(f"{self.path}:{lineno}: event record without {name!r}")
        return row

    def flush(self) -> None:
        try:
            for table, rows in self.pending.items():
                cols = self.columns[table]
                self.conn.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", rows
                )
            self.conn.executemany("INSERT OR REPLACE INTO threaddoctor_lines VALUES (?, ?, ?)", self.lines)
        except sqlite3.DatabaseError as e:
            first = self.lines[0][2] if self.lines else 0
            raise InputError(f"{self.path}:{first}-{self.lines[-1][2]}: records do not fit the schema ({e})") from None
        self.pending, self.lines = {}, []
