"""Recognise a file's format by its content, never by its name, and open it as a source."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from threaddoctor.errors import InputError
from threaddoctor.sources.files.lines import first_record
from threaddoctor.sources.files.streams import stream_stop

SQLITE_MAGIC = b"SQLite format 3\x00"


_CODEX_EXEC_TYPES = {
    "thread.started",
    "turn.started",
    "turn.completed",
    "turn.failed",
    "item.started",
    "item.updated",
    "item.completed",
    "error",
}
_CLAUDE_TYPES = {
    "user",
    "assistant",
    "system",
    "summary",
    "file-history-snapshot",
    "queue-operation",
    "attachment",
    "progress",
    "custom-title",
    "ai-title",
    "last-prompt",
    "mode",
    "permission-mode",
}


def kind_of(path: Path) -> str:
    """The format of a file, from its content: 't3code-db', 't3code-v2', 't3code-export',
    't3code-v2-export', 'codex-rollout',
    'codex-exec', 'claude-transcript' or 'connectonion-sessions'; InputError for anything else."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a database or a log")
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise InputError(f"{path}: empty file (neither a T3 Code database nor a log)")
    if head.startswith(SQLITE_MAGIC):
        return _kind_of_database(path)
    record = first_record(path)
    if record is None and (stop := stream_stop(path)) is not None:
        raise InputError(f"{path}: {stop.what}, no whole record before line {stop.line} ({stop.detail})")
    if record is None:
        raise InputError(f"{path}: not a SQLite database and no JSON record in its first lines")
    if record.get("type") == "threaddoctor-export":
        return "t3code-v2-export" if record.get("orchestration") == "v2" else "t3code-export"
    if record.get("type") in ("event", "row"):
        raise InputError(f"{path}:1: not a threaddoctor export (the first line is not its header)")
    return _kind_of_record(path, record)


def _kind_of_database(path: Path) -> str:
    from threaddoctor.sources.t3code.reader import open_readonly
    from threaddoctor.sources.t3code.v2.generation import database_is_v2

    snapshot = open_readonly(path)
    try:
        tables = {r[0] for r in snapshot.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "orchestration_events" not in tables and tables & {
            "thread_turns",
            "thread_queued_turns",
            "_sqlx_migrations",
        }:
            return "codex-sqlite"
        return "t3code-v2" if database_is_v2(snapshot.conn) else "t3code-db"
    except sqlite3.DatabaseError:
        return "t3code-db"  # the T3 Code reader says what is wrong with it
    finally:
        snapshot.conn.close()


def _kind_of_record(path: Path, record: dict) -> str:
    rtype = record.get("type")
    if rtype == "session_meta" or {"timestamp", "type", "payload"} <= record.keys():
        return "codex-rollout"
    if {"session_id", "status"} <= record.keys():
        return "connectonion-sessions"
    if "sessionId" in record or "parentUuid" in record or (rtype in _CLAUDE_TYPES and "payload" not in record):
        return "claude-transcript"
    if rtype in _CODEX_EXEC_TYPES:
        return "codex-exec"
    keys = ", ".join(sorted(record)[:6])
    raise InputError(f"{path}: not a format threaddoctor reads (the first record has keys {keys})")
