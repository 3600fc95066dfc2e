"""Run logs written by the real Claude Code CLI (2.1.197, recorded offline by fixtures/claude/record.py,
record_more.py and record_stream.py: the stream-json stdout of every -p run and long-lived session),
and claude-code-action execution files built from them (fixtures/claude/execution_file.py), are
diagnosed as what happened to them: the killed runs and the exhausted retries are reported; the
healthy, tool-call, interrupted and recovered runs report nothing at warning level or above."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import aged_copy
from threaddoctor import scan
from threaddoctor.cli import app
from threaddoctor.findings import Severity
from threaddoctor.sources.files import liveness

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "claude" / "recorded"
RETRY_RECOVERED = {"CR003"}  # information: never at warning level

# Every recorded run log, and the rules a doctor must report on it (information included).
EXPECTED: dict[str, set[str]] = {
    # Healthy -p runs: a text answer; a Bash call answered; the same with partial messages.
    "text/run.stdout.jsonl": set(),
    "tool/run.stdout.jsonl": set(),
    "stream_partial/run.stdout.jsonl": set(),
    # SIGKILL while Bash ran: the turn has no result, its call no tool_result.
    "kill_during_tool/run.stdout.jsonl": {"CR001", "CR004"},
    "compact_kill_during_tool/4_after.stdout.jsonl": {"CR001", "CR004"},
    "compact_after_kill/3_killed.stdout.jsonl": {"CR001", "CR004"},
    # SIGKILL while a subagent's Bash ran: the Agent call and the subagent's Bash call are open.
    "subagent_kill/run.stdout.jsonl": {"CR001", "CR004"},
    # -p and SIGINT mid-stream: 2.1.197 wrote only its init line before it exited.
    "interrupt_stream/run.stdout.jsonl": {"CR001"},
    # Retries disabled, one 529: success with is_error true. Retries exhausted: two api_retry lines first.
    "api_error/run.stdout.jsonl": {"CR002"},
    "retries_exhausted/run.stdout.jsonl": {"CR002"},
    # One 529, retried, recovered: information only.
    "api_error_retry/run.stdout.jsonl": RETRY_RECOVERED,
    # Long-lived sessions fed on stdin: two clean turns; killed in the second; interrupted twice.
    "session_two_prompts/run.stdout.jsonl": set(),
    "session_killed/run.stdout.jsonl": {"CR001", "CR004"},
    "session_interrupt/run.stdout.jsonl": set(),
    # claude-code-action execution files built from the recorded streams.
    "tool/claude-execution-output.json": set(),
    "retries_exhausted/claude-execution-output.json": {"CR002"},
    "kill_during_tool/claude-execution-output.json": {"CR001", "CR004"},
}
HEALTHY_RESUMES = sorted(
    str(p.relative_to(RECORDED))
    for p in RECORDED.rglob("*.stdout.jsonl")
    if str(p.relative_to(RECORDED)) not in EXPECTED
)


def _copy(name: str, tmp_path: Path, age: float = 3600) -> Path:
    return aged_copy(RECORDED / name, tmp_path, age)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_run_logs(name: str, tmp_path: Path) -> None:
    result = scan(_copy(name, tmp_path))
    assert result.source_kind == "claude-run"
    assert {f.rule for f in result.findings} == EXPECTED[name]
    for f in result.findings:
        assert f.thread_id and f.turn_id and f.location.line


@pytest.mark.parametrize("name", HEALTHY_RESUMES)
def test_the_other_recorded_runs_are_healthy(name: str, tmp_path: Path) -> None:
    """Every other stream-json stdout kept by the recorders (resumes, compactions, subagents)."""
    result = scan(_copy(name, tmp_path))
    assert result.source_kind == "claude-run"
    assert [f.rule for f in result.findings] == []


def test_every_recorded_scenario_with_a_transcript_kept_its_run_log() -> None:
    """The -p and stdin scenarios keep their stream-json stdout beside the transcript (the
    interactive ones ran in a terminal, and keep the screen instead)."""
    for folder in sorted(p for p in RECORDED.iterdir() if p.is_dir()):
        if folder.name.startswith("interactive_"):
            assert (folder / "screen.txt").is_file()
            continue
        assert any(folder.rglob("*.stdout.jsonl")), folder.name


def test_the_killed_session_says_what_was_running_and_names_its_transcript(tmp_path: Path) -> None:
    """The run log and the transcript side by side: the finding names both."""
    folder = RECORDED / "session_killed"
    log = _copy("session_killed/run.stdout.jsonl", tmp_path)
    (transcript,) = folder.glob("????????-*.jsonl")
    aged_copy(transcript, tmp_path)
    result = scan(log)
    unfinished = next(f for f in result.findings if f.rule == "CR001")
    assert unfinished.turn_id == "turn-2"  # the first turn ended cleanly and stays clean
    assert "a tool was running: Bash toolu_mock_0003_174d10e0 (line 11)" in unfinished.message
    assert str(tmp_path / transcript.name) in unfinished.message
    assert {"path": str(tmp_path / transcript.name)} in [e.key for e in unfinished.evidence]
    assert unfinished.since == "2026-12-04T20:08:40.133Z"  # the second prompt, the newest timestamp


def test_the_transcript_is_found_in_the_claude_config_folder(tmp_path: Path, monkeypatch) -> None:
    log = _copy("retries_exhausted/run.stdout.jsonl", tmp_path)
    (transcript,) = (RECORDED / "retries_exhausted").glob("????????-*.jsonl")
    projects = tmp_path / "config" / "projects" / "-tmp-claude-rec-scratch-retries-exhausted-work-proj"
    projects.mkdir(parents=True)
    shutil.copy(transcript, projects / transcript.name)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    (failed,) = scan(log).findings
    assert failed.rule == "CR002" and str(projects / transcript.name) in failed.message
    assert "retries exhausted after 2 api_retry line(s), the last attempt 2 of 2, HTTP 529 overloaded" in failed.message


def test_a_run_log_being_written_has_its_current_turn_left_alone_and_named(tmp_path: Path) -> None:
    """Held open, as the CLI holds its stdout while it runs the tool: the current turn is not
    judged, and the result says so; the clean first turn is judged either way. A fresh copy of
    the old log (a new modification time, old records) is judged in full."""
    log = _copy("session_killed/run.stdout.jsonl", tmp_path, age=5)
    assert {f.rule for f in scan(log).findings} == {"CR001", "CR004"}
    with log.open("ab"):
        liveness._OPEN_FILES = (0.0, {})
        result = scan(log)
    assert result.findings == []
    assert sorted((u.rule, u.what, u.subject) for u in result.unjudged) == [
        ("CR001", "turn", "turn-2"),
        ("CR004", "call", "toolu_mock_0003_174d10e0"),
    ]


def test_the_recovered_retry_is_information_only(tmp_path: Path) -> None:
    (finding,) = scan(_copy("api_error_retry/run.stdout.jsonl", tmp_path)).findings
    assert finding.severity is Severity.info
    assert "attempt 1 of 10, HTTP 529 overloaded" in finding.message


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("tool/claude-execution-output.json", 0),
        ("api_error_retry/run.stdout.jsonl", 0),  # information never fails a check
        ("session_interrupt/run.stdout.jsonl", 0),
        ("retries_exhausted/claude-execution-output.json", 1),
        ("kill_during_tool/claude-execution-output.json", 1),
    ],
)
def test_check_in_ci(name: str, status: int, tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["check", str(_copy(name, tmp_path)), "--output-format", "json"])
    assert out.exit_code == status, out.output
    assert json.loads(out.output)["findings"] is not None


def test_the_execution_file_is_the_stream_as_the_action_writes_it() -> None:
    """One pretty-printed array of the stream's messages, up to the result (JSON.stringify(m, null, 2))."""
    text = (RECORDED / "tool" / "claude-execution-output.json").read_text()
    stream = [json.loads(line) for line in (RECORDED / "tool" / "run.stdout.jsonl").read_text().splitlines()]
    assert json.loads(text) == stream and text.startswith('[\n  {\n    "type": "system"') and not text.endswith("\n")


def test_a_damaged_last_line_is_reported_and_named_as_what_was_last_seen(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    lines = (RECORDED / "session_killed" / "run.stdout.jsonl").read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:9]) + lines[9][:70])  # the second turn's first answer, cut mid-write
    then = time.time() - 3600
    os.utime(log, (then, then))
    found = {f.rule: f for f in scan(log).findings}
    assert set(found) == {"LOG001", "CR001"}
    assert "the last line was cut off mid-write (line 10" in found["CR001"].message


def test_an_execution_file_cut_off_midway_is_damage_and_an_unfinished_turn(tmp_path: Path) -> None:
    text = (RECORDED / "tool" / "claude-execution-output.json").read_text()
    cut = tmp_path / "claude-execution-output.json"
    cut.write_text(text[: text.index('"tool_result"')])
    then = time.time() - 3600
    os.utime(cut, (then, then))
    result = scan(cut)
    assert result.source_kind == "claude-run"
    assert {f.rule for f in result.findings} == {"LOG001", "CR001", "CR004"}
    damage = next(f for f in result.findings if f.rule == "LOG001")
    assert "the array ends inside a record" in damage.message


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("[]", "an empty JSON array"),
        ('[{"name": "x"}]', "not of Claude Code run-log messages"),
        ("[1, 2", "not of Claude Code run-log messages"),
    ],
)
def test_an_array_that_is_no_run_log_is_a_one_line_error(content: str, said: str, tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text(content)
    out = CliRunner().invoke(app, ["scan", str(path)])
    assert out.exit_code == 2 and said in out.output and "Traceback" not in out.output


def test_a_transcript_is_still_a_transcript_and_a_run_log_a_run_log() -> None:
    from threaddoctor.sources.detect import kind_of

    assert kind_of(RECORDED / "tool" / "686cee7e-637c-45bb-bd87-8736ca8aff71.jsonl") == "claude-transcript"
    assert kind_of(RECORDED / "tool" / "run.stdout.jsonl") == "claude-run"
    assert kind_of(RECORDED / "tool" / "claude-execution-output.json") == "claude-run"
