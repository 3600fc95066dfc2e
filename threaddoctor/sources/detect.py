"""Recognise a file's format by its content, never by its name, and open it as a source."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from threaddoctor.errors import InputError
from threaddoctor.sources.files.json_array import starts_an_array
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
# The top-level types of Claude Code's stream-json output and of claude-code-action's execution file
# (reference claude-stream-json.md §1; control_* lines are the stdin protocol's answers).
_CLAUDE_RUN_TYPES = {
    "system",
    "assistant",
    "user",
    "result",
    "stream_event",
    "rate_limit_event",
    "conversation_reset",
    "control_response",
    "control_request",
    "tool_progress",
    "keep_alive",
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
    't3code-v2-export', 'codex-rollout', 'codex-exec', 'claude-transcript', 'claude-run' or
    'connectonion-sessions'; InputError for anything else."""
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
    if starts_an_array(path):
        return _kind_of_array(path)
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


def _claude_run_record(record: dict) -> bool:
    """A line of Claude Code's stream-json: snake_case `session_id` on a message type of that
    stream, and none of a transcript line's camelCase envelope (`sessionId`, `parentUuid`). Its
    first line is usually `{"type":"system","subtype":"init",...,"claude_code_version":...}`."""
    if record.get("type") not in _CLAUDE_RUN_TYPES or "sessionId" in record or "parentUuid" in record:
        return False
    return "session_id" in record or "claude_code_version" in record


def _kind_of_array(path: Path) -> str:
    """A file that is one JSON array: claude-code-action's execution file, when its first element
    is a run-log message."""
    from threaddoctor.sources.files.json_array import array_elements

    problems: list = []
    first = next(array_elements(path, problems), None)
    if first is not None and _claude_run_record(first[1]):
        return "claude-run"
    if first is None and not problems:
        raise InputError(f"{path}: an empty JSON array (no run-log messages in it)")
    raise InputError(f"{path}: a JSON array, but not of Claude Code run-log messages")


def _kind_of_record(path: Path, record: dict) -> str:
    rtype = record.get("type")
    if rtype == "session_meta" or {"timestamp", "type", "payload"} <= record.keys():
        return "codex-rollout"
    if _claude_run_record(record):
        return "claude-run"
    if {"session_id", "status"} <= record.keys():
        return "connectonion-sessions"
    if "sessionId" in record or "parentUuid" in record or (rtype in _CLAUDE_TYPES and "payload" not in record):
        return "claude-transcript"
    if rtype in _CODEX_EXEC_TYPES:
        return "codex-exec"
    keys = ", ".join(sorted(record)[:6])
    raise InputError(f"{path}: not a format threaddoctor reads (the first record has keys {keys})")
