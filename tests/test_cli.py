"""The command line: exit codes, selection, JSON output, rule listing, database discovery."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures.t3code_scenarios import healthy, issue_313
from threaddoctor import all_rules
from threaddoctor.cli import app

runner = CliRunner()


def test_findings_exit_1_and_report_grouped_by_thread(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite")
    b.close()
    result = runner.invoke(app, ["scan", str(b.path)])
    assert result.exit_code == 1
    assert f"thread {b.ids['t313']}" in result.output
    assert "T3001 sticky-transient-error" in result.output and "T3002 orphan-pending-turn" in result.output
    assert "2026-03-07T07:23:49.663Z" in result.output
    assert "Found 2 problems (2 errors) in 1 thread" in result.output


def test_healthy_database_exits_0_with_nothing_reported(tmp_path) -> None:
    b = healthy(tmp_path / "state.sqlite")
    b.close()
    result = runner.invoke(app, ["scan", str(b.path)])
    assert result.exit_code == 0
    assert "No problems found" in result.output
    doc = json.loads(runner.invoke(app, ["scan", str(b.path), "--format", "json"]).output)
    assert doc["findings"] == [] and doc["summary"]["findings"] == 0


def test_json_schema(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite")
    b.close()
    result = runner.invoke(app, ["scan", str(b.path), "--format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["format_version"] == 1
    assert doc["source"]["kind"] == "t3code" and doc["source"]["path"] == str(b.path)
    assert doc["summary"]["findings"] == 2 and doc["summary"]["error"] == 2 and doc["summary"]["threads"] == 1
    for f in doc["findings"]:
        assert set(f) == {
            "rule",
            "name",
            "severity",
            "thread_id",
            "turn_id",
            "message",
            "since",
            "evidence_sequences",
            "evidence",
            "repair",
            "subject",
            "location",
            "fingerprint",
        }
        assert f["location"]["path"] == str(b.path) and f["location"]["logical"].startswith(f"thread/{b.ids['t313']}")
        assert f["thread_id"] == b.ids["t313"]
        assert all(isinstance(s, int) for s in f["evidence_sequences"]) and f["evidence_sequences"]
        assert f["repair"]["safety"] == "safe" and f["repair"]["steps"]


def test_select_and_ignore_by_code_prefix_and_name(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite")
    b.close()

    def rules_found(*args: str) -> set[str]:
        out = runner.invoke(app, ["scan", str(b.path), "--format", "json", *args]).output
        return {f["rule"] for f in json.loads(out)["findings"]}

    assert rules_found("--select", "T3001") == {"T3001"}
    assert rules_found("--select", "orphan-pending-turn") == {"T3002"}
    assert rules_found("--select", "T300") == {"T3001", "T3002"}
    assert rules_found("--ignore", "T3001,sticky-transient-error") == {"T3002"}
    assert rules_found("--select", "T3", "--ignore", "T3002") == {"T3001"}
    result = runner.invoke(app, ["scan", str(b.path), "--select", "T3011"])
    assert result.exit_code == 0


def test_rules_and_explain() -> None:
    listing = runner.invoke(app, ["rules", "--format", "json"])
    rules = json.loads(listing.output)
    assert [r["code"] for r in rules] == [r.code for r in all_rules()]
    for r in rules:
        assert r["name"] == r["name"].lower() and " " not in r["name"]
        assert len(r["explanation"]) > 200 and r["fix_safety"] in {"safe", "unsafe", "none"}
    result = runner.invoke(app, ["explain", "orphan-pending-turn"])
    assert result.exit_code == 0 and "T3002 orphan-pending-turn" in result.output
    assert "Fix safety (safe)" in result.output


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Every agent's home inside tmp_path, so the machine's own files never count."""
    for var, name in (("T3CODE_HOME", "t3home"), ("CODEX_HOME", "codex"), ("CLAUDE_CONFIG_DIR", "claude")):
        monkeypatch.setenv(var, str(tmp_path / name))
    monkeypatch.delenv("T3CODE_STATE_DIR", raising=False)
    monkeypatch.delenv("CODEX_SQLITE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_locations(homes) -> None:
    (homes / "t3home" / "userdata").mkdir(parents=True)
    issue_313(homes / "t3home" / "userdata" / "state.sqlite").close()
    recorded = Path(__file__).parents[1] / "fixtures" / "codex" / "recorded" / "slow_tool_killed" / "rollout"
    (rollout,) = recorded.rglob("rollout-*.jsonl")
    day = homes / "codex" / "sessions" / "2026" / "11" / "21"
    day.mkdir(parents=True)
    shutil.copy(rollout, day / rollout.name)
    os.utime(day / rollout.name, (time.time() - 3600, time.time() - 3600))
    result = runner.invoke(app, ["scan"])
    assert result.exit_code == 1
    assert "scanning 2 file(s) (T3 Code: 1, Codex: 1)" in result.output
    doc = json.loads(runner.invoke(app, ["scan", "--format", "json"]).output)
    assert [s["source"]["kind"] for s in doc["sources"]] == ["t3code", "codex-rollout"]
    assert {f["rule"] for s in doc["sources"] for f in s["findings"]} == {"T3001", "T3002", "CX001", "CX003"}


def test_nothing_found_in_default_locations(homes) -> None:
    result = runner.invoke(app, ["scan"])
    assert result.exit_code == 2 and "no agent state found" in result.output
    assert str(homes / "codex" / "sessions") in result.output


def test_example_ships_with_the_package() -> None:
    result = runner.invoke(app, ["scan", "--example", "--format", "json"])
    assert result.exit_code == 1
    assert {f["rule"] for f in json.loads(result.output)["findings"]} == {"T3001", "T3002"}


def test_titles_with_brackets_are_shown_as_written(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite")
    b.conn.execute(
        "UPDATE projection_threads SET title = '[approve] fix [red]it[/red]' WHERE thread_id = ?", (b.ids["t313"],)
    )
    b.close()
    result = runner.invoke(app, ["scan", str(b.path)])
    assert "“[approve] fix [red]it[/red]”" in result.output
