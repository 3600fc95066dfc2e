"""Rollouts written by the real Codex CLI (0.169.0, recorded offline by fixtures/codex/record.py)
are diagnosed as what happened to them: the healthy ones report nothing."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

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
    "resume_after_kill": {"CX003"},  # the resumed turn finished the killed one; its call has no output
}


def _rollout(scenario: str, tmp_path: Path) -> Path:
    (found,) = (RECORDED / scenario / "rollout").rglob("rollout-*.jsonl")
    copy = tmp_path / found.name
    shutil.copy(found, copy)
    old = time.time() - 3600  # a checkout is fresh; the file is not being written by a live Codex
    os.utime(copy, (old, old))
    return copy


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_recorded_rollouts(scenario: str, tmp_path: Path) -> None:
    result = scan(_rollout(scenario, tmp_path))
    assert result.source_kind == "codex-rollout"
    assert {f.rule for f in result.findings} == EXPECTED[scenario]
    for f in result.findings:
        assert f.thread_id and f.location.line and f.location.line > 1


def test_every_scenario_is_covered() -> None:
    assert {p.name for p in RECORDED.iterdir() if p.is_dir()} == set(EXPECTED)
