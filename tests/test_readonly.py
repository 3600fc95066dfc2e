"""Scanning never writes: the database and its WAL are byte-identical afterwards, and a scan
works while another connection holds a write transaction."""

from __future__ import annotations

import sqlite3

from fixtures.t3code_scenarios import issue_313
from tests.helpers import snapshot
from threaddoctor import scan


def _live_db(tmp_path):
    """A database as a running app leaves it: un-checkpointed pages still in the WAL."""
    b = issue_313(tmp_path / "state.sqlite", release="main-2026-08")
    b.conn.execute("PRAGMA wal_autocheckpoint = 0")
    b.session(b.ids and "t313", "ready")  # lands in the WAL only
    return b


def test_scan_leaves_database_and_wal_byte_identical(tmp_path) -> None:
    b = _live_db(tmp_path)
    before = snapshot(b.path)
    assert before["-wal"] is not None
    scan(b.path, deep=True)
    scan(b.path)
    assert snapshot(b.path) == before
    b.conn.close()


def test_scan_sees_what_is_still_in_the_wal(tmp_path) -> None:
    b = _live_db(tmp_path)
    # The ready session-set above is only in the WAL; the sticky error is therefore cleared.
    rules = {f.rule for f in scan(b.path).findings}
    assert "T3001" not in rules
    b.conn.close()


def test_scan_works_while_another_connection_writes(tmp_path) -> None:
    b = _live_db(tmp_path)
    writer = sqlite3.connect(b.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE projection_thread_sessions SET status = 'running'")
    result = scan(b.path)  # sees the last committed snapshot, not the open transaction
    assert {f.rule for f in result.findings} >= {"T3002"}
    writer.execute("ROLLBACK")
    writer.close()
    b.conn.close()


def test_closed_wal_database_gets_no_new_files(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite", release="main-2026-08")
    b.close()  # checkpointed and closed: no -wal, no -shm, as after the app quits
    names = sorted(p.name for p in tmp_path.iterdir())
    before = snapshot(b.path)
    assert {f.rule for f in scan(b.path, deep=True).findings} == {"T3001", "T3002"}
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert snapshot(b.path) == before


def test_writer_starting_during_a_scan_of_a_closed_database(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite", release="main-2026-08")
    b.close()
    thread = b.ids["t313"]

    writers: list[sqlite3.Connection] = []

    def app_starts_and_writes(label: str, done: int, total: int) -> None:
        if writers:
            return
        # The app opens the database and commits; its connection stays open, and so does the -wal.
        writer = sqlite3.connect(b.path, isolation_level=None)
        writer.execute(
            "UPDATE projection_thread_sessions SET status = 'ready', last_error = NULL WHERE thread_id = ?", (thread,)
        )
        writers.append(writer)

    result = scan(b.path, deep=True, progress=app_starts_and_writes)
    # The immutable read was discarded and the database read again, seeing the writer's change.
    assert writers and "T3001" not in {f.rule for f in result.findings}
    writers[0].close()


def test_read_only_directory(tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    b = issue_313(folder / "state.sqlite")
    b.close()
    folder.chmod(0o555)
    try:
        assert {f.rule for f in scan(b.path).findings} == {"T3001", "T3002"}
    finally:
        folder.chmod(0o755)
