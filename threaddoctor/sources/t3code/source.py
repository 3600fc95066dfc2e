"""A T3 Code database as rules see it: projection rows, indexed event lookups, decoding.

Rules ask narrow questions (one thread's newest session-set, the events after a sequence) that
the log's `(aggregate_kind, stream_id, sequence)` index answers without reading the whole log.
Every event a rule looks at is also checked against the release's contract, so the
undecodable-event rule can report what the other rules saw.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threaddoctor.errors import InputError
from threaddoctor.findings import EvidenceItem, Finding, Location
from threaddoctor.parallel import worker_pool
from threaddoctor.sources.base import Progress, ReadOptions
from threaddoctor.sources.t3code.contract import Contract, DecodeProblem, contract_for, contract_of
from threaddoctor.sources.t3code.ledger import Ledger
from threaddoctor.sources.t3code.reader import Snapshot, open_readonly
from threaddoctor.sources.t3code.schema import SchemaInfo, read_schema
from threaddoctor.sources.t3code.server import ServerState, server_state
from threaddoctor.sources.t3code.vocabulary import ATTACHMENT_CLEANUP_CURSOR, PROJECTORS

if TYPE_CHECKING:
    from threaddoctor.rules.base import Rule


_EVENT_COLUMNS = (
    "sequence, event_id, stream_id, event_type, occurred_at, command_id, actor_kind, payload_json, metadata_json"
)


@dataclass
class Event:
    sequence: int
    event_id: str
    stream_id: str
    event_type: str
    occurred_at: str
    command_id: str | None
    actor_kind: str
    payload: dict[str, Any]

    def evidence(self, description: str) -> EvidenceItem:
        return EvidenceItem(
            kind="event",
            description=description,
            sequence=self.sequence,
            event_type=self.event_type,
            occurred_at=self.occurred_at,
        )


@dataclass
class T3Source:
    """An open, read-only T3 Code database."""

    path: Path
    snapshot: Snapshot
    schema: SchemaInfo
    contract: Contract
    deep: bool = False
    progress: Progress | None = None
    decode_problems: dict[int, list[DecodeProblem]] = field(default_factory=dict)
    checked: set[int] = field(default_factory=set)
    checked_ranges: list[tuple[int, int]] = field(default_factory=list)
    _cursors: dict[str, int] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    kinds = ("t3code", "t3code-ledger")

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def description(self) -> str:
        return self.schema.label

    def uncertain(self) -> str | None:
        if self.schema.certain:
            return None
        ledger = self.schema.ledger
        if ledger.generation == "v2" or self.schema.v2_tables:
            return "an Orchestration V2 database: its V1 tables are a frozen copy the app no longer projects"
        return {
            "refused": "the migration history is one T3 Code refuses or skipped migrations on",
            "reconcilable": "a preview build's migration history, which the app rewrites at its next start",
            "unknown": f"migrations threaddoctor does not know ({_ids(ledger.unknown_rows)})",
        }.get(ledger.status, "the migration history is not upstream's")

    def cannot_run(self, rule: Rule) -> str | None:
        if self.schema.ledger.generation == "v2" or self.schema.v2_tables:
            return "V1 state of a V2 file"
        if not rule.reads:
            return "it does not say what it reads"
        missing = self.schema.missing(rule.reads)
        return f"needs {', '.join(missing)}" if missing else None

    def read_again(self, error: Exception | None) -> T3Source | None:
        """An immutable read (the file had no -wal) that a writer overtook is read again in
        `mode=ro`; a read that failed otherwise means the file is damaged."""
        if not self.snapshot.still_valid():
            return open_t3(self.path, deep=self.deep, progress=self.progress, allow_immutable=False)
        if isinstance(error, sqlite3.DatabaseError):
            raise InputError(f"{self.path}: the database is damaged or unreadable ({error})") from None
        return None

    def notes(self) -> list[str]:
        state = self.server
        if state.live:
            return [f"{state.why}: threads it may still be streaming are not judged"]
        return []

    @property
    def migration_ledger(self) -> Ledger:
        return self.schema.ledger

    @property
    def tables(self) -> set[str]:
        return self.schema.tables

    @property
    def server(self) -> ServerState:
        """Who holds the database: the server recorded in server-runtime.json beside it."""
        return self.memo("server", lambda: server_state(self.path))

    def thread_title(self, thread_id: str) -> str | None:
        row = self.row("SELECT title FROM projection_threads WHERE thread_id = ?", (thread_id,))
        return row["title"] if row else None

    @property
    def conn(self) -> sqlite3.Connection:
        return self.snapshot.conn

    def close(self) -> None:
        self.conn.close()

    def line_of(self, finding: Finding) -> int | None:
        """The line of the finding's record in the file it came from: none in a database."""
        return None

    def locate(self, finding: Finding) -> Location:
        seq = next(iter(finding.evidence_sequences), None)
        parts = []
        if finding.thread_id:
            parts += ["thread", finding.thread_id]
        if finding.turn_id:
            parts += ["turn", finding.turn_id]
        if seq is not None:
            parts += ["event", str(seq)]
        return Location(path=self.label, line=self.line_of(finding), logical="/".join(parts) or "database")

    # ---- rows ----------------------------------------------------------------------------
    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def row(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql + " LIMIT 1", args)
        return found[0] if found else None

    def has(self, table: str, column: str | None = None) -> bool:
        if column is None:
            return table in self.schema.tables
        return self.schema.has_column(table, column)

    # ---- events --------------------------------------------------------------------------
    def _event(self, r: tuple[Any, ...]) -> Event:
        seq, event_id, stream, etype, at, command_id, actor, payload_json, _metadata_json = r
        self.check(r)
        try:
            payload = json.loads(payload_json)
        except (TypeError, ValueError):
            payload = {}
        return Event(
            seq,
            event_id,
            stream,
            etype,
            at,
            command_id,
            actor,
            payload if isinstance(payload, dict) else {},
        )

    def check(self, r: tuple[Any, ...]) -> None:
        seq = r[0]
        if seq in self.checked or self._in_checked_range(seq):
            return
        self.checked.add(seq)
        found = self.contract.problems(seq, r[3], r[1], r[2], r[5], r[7], r[8])
        if found:
            self.decode_problems[seq] = found

    def _in_checked_range(self, seq: int) -> bool:
        return any(lo < seq <= hi for lo, hi in self.checked_ranges)

    def thread_events(
        self,
        thread_id: str,
        after: int = 0,
        types: tuple[str, ...] = (),
        newest_first: bool = False,
        limit: int | None = None,
        actor: str | None = None,
    ) -> list[Event]:
        """One thread's events, through the stream index."""
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM orchestration_events "
            "WHERE aggregate_kind = 'thread' AND stream_id = ? AND sequence > ?"
        )
        args: list[Any] = [thread_id, after]
        if types:
            sql += f" AND event_type IN ({', '.join('?' for _ in types)})"
            args += types
        if actor:
            sql += " AND actor_kind = ?"
            args.append(actor)
        sql += " ORDER BY sequence " + ("DESC" if newest_first else "ASC")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._event(r) for r in self.conn.execute(sql, args)]

    def latest_event(self, thread_id: str, event_type: str) -> Event | None:
        found = self.thread_events(thread_id, types=(event_type,), newest_first=True, limit=1)
        return found[0] if found else None

    def max_sequence(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(sequence), 0) FROM orchestration_events").fetchone()[0]

    def cursors(self) -> dict[str, int]:
        if self._cursors is None:
            self._cursors = {
                r["projector"]: r["last_applied_sequence"]
                for r in self.rows("SELECT projector, last_applied_sequence FROM projection_state")
            }
        return self._cursors

    def lowest_cursor(self) -> int:
        """The lowest of the nine projector cursors (a missing row counts as 0): the events above it
        are not in every projection yet."""
        cursors = self.cursors()
        return min((cursors.get(p, 0) for p in PROJECTORS), default=0)

    @property
    def has_cleanup_cursor(self) -> bool:
        """The release keeps the attachment-cleanup row (stable 0.0.42), or a build that does wrote it."""
        return self.schema.release.attachment_cleanup_cursor or ATTACHMENT_CLEANUP_CURSOR in self.cursors()

    def startup_cursor(self) -> int:
        """The sequence after which the app that wrote the file decodes every event at its next start:
        the lowest projector cursor, and with 0.0.42's cleanup row the lowest of all ten rows, a
        missing expected row counting as 0 (reference t3code-today.md §2.1)."""
        if not self.has_cleanup_cursor:
            return self.lowest_cursor()
        return min(self.lowest_cursor(), self.cursors().get(ATTACHMENT_CLEANUP_CURSOR, 0))

    def check_range(self, after: int) -> None:
        """Decode every event with sequence > after. Large ranges are split with a worker process,
        so both cores decode (the log is streamed in batches either way)."""
        head = self.max_sequence()
        total = max(head - after, 0)
        split = after + total // 2 if total >= PARALLEL_MIN_EVENTS and (os.cpu_count() or 1) > 1 else head
        pool, other = None, None
        try:
            if split < head:
                try:
                    pool = worker_pool()
                    args = (self.path, self.snapshot.immutable, self.contract.key, split, head)
                    other = pool.submit(_decode_in_worker, *args)
                except Exception:  # no process to be had: decode it all here
                    split = head
            share = (split - after) / total if total else 1.0
            progress = (
                (lambda done: self.progress("decoding events", int(done / share), total)) if self.progress else None
            )
            self.decode_problems.update(decode_span(self.conn, self.contract, after, split, self.checked, progress))
            if other is not None:
                try:
                    theirs = other.result()
                except Exception:  # a worker that died (killed, out of memory): decode its half here
                    theirs = decode_span(self.conn, self.contract, split, head, self.checked)
                self.decode_problems.update({s: p for s, p in theirs.items() if s not in self.checked})
        finally:
            if pool is not None:
                pool.shutdown()
        self.checked_ranges.append((after, head))

    def events_decoded(self) -> int:
        in_ranges = sum(1 for seq in self.checked if self._in_checked_range(seq))
        return len(self.checked) - in_ranges + sum(hi - lo for lo, hi in self.checked_ranges)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute something several rules need once per scan."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def events_by_sequence(self, sequences: list[int]) -> Iterator[Event]:
        for seq in sequences:
            r = self.conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM orchestration_events WHERE sequence = ?", (seq,)
            ).fetchone()
            if r is not None:
                yield self._event(r)


def _ids(rows: list[tuple[int, str]]) -> str:
    return ", ".join(f"{i} {n}" for i, n in rows[:4]) + (" ..." if len(rows) > 4 else "")


PARALLEL_MIN_EVENTS = 200_000
_BATCH = 5000
# Envelope ids are checked in SQL, so only the decoded columns cross into Python.
_DECODE_SQL = (
    "SELECT sequence, event_type, payload_json, metadata_json, "
    "CASE WHEN trim(event_id) = '' THEN 'event_id' WHEN trim(stream_id) = '' THEN 'stream_id' "
    "WHEN trim(command_id) = '' THEN 'command_id' END "
    "FROM orchestration_events WHERE sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?"
)


def decode_span(
    conn: sqlite3.Connection,
    contract: Contract,
    lo: int,
    hi: int,
    skip: set[int],
    progress: Callable[[int], None] | None = None,
) -> dict[int, list[DecodeProblem]]:
    """Problems of the events with lo < sequence <= hi, streamed in batches."""
    problems: dict[int, list[DecodeProblem]] = {}
    last, done = lo, 0
    while chunk := conn.execute(_DECODE_SQL, (last, hi, _BATCH)).fetchall():
        problems.update(contract.batch_problems([r for r in chunk if r[0] not in skip]))
        last, done = chunk[-1][0], done + len(chunk)
        if progress:
            progress(done)
    return problems


def _decode_in_worker(path: Path, immutable: bool, contract_key: tuple[int, bool], lo: int, hi: int) -> dict:
    snapshot = open_readonly(path, allow_immutable=immutable)
    try:
        return decode_span(snapshot.conn, contract_for(*contract_key), lo, hi, set())
    finally:
        snapshot.conn.close()


def open_database(path: Path, options: ReadOptions | None = None) -> T3Source:
    """The registry's opener for `t3code-db`."""
    options = options or ReadOptions()
    return open_t3(Path(path), deep=options.deep, progress=options.progress)


def open_t3(path: Path, deep: bool = False, progress: Progress | None = None, allow_immutable: bool = True) -> T3Source:
    snapshot = open_readonly(path, allow_immutable)
    try:
        schema = read_schema(snapshot.conn, str(path))
    except Exception:
        snapshot.conn.close()
        raise
    contract = contract_of(schema.release)
    return T3Source(path=path, snapshot=snapshot, schema=schema, contract=contract, deep=deep, progress=progress)
