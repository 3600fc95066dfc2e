"""When an agent may still be writing its log, nothing in it is judged an orphan and nothing is
repaired: a process holding the file open (Codex keeps its rollout open), a transcript ending on a
tool call that may still run, a subagent still writing its own file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import aged_copy
from threaddoctor import scan
from threaddoctor.fix.files import repair_file
from threaddoctor.sources.files import liveness

CODEX = Path(__file__).resolve().parents[1] / "fixtures" / "codex" / "recorded" / "slow_tool_killed"
CLAUDE = Path(__file__).resolve().parents[1] / "fixtures" / "claude" / "recorded" / "kill_during_tool"


@pytest.fixture(autouse=True)
def fresh_listing(monkeypatch):
    monkeypatch.setattr(liveness, "_OPEN_FILES", (0.0, set()))  # no listing cached from another test


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_rollout_held_open_is_live(tmp_path) -> None:
    (source,) = CODEX.rglob("rollout-*.jsonl")
    rollout = aged_copy(source, tmp_path)
    assert {f.rule for f in scan(rollout).findings} >= {"CX001"}
    with rollout.open("ab"):  # as Codex's recorder holds it while the session runs
        liveness._OPEN_FILES = (0.0, set())
        assert "CX001" not in {f.rule for f in scan(rollout).findings}
        before = rollout.read_bytes()
        assert not repair_file(rollout, "codex-rollout", select=["CX001"]).appended
        assert rollout.read_bytes() == before


def test_a_transcript_ending_on_a_tool_call_is_live_while_the_tool_may_run(tmp_path) -> None:
    source = CLAUDE / "dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"
    transcript = aged_copy(source, tmp_path)
    _age(transcript, 300)  # Bash may run ten minutes without a write
    assert scan(transcript).findings == []
    assert not repair_file(transcript, "claude-transcript", select=["CC001"]).appended
    _age(transcript, 700)
    assert [f.rule for f in scan(transcript).findings] == ["CC001"]


def test_a_subagent_still_writing_keeps_its_session_live(tmp_path) -> None:
    source = CLAUDE / "dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"
    transcript = aged_copy(source, tmp_path)
    _age(transcript, 3600)
    subagents = transcript.with_suffix("") / "subagents"
    subagents.mkdir(parents=True)
    (subagents / "agent-a1b2c3d4e5f607182.jsonl").write_text('{"type":"user","isSidechain":true}\n')
    assert scan(transcript).findings == []
    _age(subagents / "agent-a1b2c3d4e5f607182.jsonl", 3600)
    assert [f.rule for f in scan(transcript).findings] == ["CC001"]
