"""Refuse to write while T3 Code runs on the database (reference §1.1, §4.4).

A concurrent server would project its next command past an event appended now and never project
it. Two checks: the pid in server-runtime.json beside the database is alive, or the write lock
cannot be had within a short timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from threaddoctor.errors import ThreadDoctorError
from threaddoctor.sources.t3code.server import server_state

LOCK_TIMEOUT_MS = 2000


class AppRunning(ThreadDoctorError):
    """T3 Code (or another writer) is using the database."""


def running_server_pid(db: Path) -> int | None:
    """The pid T3 Code recorded in server-runtime.json, if that server is alive."""
    state = server_state(db)
    return state.pid if state.live else None


def refuse_if_app_runs(db: Path) -> None:
    pid = running_server_pid(db)
    if pid is not None:
        raise AppRunning(
            f"{db}: T3 Code is running (pid {pid}, from {db.parent / 'server-runtime.json'}); quit the app "
            "(and any `t3 serve` service) and run this again"
        )


class StaleFile(ThreadDoctorError):
    """The database is one the installed app no longer reads."""


def refuse_if_stale_v1(db: Path) -> None:
    """state.sqlite while an Orchestration V2 build uses statev2.sqlite beside it: a repair
    there changes nothing the app reads, and the next V2 import would never see it either."""
    from threaddoctor.sources.t3code.v2.home import stale_v1_reason

    reason = stale_v1_reason(Path(db).expanduser())
    if reason:
        raise StaleFile(reason)


def open_for_writing(db: Path, timeout_ms: int = LOCK_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection holding the write lock (BEGIN IMMEDIATE), or AppRunning after the timeout."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        conn.close()
        raise AppRunning(
            f"{db}: another program is writing to the database ({e} after {timeout_ms / 1000:g}s); "
            "quit T3 Code and run this again"
        ) from None
    return conn
