"""Rollouts written by the real Codex CLI (0.169.0, recorded offline by fixtures/codex/record.py)
are diagnosed as what happened to them: the healthy ones report nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import aged_copy
from threaddoctor import scan

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "codex" / "recorded"

# What each recorded scenario is (fixtures/codex/record.py), and what a doctor must say of it.
EXPECTED = {
    "plain_text": set(),
    "tool_call": set(),
    "transient_retry": set(),  # reconnects that recovered leave no trace in the rollout
    "interrupted_stream": set(),  # Ctrl-C: turn_aborted(interrupted) is a clean end
    "retries_exhausted": {"CX002"},  # task_complete carrying the error
    "killed_during_stream": {"CX001"},
    "slow_tool_killed": {"CX001", "CX003"},
    "resume_after_kill": {"CX003"},  # the resumed turn finished the killed one; its call is history (info)
}


def _rollout(scenario: str, tmp_path: Path) -> Path:
    (found,) = (RECORDED / scenario / "rollout").rglob("rollout-*.jsonl")
    return aged_copy(found, tmp_path)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_recorded_rollouts(scenario: str, tmp_path: Path) -> None:
    result = scan(_rollout(scenario, tmp_path))
    assert result.source_kind == "codex-rollout"
    assert {f.rule for f in result.findings} == EXPECTED[scenario]
    for f in result.findings:
        assert f.thread_id and f.location.line and f.location.line > 1


def test_a_resumed_rollout_passes_check(tmp_path: Path) -> None:
    """Killed during `sleep 30`, then resumed: Codex appended a turn that completed, so the old
    call without output is history, reported as information, and `check` passes."""
    from typer.testing import CliRunner

    from threaddoctor.cli import app

    rollout = _rollout("resume_after_kill", tmp_path)
    (finding,) = scan(rollout).findings
    assert (finding.rule, finding.severity.value, finding.subject) == ("CX003", "info", "call_mock_1")
    assert "the turn at line 13 completed, so this is history" in finding.message
    result = CliRunner().invoke(app, ["check", str(rollout)])
    assert result.exit_code == 0 and "CX003" in result.output
    killed = CliRunner().invoke(app, ["check", str(_rollout("slow_tool_killed", tmp_path))])
    assert killed.exit_code == 1  # the current turn's orphan call still fails it


def test_every_scenario_is_covered() -> None:
    assert {p.name for p in RECORDED.iterdir() if p.is_dir()} == set(EXPECTED)


# The `codex exec --json` stream of the same runs, as CI would have captured it.
EXPECTED_EXEC = {
    "plain_text": set(),
    "tool_call": set(),
    "transient_retry": {"CE001"},  # two "error" lines that were retries: reported as information
    "retries_exhausted": {"CE002"},
    "interrupted_stream": {"CE003"},  # Ctrl-C prints no terminal event
    "killed_during_stream": {"CE003"},
    "slow_tool_killed": {"CE003"},
    "resume_after_kill": {"CE003"},  # the first run's stream; the resume has its own
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_EXEC))
def test_recorded_exec_streams(scenario: str) -> None:
    result = scan(RECORDED / scenario / "exec.jsonl")
    assert result.source_kind == "codex-exec"
    assert {f.rule for f in result.findings} == EXPECTED_EXEC[scenario]
    severities = {f.rule: f.severity.value for f in result.findings}
    assert severities.get("CE001", "info") == "info"  # a recovered reconnect never fails a build


def test_resumed_stream_is_clean() -> None:
    assert scan(RECORDED / "resume_after_kill" / "resume.exec.jsonl").findings == []


def test_information_alone_does_not_fail_the_check() -> None:
    from typer.testing import CliRunner

    from threaddoctor.cli import app

    result = CliRunner().invoke(app, ["check", str(RECORDED / "transient_retry" / "exec.jsonl")])
    assert result.exit_code == 0 and "CE001 codex-exec-reconnect-recovered" in result.output
    failed = CliRunner().invoke(app, ["check", str(RECORDED / "retries_exhausted" / "exec.jsonl")])
    assert failed.exit_code == 1


# Codex's thread-history database of the same runs (restored next to its WAL, as Codex left it).
EXPECTED_HISTORY = {
    "plain_text": set(),
    "tool_call": set(),
    "retries_exhausted": set(),
    "slow_tool_killed": {"CX101"},
    "resume_after_kill": {"CX101"},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_HISTORY))
def test_recorded_thread_history(scenario: str, tmp_path: Path) -> None:
    import gzip

    for packed in (RECORDED / scenario / "sqlite").glob("thread_history_1.sqlite*.gz"):
        target = tmp_path / packed.name.removesuffix(".gz")
        target.write_bytes(gzip.decompress(packed.read_bytes()))
        os.utime(target, (time.time() - 3600, time.time() - 3600))
    result = scan(tmp_path / "thread_history_1.sqlite")
    assert result.source_kind == "codex-sqlite"
    assert {f.rule for f in result.findings} == EXPECTED_HISTORY[scenario]
