"""Bad input: one line of error, exit status 2, nothing written."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from fixtures.t3code_builder import T3Builder
from tests.helpers import snapshot
from threaddoctor.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def _assert_one_line_error(result, contains: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("threaddoctor: error:")
    assert contains in lines[0]
    assert "Traceback" not in result.output


def test_missing_file(tmp_path) -> None:
    _assert_one_line_error(_run("scan", str(tmp_path / "nope.sqlite")), "no such file")


def test_not_sqlite(tmp_path) -> None:
    p = tmp_path / "notes.sqlite"
    p.write_text("hello, this is text\n" * 10)
    _assert_one_line_error(_run("scan", str(p)), "not a SQLite database")
    assert p.read_text() == "hello, this is text\n" * 10


def test_directory(tmp_path) -> None:
    _assert_one_line_error(_run("scan", str(tmp_path)), "directory")


@pytest.mark.parametrize("content", [b"", None])
def test_empty_database(tmp_path, content) -> None:
    p = tmp_path / "empty.sqlite"
    if content is None:
        sqlite3.connect(p).close()  # a zero-page database file
    else:
        p.write_bytes(content)
    before = snapshot(p)
    _assert_one_line_error(_run("scan", str(p)), "empty file")
    assert snapshot(p) == before


def test_database_without_tables(tmp_path) -> None:
    p = tmp_path / "blank.sqlite"
    conn = sqlite3.connect(p)
    conn.execute("PRAGMA user_version = 1")  # writes the header page, no tables
    conn.commit()
    conn.close()
    _assert_one_line_error(_run("scan", str(p)), "an empty database")


def test_other_application_database(tmp_path) -> None:
    p = tmp_path / "other.sqlite"
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    _assert_one_line_error(_run("scan", str(p)), "not a T3 Code database")


def test_unknown_schema_without_migrations_table(tmp_path) -> None:
    b = T3Builder(tmp_path / "state.sqlite")
    b.conn.execute("DROP TABLE effect_sql_migrations")
    b.close()
    before = snapshot(b.path)
    _assert_one_line_error(_run("scan", str(b.path)), "unknown schema")
    assert snapshot(b.path) == before


def test_schema_older_than_any_release(tmp_path) -> None:
    b = T3Builder(tmp_path / "state.sqlite")
    b.conn.execute("DELETE FROM effect_sql_migrations WHERE migration_id > 5")
    b.close()
    _assert_one_line_error(_run("scan", str(b.path)), "predate v0.0.9")


def test_truncated_database_file(tmp_path) -> None:
    b = T3Builder(tmp_path / "state.sqlite")
    b.create_thread("t")
    b.close()
    data = b.path.read_bytes()
    b.path.write_bytes(data[: len(data) // 3])
    result = _run("scan", str(b.path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("threaddoctor: error:")


def test_unknown_rule_in_select(tmp_path) -> None:
    _assert_one_line_error(_run("scan", "--example", "--select", "X999"), "no rule matches 'X999'")


def test_unknown_rule_in_explain() -> None:
    _assert_one_line_error(_run("explain", "T9999"), "no rule")
