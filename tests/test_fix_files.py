"""Repairs of log files: appended records, verified on a copy, swapped in atomically, undoable."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.case_runner import build, load_cases
from threaddoctor import all_rules, get_rule, scan
from threaddoctor.cli import app
from threaddoctor.findings import FixSafety
from threaddoctor.fix.files import FileRefused, repair_file, undo_file
from threaddoctor.sources.detect import kind_of

runner = CliRunner()


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("THREADDOCTOR_HOME", str(tmp_path / "state"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


REPAIRABLE = [
    pytest.param(c, id=f"{c.rule}-{c.name}")
    for c in load_cases()
    if c.source != "t3code"
    and c.kind == "positive"
    and c.fix
    and get_rule(c.rule).fix_safety != FixSafety.none
    and c.options.get("age_seconds", 3600) >= 120  # live files are refused: test_a_live_file_is_not_touched
]
LIVE = [
    c
    for c in load_cases()
    if c.source != "t3code"
    and c.kind == "positive"
    and c.fix
    and c.options.get("age_seconds", 3600) < 120
    and not c.options.get("copied")  # a fresh copy of an old log: no agent writes it
    and get_rule(c.rule).fix_safety != FixSafety.none
]


@pytest.mark.parametrize("case", REPAIRABLE)
def test_every_log_repair_rescans_clean_and_undoes(case, tmp_path) -> None:
    log = build(case, "file", tmp_path / "log.jsonl").path
    original, kind = _digest(log), kind_of(log)
    before = {f.entity for f in scan(log).findings}
    dry = repair_file(log, kind, select=[case.rule], dry_run=True)
    assert dry.appended and not dry.problems and _digest(log) == original  # the dry run wrote nothing
    report = repair_file(log, kind, select=[case.rule])
    assert report.repair_id and not report.problems
    assert log.read_bytes().startswith(Path(report.backup).read_bytes())  # history kept, records appended
    assert scan(log, select=[case.rule]).findings == []
    assert {f.entity for f in scan(log).findings} <= before
    os.utime(log, (time.time() - 3600, time.time() - 3600))
    assert repair_file(log, kind, select=[case.rule]).repair_id is None  # a second run has nothing to do
    undo_file(log)
    assert _digest(log) == original


def test_every_log_rule_with_a_repair_has_a_case() -> None:
    covered = {p.values[0].rule for p in REPAIRABLE}
    assert covered == {r.code for r in all_rules() if r.fix_safety != FixSafety.none and r.source_kind != "t3code"}


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.rule}-{c.name}") for c in LIVE])
def test_a_live_file_is_not_touched(case, tmp_path) -> None:
    """Files written moments ago (a busy host's session file, a running Claude session: their newest
    records and last writes both recent) may be appended to by the agent at any time: found,
    reported, never written."""
    log = build(case, "file", tmp_path / "log.jsonl").path
    original = _digest(log)
    assert scan(log, select=[case.rule]).findings
    with pytest.raises(FileRefused, match="may still be using it"):
        repair_file(log, kind_of(log), select=[case.rule])
    result = runner.invoke(app, ["fix", str(log), "--select", case.rule])
    assert result.exit_code == 2 and "may still be using it" in result.output
    assert _digest(log) == original and not any(p.name.startswith(".") for p in log.parent.iterdir())


def test_live_cases_exist() -> None:
    assert {c.rule for c in LIVE} >= {"CO001"}


def test_undo_refused_after_the_agent_wrote_again(tmp_path) -> None:
    case = next(p.values[0] for p in REPAIRABLE if p.values[0].rule == "CX001")
    log = build(case, "file", tmp_path / "log.jsonl").path
    repair_file(log, kind_of(log), select=["CX001"])
    with log.open("ab") as f:
        f.write(b'{"timestamp":"2026-05-24T22:00:00.000Z","type":"event_msg","payload":{"type":"task_started"}}\n')
    result = runner.invoke(app, ["undo", str(log)])
    assert result.exit_code == 2 and "written to since repair" in result.output


def test_cli_fix_and_undo_a_codex_rollout(tmp_path) -> None:
    case = next(p.values[0] for p in REPAIRABLE if p.values[0].rule == "CX001")
    log = build(case, "file", tmp_path / "log.jsonl").path
    original = _digest(log)
    dry = runner.invoke(app, ["fix", str(log), "--dry-run"])
    assert dry.exit_code == 1 and '"turn_aborted"' in dry.output and "Dry run: nothing was written." in dry.output
    done = runner.invoke(app, ["fix", str(log)])
    assert done.exit_code in (0, 1) and "Appended 1 record(s)" in done.output, done.output
    assert not any(p.name.startswith(".") for p in log.parent.iterdir())  # no temporary file left
    assert not list(log.parent.glob("*.threaddoctor*"))  # backups live in the state directory
    assert runner.invoke(app, ["undo", str(log)]).exit_code == 0
    assert _digest(log) == original


REPORT_ONLY = [pytest.param(c, id=f"{c.rule}-{c.name}") for c in load_cases() if c.source != "t3code" and not c.fix]


@pytest.mark.parametrize("case", REPORT_ONLY)
def test_log_cases_marked_without_repair_propose_none(case, tmp_path) -> None:
    log = build(case, "file", tmp_path / "log.jsonl").path
    findings = scan(log, select=[case.rule]).findings
    assert findings and all(f.repair is None for f in findings)


CLAUDE = Path(__file__).resolve().parents[1] / "fixtures" / "claude" / "recorded"


@pytest.mark.parametrize("scenario", ["kill_during_tool", "interactive_kill_during_tool"])
def test_repaired_real_transcript_answers_every_tool_use_on_its_chain(scenario, tmp_path) -> None:
    """Transcripts the real CLI left after a SIGKILL during Bash: after the repair, walking the
    chain resume uses from the newest leaf finds a tool_result for every tool_use."""
    from threaddoctor.sources.claude.transcript import open_transcript

    (recorded,) = [p for p in (CLAUDE / scenario).glob("*.jsonl") if re.fullmatch(r"[0-9a-f-]{36}", p.stem)]
    log = tmp_path / recorded.name
    log.write_bytes(recorded.read_bytes())
    os.utime(log, (time.time() - 3600, time.time() - 3600))
    assert {f.rule for f in scan(log).findings} == {"CC001"}
    repair_file(log, kind_of(log))
    transcript = open_transcript(log)
    answered: set[str] = set()
    for entry in reversed(transcript.chain):  # from the leaf back: results come after their tool_use
        answered.update(entry.tool_results)
        for tool_use_id, _ in entry.tool_uses:
            assert tool_use_id in answered, f"{tool_use_id} on line {entry.line} has no tool_result after it"
    assert any(e.tool_uses for e in transcript.chain)
    assert scan(log).findings == []


def test_zstd_rollout_is_read_and_never_appended_to(tmp_path) -> None:
    import zstandard

    recorded = Path(__file__).resolve().parents[1] / "fixtures" / "codex" / "recorded" / "slow_tool_killed"
    (plain,) = (recorded / "rollout").rglob("rollout-*.jsonl")
    packed = tmp_path / (plain.name + ".zst")
    packed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    os.utime(packed, (time.time() - 3600, time.time() - 3600))
    result = scan(packed)
    assert result.source_kind == "codex-rollout" and {f.rule for f in result.findings} == {"CX001", "CX003"}
    assert [f.location.line for f in result.findings if f.rule == "CX001"] == [2]
    before = _digest(packed)
    with pytest.raises(FileRefused, match="compressed log"):
        repair_file(packed, kind_of(packed))
    assert _digest(packed) == before


def test_subagent_transcript_repair_wears_the_subagent_envelope(tmp_path) -> None:
    import json

    from tests.helpers import aged_copy

    agent = next((CLAUDE / "subagent_kill").rglob("agent-*.jsonl"))
    log = aged_copy(agent, tmp_path)
    neighbours = [json.loads(line) for line in log.read_text().splitlines()]
    repair_file(log, kind_of(log))
    appended = json.loads(log.read_text().splitlines()[-1])
    assert appended["isSidechain"] is True and appended["agentId"] == neighbours[-1]["agentId"]
    assert appended["parentUuid"] == neighbours[-1]["uuid"]
    assert scan(log).findings == []
