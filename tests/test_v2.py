"""Orchestration V2 homes: which file is scanned and said so in every output, what fix refuses,
healthy homes, export and check, read-only opening. The stuck states themselves are the cases of
T3101-T3107 (tests/cases/T31*-v2-*.yaml)."""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures.t3code_v2_builder import V2Builder
from threaddoctor import scan
from threaddoctor.cli import app
from threaddoctor.findings import Severity
from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.locations import discover
from threaddoctor.sources.t3code.v2.home import choose

runner = CliRunner()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def healthy(home: Path) -> V2Builder:
    """Stable history copied and imported, V2 runs finished, an answered approval, a settled
    delegation, a clean shutdown."""
    b = V2Builder(home)
    b.stable_thread("old", turns=2)
    b.create_thread("t")
    b.start_run("t", "r1")
    b.request("t", "r1", "q")
    b.resolve_request("t", "q")
    b.complete_run("t", "r1")
    b.create_thread("c")
    b.start_run("t", "r2")
    b.subagent("t", "r2", "s", "c")
    b.start_run("c", "cr")
    b.complete_run("c", "cr")
    b.set_subagent("t", "s", "completed")
    b.complete_run("t", "r2")
    b.shutdown()
    b.close()
    return b


def stuck(home: Path) -> V2Builder:
    """One of each stuck state recovery leaves, after a crash and a restart."""
    b = V2Builder(home)
    b.stable_thread("old")
    b.create_thread("ask")
    b.start_run("ask", "r")
    b.request("ask", "r", "q", capability="message")
    b.create_thread("bg")
    b.start_run("bg", "r")
    b.background_task("bg", "r", "item")
    b.create_thread("p")
    b.start_run("p", "pr")
    b.create_thread("c")
    b.subagent("p", "pr", "s", "c")
    b.start_run("c", "cr")
    b.complete_run("c", "cr")
    b.create_thread("broken")
    b.start_run("broken", "br")
    b.complete_run("broken", "br")
    b.break_payload("threads", "broken")
    b.crash()
    b.restart()
    b.stable_after_copy("old")
    b.unprojected("ask")
    b.close()
    return b


@pytest.fixture(scope="module")
def stuck_home(tmp_path_factory) -> V2Builder:
    return stuck(tmp_path_factory.mktemp("stuck"))


def test_home_with_both_files_scans_v2_and_reports_each_stuck_state(stuck_home) -> None:
    choice = choose(stuck_home.home)
    assert choice is not None and choice.path == stuck_home.path
    result = scan(choice.path)
    assert result.source_kind == "t3code-v2"
    alias = {v: k for k, v in stuck_home.ids.items()}
    got = {(f.rule, alias.get(f.thread_id, f.thread_id), f.severity) for f in result.findings}
    assert got == {
        ("T3102", "ask", Severity.warning),
        ("T3103", "bg", Severity.warning),
        ("T3104", "p", Severity.warning),
        ("T3105", "old", Severity.warning),
        ("T3106", None, Severity.warning),
        ("T3107", "broken", Severity.warning),
    }
    assert "T3014" in result.rules_run  # the ledger rule reads V2 files too: upstream's 1-61 is no collision


def test_healthy_v2_home_reports_nothing_at_warning_or_above(tmp_path) -> None:
    b = healthy(tmp_path)
    result = scan(b.path)
    assert result.rules_run == ["T3014", *(f"T310{i}" for i in range(1, 8))]
    assert [f for f in result.findings if f.severity is not Severity.info] == []


@pytest.mark.parametrize("where", ["home", "userdata", "discovered"])
def test_scan_says_which_file_in_every_output_format(stuck_home, tmp_path, where, monkeypatch) -> None:
    monkeypatch.setenv("T3CODE_HOME", str(stuck_home.home))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    target = {"home": [str(stuck_home.home)], "userdata": [str(stuck_home.userdata)], "discovered": []}[where]
    files = {k: tmp_path / f"out.{k}" for k in ("json", "sarif", "junit", "github", "text")}
    args = ["scan", *target, *(x for k, p in files.items() for x in (f"--{k}-output", str(p)))]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    left_behind = f"{stuck_home.v1_path} is the V1 file left behind"
    text = " ".join(files["text"].read_text().split())  # the text report wraps long notes
    assert "the installed T3 Code is an Orchestration V2 build" in text
    doc = json.loads(files["json"].read_text())
    assert doc["source"]["path"] == str(stuck_home.path)
    assert any(left_behind in n for n in doc["notes"])
    sarif = json.loads(files["sarif"].read_text())
    notes = [
        n["message"]["text"]
        for run in sarif["runs"]
        for inv in run["invocations"]
        for n in inv.get("toolExecutionNotifications", [])
    ]
    assert any(left_behind in n for n in notes)
    assert left_behind in "".join(ET.parse(files["junit"]).getroot().itertext())
    assert any(
        line.startswith("::notice") and "V1 file left behind" in line
        for line in files["github"].read_text().splitlines()
    )
    assert left_behind in text


def test_discovery_finds_the_v2_file(stuck_home, tmp_path) -> None:
    env = {"T3CODE_HOME": str(stuck_home.home), "CODEX_HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(tmp_path)}
    assert discover(env, cwd=tmp_path)["T3 Code"] == [stuck_home.path]


def test_fix_refuses_the_stale_v1_file(stuck_home) -> None:
    before = _digest(stuck_home.v1_path), _digest(stuck_home.path)
    for extra in ([], ["--dry-run"]):
        r = runner.invoke(app, ["fix", *extra, str(stuck_home.v1_path)])
        assert r.exit_code == 2
        message = r.stderr.strip()
        assert len(message.splitlines()) == 1 and "V1 file left behind" in message
    assert (_digest(stuck_home.v1_path), _digest(stuck_home.path)) == before


def test_fix_on_the_v2_file_writes_nothing(stuck_home) -> None:
    before = _digest(stuck_home.path)
    r = runner.invoke(app, ["fix", str(stuck_home.path)])
    assert r.exit_code == 1  # findings remain, all report-only
    assert _digest(stuck_home.path) == before


def test_a_stable_build_used_since_makes_state_sqlite_the_live_file(tmp_path) -> None:
    b = V2Builder(tmp_path)
    b.create_thread("t")
    b.stable_after_copy("t2", new=True)  # back on Stable: state.sqlite written last
    b.close()
    choice = choose(tmp_path)
    assert choice is not None and choice.path == b.v1_path
    assert "Stable (V1) build" in choice.notes[0]
    assert runner.invoke(app, ["fix", "--dry-run", str(b.v1_path)]).exit_code != 2


def test_scan_is_read_only(stuck_home) -> None:
    listing = sorted(os.listdir(stuck_home.userdata))
    before = _digest(stuck_home.path), _digest(stuck_home.v1_path)
    scan(stuck_home.path)
    assert sorted(os.listdir(stuck_home.userdata)) == listing  # no -wal / -shm created
    assert (_digest(stuck_home.path), _digest(stuck_home.v1_path)) == before


@pytest.mark.parametrize("redact", [False, True])
def test_check_on_a_v2_export_finds_what_the_database_has(stuck_home, tmp_path, redact) -> None:
    out = tmp_path / "v2.jsonl"
    r = runner.invoke(app, ["export", str(stuck_home.path), "-o", str(out), *(["--redact"] if redact else [])])
    assert r.exit_code == 0, r.output
    header = json.loads(out.read_text().splitlines()[0])
    assert header["orchestration"] == "v2"
    db = {(f.rule, f.thread_id, f.subject) for f in scan(stuck_home.path).findings if f.rule != "T3105"}
    exported = scan(out)
    assert exported.source_kind == "t3code-v2-export"
    assert {(f.rule, f.thread_id, f.subject) for f in exported.findings} == db  # T3105 needs state.sqlite beside it
    assert all(f.location.line and f.location.line >= 1 for f in exported.findings)
    text = out.read_text()
    assert ("Please continue." in text) is not redact


def test_deep_checks_every_projection_payload(tmp_path) -> None:
    """By default T3107 checks what the next start decodes; --deep (open_v2(deep=True)) every row."""
    from threaddoctor.rules import get_rule
    from threaddoctor.sources.t3code.v2.source import open_v2

    b = V2Builder(tmp_path)
    b.create_thread("t")
    b.start_run("t", "r")
    b.complete_run("t", "r")
    b.break_payload("runs", "r")
    b.close()
    rule = get_rule("T3107")
    for deep, expected in ((False, []), (True, [f"orchestration_v2_projection_runs:{b.ids['r']}"])):
        src = open_v2(b.path, ReadOptions(deep=deep))
        try:
            assert [f.subject for f in rule.detect(src)] == expected
        finally:
            src.close()
