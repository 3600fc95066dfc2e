"""fix --dry-run, fix and undo: plans, repairs that re-scan clean, the journal, the refusals."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures.t3code_scenarios import issue_313
from tests.case_runner import build, load_cases
from tests.helpers import snapshot
from threaddoctor import all_rules, get_rule, scan
from threaddoctor.cli import app
from threaddoctor.findings import FixSafety
from threaddoctor.fix import run as fix_run
from threaddoctor.fix.guard import AppRunning
from threaddoctor.fix.plan import Selection
from threaddoctor.sources.t3code.vocabulary import iso_now

runner = CliRunner()


def logical_content(db: Path) -> dict[str, list[str]]:
    """Every table's rows (sorted), the yardstick for 'restores the original content'."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        conn.close()


@pytest.fixture(params=["v0.0.9", "v0.0.29", "main-2026-08"])
def db313(request, tmp_path) -> Path:
    return issue_313(tmp_path / "state.sqlite", release=request.param).close()


def test_issue_313_dry_run_fix_rescan_undo_rescan(db313: Path) -> None:
    original = logical_content(db313)
    files = snapshot(db313)

    dry = runner.invoke(app, ["fix", str(db313), "--dry-run"])
    assert dry.exit_code == 1
    assert "+ append thread.session-set" in dry.output and "Dry run: nothing was written." in dry.output
    assert 'status: "error" -> ' in dry.output
    assert snapshot(db313) == files and not Path(f"{db313}.threaddoctor").exists()

    done = runner.invoke(app, ["fix", str(db313), "--format", "json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert {f["rule"] for f in doc["repaired"]} == {"T3001", "T3002"} and doc["findings_after"] == []
    events = [s["event"] for s in doc["steps"] if s["event"]]
    assert events and all(e["command_id"].startswith("server:threaddoctor:") for e in events)
    assert all(e["correlation_id"] == e["command_id"] and e["actor_kind"] == "server" for e in events)
    assert all(e["metadata_json"] == "{}" and e["causation_event_id"] is None for e in events)
    backup = Path(doc["backup"])
    assert backup.exists() and (backup.stat().st_mode & 0o777) == 0o600
    assert logical_content(backup) == original
    assert scan(db313).findings == []

    again = runner.invoke(app, ["fix", str(db313)])
    assert again.exit_code == 0 and "Nothing to repair." in again.output
    assert len(list(Path(f"{db313}.threaddoctor").glob("backup-*"))) == 1  # the second run wrote nothing

    undone = runner.invoke(app, ["undo", str(db313)])
    assert undone.exit_code == 0, undone.output
    assert logical_content(db313) == original
    assert {f.rule for f in scan(db313).findings} == {"T3001", "T3002"}


def test_appended_events_follow_the_stream(db313: Path) -> None:
    report = fix_run.fix(db313)
    conn = sqlite3.connect(db313)
    for step in report.outcome.steps:
        if step.event:
            e = step.event
            prev = conn.execute(
                "SELECT MAX(stream_version) FROM orchestration_events WHERE stream_id = ? AND sequence < ?",
                (e["stream_id"], e["sequence"]),
            ).fetchone()[0]
            assert e["stream_version"] == prev + 1
            assert len(e["occurred_at"]) == 24 and e["occurred_at"].endswith("Z")
    cursors = {r[0] for r in conn.execute("SELECT DISTINCT last_applied_sequence FROM projection_state")}
    assert cursors == {conn.execute("SELECT MAX(sequence) FROM orchestration_events").fetchone()[0]}
    conn.close()


REPAIRABLE = [
    pytest.param(c, r, id=f"{c.rule}-{c.name}-{r}")
    for c in load_cases()
    if c.kind == "positive" and c.fix and c.source == "t3code" and get_rule(c.rule).fix_safety != FixSafety.none
    for r in c.releases
]
REPORT_ONLY = [pytest.param(c, c.releases[-1], id=f"{c.rule}-{c.name}") for c in load_cases() if not c.fix]
# (test_fix_files.py covers the log formats' cases marked fix: false the same way)


@pytest.mark.parametrize(("case", "release"), REPORT_ONLY)
def test_cases_marked_without_repair_propose_none(case, release, tmp_path) -> None:
    b = build(case, release, tmp_path / "state.sqlite")
    findings = scan(b.path, select=[case.rule]).findings
    assert findings and all(f.repair is None for f in findings)


@pytest.mark.parametrize(("case", "release"), REPAIRABLE)
def test_every_repair_rescans_clean(case, release, tmp_path) -> None:
    b = build(case, release, tmp_path / "state.sqlite")
    before = {f.entity for f in scan(b.path).findings}
    unsafe = any(f.repair and f.repair.safety == FixSafety.unsafe for f in scan(b.path, select=[case.rule]).findings)
    report = fix_run.fix(b.path, select=[case.rule], selection=Selection(unsafe=unsafe))
    assert report.outcome and report.outcome.steps and not report.outcome.problems
    assert scan(b.path, select=[case.rule]).findings == []
    assert {f.entity for f in scan(b.path).findings} <= before  # nothing new anywhere


def test_every_rule_with_a_repair_has_a_fix_test() -> None:
    covered = {p.values[0].rule for p in REPAIRABLE}
    t3 = {r.code for r in all_rules() if r.fix_safety != FixSafety.none and r.source_kind == "t3code"}
    assert covered == t3  # the log formats' repairs: tests/test_fix_files.py


def test_unsafe_repairs_are_held_back_unless_asked(tmp_path) -> None:
    case = next(c for c in load_cases() if c.rule == "T3010" and c.kind == "positive")
    b = build(case, "main-2026-08", tmp_path / "state.sqlite")
    result = runner.invoke(app, ["fix", str(b.path), "--select", "T3010"])
    assert result.exit_code == 1 and "1 unsafe repair(s) held back (T3010)" in result.output
    assert not Path(f"{b.path}.threaddoctor").exists()
    result = runner.invoke(app, ["fix", str(b.path), "--select", "T3010", "--unsafe-fixes"])
    assert result.exit_code == 0, result.output


def _issue_313_and_another_thread(tmp_path: Path):
    """#313, and a second thread stuck in its own way (T3006)."""
    b = issue_313(tmp_path / "state.sqlite", release="main-2026-08")
    b.create_thread("other")
    b.send_message("other", "m")
    b.turn_started("other", "x")
    b.interrupt("other", "x")
    return b


def test_thread_option_limits_the_repair(tmp_path) -> None:
    b = _issue_313_and_another_thread(tmp_path)
    b.close()
    report = fix_run.fix(b.path, selection=Selection(threads=[b.ids["t313"]]))
    assert report.outcome.thread_ids == [b.ids["t313"]]
    assert {f.rule for f in scan(b.path).findings} == {"T3006"}


def test_refuses_while_another_connection_writes(tmp_path) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        before = snapshot(db)
        result = runner.invoke(app, ["fix", str(db)])
        assert result.exit_code == 2
        assert "another program is writing to the database" in result.output and "after 2s" in result.output
        assert snapshot(db) == before and not Path(f"{db}.threaddoctor").exists()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_refuses_while_the_app_runs(tmp_path) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    runtime = {
        "version": 1,
        "pid": os.getpid(),
        "port": 3773,
        "origin": "http://127.0.0.1:3773",
        "startedAt": iso_now(),  # written by the server after its process started, as this one did
    }
    (tmp_path / "server-runtime.json").write_text(json.dumps(runtime))
    before = snapshot(db)
    with pytest.raises(AppRunning, match=f"T3 Code is running \\(pid {os.getpid()}"):
        fix_run.fix(db)
    result = runner.invoke(app, ["fix", str(db)])
    assert result.exit_code == 2 and "quit the app" in result.output
    assert snapshot(db) == before and not Path(f"{db}.threaddoctor").exists()


def test_stale_runtime_file_does_not_block(tmp_path) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    (tmp_path / "server-runtime.json").write_text(json.dumps({"version": 1, "pid": 2**22 + 12345}))
    assert fix_run.fix(db).outcome.steps


def test_undo_refused_once_the_app_has_run(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite", release="main-2026-08")
    b.close()
    fix_run.fix(b.path)
    b2 = type(b)(b.path, "main-2026-08", seed=7)  # the app starts and records one more command
    b2.project_id = b.project_id
    b2.ids = dict(b.ids)
    b2.send_message("t313", "after-fix")
    b2.close()
    result = runner.invoke(app, ["undo", str(b.path)])
    assert result.exit_code == 2 and "can no longer be undone" in result.output


def test_undo_refused_when_cursors_moved(tmp_path) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    fix_run.fix(db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE projection_state SET updated_at = '2026-11-22T00:00:00.000Z'")
    conn.commit()
    conn.close()
    result = runner.invoke(app, ["undo", str(db)])
    assert result.exit_code == 2 and "restore the backup" in result.output


def test_fix_refuses_uncertain_schema_and_lagging_projections(tmp_path) -> None:
    from fixtures.t3code_builder import T3Builder

    b = T3Builder(tmp_path / "v2.sqlite", migration_names={37: "OrchestrationV2"})
    b.create_thread("t")
    b.close()
    result = runner.invoke(app, ["fix", str(b.path)])
    assert result.exit_code == 2 and "does not match T3 Code's migration history" in result.output
    lag = issue_313(tmp_path / "lag.sqlite", release="main-2026-08")
    lag.hand_insert_session("t313", "ready")
    lag.close()
    before = snapshot(lag.path)
    result = runner.invoke(app, ["fix", str(lag.path)])
    assert result.exit_code == 2 and "not projected yet" in result.output
    assert snapshot(lag.path) == before


@pytest.mark.parametrize("release", ["v0.0.9", "v0.0.29", "main-2026-08"])
def test_reprojecting_the_appended_events_changes_nothing(release, tmp_path) -> None:
    """What the app's start-up catch-up would do if it replayed the repair: nothing more."""
    from threaddoctor.sources.t3code.projector import EventRow, Projector
    from threaddoctor.sources.t3code.releases import release_named

    b = issue_313(tmp_path / "state.sqlite", release=release)
    b.create_thread("w")
    b.send_message("w", "m")
    b.turn_started("w", "x")
    b.assistant_delta("w", "x", "r")
    b.request_approval("w", "x", "q")
    b.stop_all()  # T3005, T3008 and an open stream on thread w
    db = b.close()
    report = fix_run.fix(db)
    assert {f.rule for f in report.outcome.repaired} >= {"T3001", "T3005", "T3008"}
    repaired = logical_content(db)
    conn = sqlite3.connect(db, isolation_level=None)
    projector = Projector(conn, release_named(release))
    conn.execute("BEGIN")
    for step in report.outcome.steps:
        e = step.event
        if e:
            projector.apply(
                EventRow(
                    e["sequence"],
                    e["event_type"],
                    e["stream_id"],
                    e["occurred_at"],
                    json.loads(e["payload_json"]),
                    json.loads(e["metadata_json"]),
                )
            )
    conn.execute("COMMIT")
    conn.close()
    assert logical_content(db) == repaired


def test_read_only_database_is_refused_in_one_line(tmp_path, monkeypatch) -> None:
    """A database SQLite may only read (file mode, read-only mount): simulated with mode=ro, since
    file permissions do not stop root."""
    from threaddoctor.sources.t3code.reader import readonly_uri

    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    before = logical_content(db)

    def read_only_connection(path, timeout_ms=2000):
        conn = sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None)
        conn.execute("BEGIN")
        return conn

    monkeypatch.setattr(fix_run, "open_for_writing", read_only_connection)
    result = runner.invoke(app, ["fix", str(db)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("threaddoctor: error:") and "readonly database" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert logical_content(db) == before


def test_unwritable_backup_folder_is_refused_and_nothing_changes(tmp_path, monkeypatch) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    before = logical_content(db)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fix_run.journal, "backup", no_space)
    result = runner.invoke(app, ["fix", str(db)])
    assert (
        result.exit_code == 2 and "No space left on device" in result.output and "nothing was changed" in result.output
    )
    assert logical_content(db) == before


def test_corrupt_journal_entry_is_reported(tmp_path) -> None:
    db = issue_313(tmp_path / "state.sqlite", release="main-2026-08").close()
    report = fix_run.fix(db)
    Path(report.journal).write_text('{"repair_id": ')
    result = runner.invoke(app, ["undo", str(db)])
    assert result.exit_code == 2 and "unreadable journal entry" in result.output


def test_undo_by_name_in_order(tmp_path) -> None:
    b = _issue_313_and_another_thread(tmp_path)
    db = b.close()
    original = logical_content(db)
    first = fix_run.fix(db, select=["T3001", "T3002"])
    middle = logical_content(db)
    second = fix_run.fix(db, select=["T3006"])
    older = runner.invoke(app, ["undo", str(db), "--repair", first.repair_id])
    assert older.exit_code == 2 and "a later repair exists: undo that one first" in older.output
    assert runner.invoke(app, ["undo", str(db), "--repair", second.repair_id]).exit_code == 0
    assert logical_content(db) == middle
    again = runner.invoke(app, ["undo", str(db), "--repair", second.repair_id])
    assert again.exit_code == 2 and "already undone" in again.output
    assert runner.invoke(app, ["undo", str(db)]).exit_code == 0  # the last live one: the first
    assert logical_content(db) == original
