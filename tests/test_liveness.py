"""When an agent may still be writing its log, its current turn is not judged and nothing is
repaired, and every output says what was left unjudged. The evidence must survive a copy: a
process holding the file open (Codex keeps its rollout open), or the file's own newest record
recent together with a recent write (a transcript ending on a tool call that may still run, a
subagent still writing its own file). A fresh copy of an old log is judged in full."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import aged_copy, written_ago
from threaddoctor import LiveCheck, ThreadDoctorError, scan
from threaddoctor.cli import app
from threaddoctor.fix.files import repair_file
from threaddoctor.report import outputs
from threaddoctor.sources.files import liveness

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CODEX = FIXTURES / "codex" / "recorded" / "slow_tool_killed"
CLAUDE = FIXTURES / "claude" / "recorded" / "kill_during_tool"
CLAUDE_KILLED = CLAUDE / "dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"


@pytest.fixture(autouse=True)
def fresh_listing(monkeypatch):
    monkeypatch.setattr(liveness, "_OPEN_FILES", (0.0, {}))  # no listing cached from another test


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _rollout(tmp_path: Path) -> Path:
    (source,) = CODEX.rglob("rollout-*.jsonl")
    return aged_copy(source, tmp_path)


def test_a_rollout_held_open_is_live(tmp_path) -> None:
    rollout = _rollout(tmp_path)
    assert {f.rule for f in scan(rollout).findings} >= {"CX001"}
    with rollout.open("ab"):  # as Codex's recorder holds it while the session runs
        liveness._OPEN_FILES = (0.0, {})
        result = scan(rollout)
        assert "CX001" not in {f.rule for f in result.findings}
        assert {(u.rule, u.what) for u in result.unjudged} == {("CX001", "turn"), ("CX003", "call")}
        assert any(f"held open by pid {os.getpid()}" in n for n in result.notes)
        before = rollout.read_bytes()
        assert not repair_file(rollout, "codex-rollout", select=["CX001"]).appended
        assert rollout.read_bytes() == before


def test_a_fresh_copy_of_a_killed_rollout_is_judged(tmp_path) -> None:
    """The copy's mtime is now, but its newest record is weeks old: nothing is writing it."""
    (source,) = CODEX.rglob("rollout-*.jsonl")
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    result = scan(copy)
    assert {f.rule for f in result.findings} == {"CX001", "CX003"} and result.unjudged == []


def test_a_rollout_its_agent_just_wrote_is_live(tmp_path) -> None:
    (source,) = CODEX.rglob("rollout-*.jsonl")
    rollout = written_ago(source, tmp_path, 30)
    result = scan(rollout)
    assert result.findings == [] and {u.rule for u in result.unjudged} == {"CX001", "CX003"}
    assert "1 turn and 1 call not judged (CX001, CX003): written 30 s ago" in result.notes[0]
    assert {f.rule for f in scan(rollout, live_check=LiveCheck.off).findings} == {"CX001", "CX003"}
    checked = scan(rollout, live_check=LiveCheck.held_open)  # `check`: only an open handle counts
    assert {f.rule for f in checked.findings} == {"CX001", "CX003"} and checked.unjudged == []


def test_settled_judges_even_a_log_held_open(tmp_path) -> None:
    rollout = _rollout(tmp_path)
    with rollout.open("ab"):
        liveness._OPEN_FILES = (0.0, {})
        assert scan(rollout, live_check=LiveCheck.held_open).unjudged != []
        result = scan(rollout, live_check=LiveCheck.off)
        assert {f.rule for f in result.findings} == {"CX001", "CX003"} and result.unjudged == []


def test_a_transcript_ending_on_a_tool_call_is_live_while_the_tool_may_run(tmp_path) -> None:
    transcript = written_ago(CLAUDE_KILLED, tmp_path, 300)  # Bash may run ten minutes without a write
    result = scan(transcript)
    assert result.findings == [] and [(u.rule, u.what) for u in result.unjudged] == [("CC001", "call")]
    assert not repair_file(transcript, "claude-transcript", select=["CC001"]).appended
    transcript = written_ago(CLAUDE_KILLED, tmp_path, 700)
    assert [f.rule for f in scan(transcript).findings] == ["CC001"]


def test_a_subagent_still_writing_keeps_its_session_live(tmp_path) -> None:
    transcript = aged_copy(CLAUDE_KILLED, tmp_path)
    subagents = transcript.with_suffix("") / "subagents"
    subagents.mkdir(parents=True)
    now = datetime.now().astimezone().isoformat(timespec="milliseconds")
    agent = subagents / "agent-a1b2c3d4e5f607182.jsonl"
    agent.write_text(json.dumps({"type": "user", "isSidechain": True, "timestamp": now}) + "\n")
    result = scan(transcript)
    assert result.findings == [] and [u.rule for u in result.unjudged] == ["CC001"]
    _age(agent, 3600)
    assert [f.rule for f in scan(transcript).findings] == ["CC001"]


def test_a_touched_subagent_file_with_old_records_keeps_nothing_live(tmp_path) -> None:
    transcript = aged_copy(CLAUDE_KILLED, tmp_path)
    subagents = transcript.with_suffix("") / "subagents"
    subagents.mkdir(parents=True)
    (subagents / "agent-a1b2c3d4e5f607182.jsonl").write_text(
        '{"type":"user","isSidechain":true,"timestamp":"2026-05-24T21:27:14.630Z"}\n'
    )
    assert [f.rule for f in scan(transcript).findings] == ["CC001"]


# ---- every recorded log, copied --------------------------------------------------------------
_ISO = re.compile(rb'"timestamp":\s*"(\d{4}-\d\d-\d\dT[^"]+)"')
_EPOCH = re.compile(rb'"updated_at":\s*(\d+(?:\.\d+)?)')
# What the programs themselves wrote: not the mock servers' request logs, not stderr.
_NOT_LOGS = {"mock_requests.jsonl"}


def _recorded_logs() -> list[Path]:
    logs = []
    for tool in ("codex", "claude", "connectonion"):
        for p in sorted((FIXTURES / tool / "recorded").rglob("*.jsonl")):
            if p.name not in _NOT_LOGS:
                logs.append(p)
    return logs


def _written_at(data: bytes) -> float:
    """When the program last wrote the file: its newest timestamp (read here independently of
    threaddoctor), else a day ago."""
    times = [datetime.fromisoformat(m.decode().replace("Z", "+00:00")).timestamp() for m in _ISO.findall(data)]
    times += [float(m) for m in _EPOCH.findall(data)]
    return max(times, default=time.time() - 86400)


def _as_left(tree: Path) -> None:
    """Every file's mtime set to the time its program last wrote it, as on the recording machine."""
    for p in tree.rglob("*"):
        if p.is_file():
            at = _written_at(p.read_bytes()) if p.suffix == ".jsonl" else time.time() - 86400
            os.utime(p, (at, at))


def _unpack_sqlite(tree: Path) -> None:
    for packed in tree.rglob("thread_history_1.sqlite*.gz"):
        packed.with_name(packed.name.removesuffix(".gz")).write_bytes(gzip.decompress(packed.read_bytes()))


def _what(path: Path, live_check: LiveCheck = LiveCheck.recent) -> list[tuple]:
    try:
        result = scan(path, live_check=live_check)
    except ThreadDoctorError as e:
        return [("error", str(e).replace(str(path), "<file>"))]
    return sorted(
        (f.rule, f.severity.value, f.thread_id, f.turn_id, f.subject, f.location.line if f.location else None)
        for f in result.findings
    ) + sorted(("unjudged", u.rule, u.subject) for u in result.unjudged)


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> tuple[Path, Path]:
    """The recorded fixtures twice: as their programs left them, and copied with fresh mtimes."""
    original = tmp_path_factory.mktemp("original")
    copied = tmp_path_factory.mktemp("copied")
    for tool in ("codex", "claude", "connectonion"):
        shutil.copytree(FIXTURES / tool / "recorded", original / tool / "recorded")
        _unpack_sqlite(original / tool)
        _as_left(original / tool)
        shutil.copytree(FIXTURES / tool / "recorded", copied / tool / "recorded", copy_function=shutil.copyfile)
        _unpack_sqlite(copied / tool)
    return original, copied


@pytest.mark.parametrize("log", [str(p.relative_to(FIXTURES)) for p in _recorded_logs()])
def test_a_fresh_copy_gives_the_findings_of_the_original(trees, log: str) -> None:
    original, copied = trees
    assert time.time() - (copied / log).stat().st_mtime < 600  # the copy is fresh
    assert time.time() - (original / log).stat().st_mtime > 660  # older than any live window (a tool's ten minutes)
    assert _what(copied / log) == _what(original / log)


@pytest.mark.parametrize("scenario", ["slow_tool_killed", "resume_after_kill", "plain_text"])
def test_a_fresh_copy_of_a_thread_history_database_is_judged(trees, scenario: str) -> None:
    original, copied = trees
    db = Path("codex") / "recorded" / scenario / "sqlite" / "thread_history_1.sqlite"
    assert _what(copied / db) == _what(original / db)


def test_the_copies_are_judged_at_all(trees) -> None:
    """The comparison above would hold if both were left unjudged: the killed runs are found."""
    _, copied = trees
    (rollout,) = (copied / "codex" / "recorded" / "slow_tool_killed" / "rollout").rglob("*.jsonl")
    assert {r[0] for r in _what(rollout)} == {"CX001", "CX003"}
    assert {r[0] for r in _what(copied / CLAUDE_KILLED.relative_to(FIXTURES))} == {"CC001"}
    co = copied / "connectonion" / "recorded" / "c_approval_client_gone" / "session_results.jsonl"
    assert {r[0] for r in _what(co)} == {"CO001", "CO003"}


# ---- every output names what was left unjudged -----------------------------------------------
def test_a_turn_left_unjudged_is_named_in_every_output_format(tmp_path) -> None:
    (source,) = CODEX.rglob("rollout-*.jsonl")
    rollout = written_ago(source, tmp_path, 40)
    result = scan(rollout)
    (turn,) = [u for u in result.unjudged if u.what == "turn"]
    text = outputs.render("text", [result], None)
    assert "1 turn and 1 call not judged (CX001, CX003): written 40 s ago" in text
    assert "No problems found" in text and "not judged: the agent may still be writing" in text.splitlines()[-1]
    doc = json.loads(outputs.render("json", [result], None))
    assert any("not judged" in n for n in doc["notes"])
    assert {(u["rule"], u["what"], u["subject"]) for u in doc["unjudged"]} >= {("CX001", "turn", turn.subject)}
    sarif = json.loads(outputs.render("sarif", [result], None))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    named = [n for n in notes if n.get("associatedRule", {}).get("id") == "CX001"]
    assert named and "written 40 s ago" in named[0]["message"]["text"]
    assert named[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == turn.line
    junit = outputs.render("junit", [result], None)
    assert re.search(r'<testsuites [^>]*skipped="2"', junit) and '<skipped message="turn not judged' in junit
    github = outputs.render("github", [result], None)
    assert f"::notice file={rollout},line={turn.line},title=CX001 not judged::turn {turn.subject} not judged" in github


def test_the_sarif_with_unjudged_items_is_valid(tmp_path) -> None:
    from tests.test_outputs import VALIDATOR

    (source,) = CODEX.rglob("rollout-*.jsonl")
    result = scan(written_ago(source, tmp_path, 10))
    doc = json.loads(outputs.render("sarif", [result], None))
    assert list(VALIDATOR.iter_errors(doc)) == []


def test_check_judges_an_exported_log_that_scan_leaves(tmp_path) -> None:
    (source,) = CODEX.rglob("rollout-*.jsonl")
    rollout = written_ago(source, tmp_path, 20)
    scanned = CliRunner().invoke(app, ["scan", str(rollout)])
    assert scanned.exit_code == 0 and "not judged" in scanned.output
    checked = CliRunner().invoke(app, ["check", str(rollout)])
    assert checked.exit_code == 1 and "CX001" in checked.output and "not judged" not in checked.output
    settled = CliRunner().invoke(app, ["scan", "--settled", str(rollout)])
    assert settled.exit_code == 1 and "CX001" in settled.output


def test_a_recorded_connectonion_file_just_written_leaves_its_waiting_sessions_unjudged(tmp_path) -> None:
    source = FIXTURES / "connectonion" / "recorded" / "c_approval_client_gone" / "session_results.jsonl"
    result = scan(written_ago(source, tmp_path, 5))
    assert result.findings == []
    assert {(u.rule, u.what) for u in result.unjudged} == {("CO001", "approval"), ("CO003", "call")}
    assert re.search(r"not judged \(CO001, CO003\): waiting \d s for an approval that may still come", result.notes[0])
    assert {f.rule for f in scan(written_ago(source, tmp_path, 5), live_check=LiveCheck.held_open).findings} == {
        "CO001",
        "CO003",
    }
