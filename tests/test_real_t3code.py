"""Databases written by the real T3 Code server (three builds, twelve scenarios each, recorded with the
real Codex CLI against a loopback model; fixtures/t3code/README.md says how and what each left) are
diagnosed as what happened to them: the stuck ones reported, the clean ones silent."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import snapshot
from threaddoctor import Severity, all_rules, scan
from threaddoctor.fix import run as fix_run

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "t3code" / "recorded"
MAIN = "main-2e1d98d98"  # the fork's main: start-up recovery interrupts what a killed server left
NIGHTLY = "nightly-1a003e383"  # v0.0.33-nightly: no start-up recovery
V0028 = "v0.0.28-fda648623"  # v0.0.28: no start-up recovery either
BUILDS = (MAIN, NIGHTLY, V0028)
SCENARIOS = (
    "empty",
    "healthy",
    "killed-mid-stream",
    "killed-mid-stream-restarted",
    "reconnect",
    "retries-exhausted",
    "tool-call",
    "killed-mid-tool",
    "killed-mid-tool-restarted",
    "stopped-mid-stream",
    "approval-killed",
    "approval-restarted",
    "approval-stopped",
)

SERVER_GONE = "T3015"  # session and runtime running, no server: cut off
NO_PROVIDER = "T3005"  # session running, runtime stopped: nothing will report back
DEAD_APPROVAL = "T3008"  # an approval whose provider callback is gone

# What each recording is (the README's table), and what a doctor must say of it: the rule and its
# severity for the recording's one thread. An info finding is reported but fails nothing: on main the
# next start recovers the thread by itself (its `-restarted` recordings show it doing so).
RECOVERED_AT_START = Severity.info
STUCK_FOR_GOOD = Severity.error
EXPECTED: dict[str, dict[str, dict[str, Severity]]] = {
    MAIN: {
        # Killed: all still running, no server. The next start interrupts turn and session ...
        "killed-mid-stream": {SERVER_GONE: RECOVERED_AT_START},
        "killed-mid-tool": {SERVER_GONE: RECOVERED_AT_START},
        # ... but leaves the approval pending (approval-restarted): nobody can answer it.
        "approval-killed": {SERVER_GONE: RECOVERED_AT_START, DEAD_APPROVAL: Severity.error},
        # Recovered by the restart or by the clean shutdown: turn and session interrupted.
        "killed-mid-stream-restarted": {},
        "killed-mid-tool-restarted": {},
        "stopped-mid-stream": {},
        "approval-restarted": {DEAD_APPROVAL: Severity.error},
        "approval-stopped": {DEAD_APPROVAL: Severity.error},
    },
    NIGHTLY: {
        "killed-mid-stream": {SERVER_GONE: STUCK_FOR_GOOD},
        "killed-mid-tool": {SERVER_GONE: STUCK_FOR_GOOD},
        "approval-killed": {SERVER_GONE: STUCK_FOR_GOOD, DEAD_APPROVAL: Severity.error},
        # No recovery: the session still runs its turn, the runtime was stopped by the clean stop.
        "killed-mid-stream-restarted": {NO_PROVIDER: Severity.error},
        "killed-mid-tool-restarted": {NO_PROVIDER: Severity.error},
        "stopped-mid-stream": {NO_PROVIDER: Severity.error},
        "approval-restarted": {NO_PROVIDER: Severity.error, DEAD_APPROVAL: Severity.error},
        "approval-stopped": {NO_PROVIDER: Severity.error, DEAD_APPROVAL: Severity.error},
    },
}
EXPECTED[V0028] = dict(EXPECTED[NIGHTLY])  # it left what the nightly left, scenario by scenario
# Finished turns (completed, or the error Codex gave up with), and the schema alone: nothing stuck.
CLEAN = ("empty", "healthy", "reconnect", "retries-exhausted", "tool-call")
for _build in BUILDS:
    EXPECTED[_build].update({s: {} for s in CLEAN})

# Until the server-gone rule and fork ledgers (issue 17, items 1-2) are in this tree, the recordings
# that need them wait for them; every other expectation runs.
HAS_SERVER_GONE = any(r.code == SERVER_GONE for r in all_rules())
NEEDS_ISSUE_17 = pytest.mark.skipif(not HAS_SERVER_GONE, reason="needs T3015 server-gone and fork ledgers")


def _needs(build: str, scenario: str) -> bool:
    return build == MAIN or SERVER_GONE in EXPECTED[build][scenario]


def _cases(pairs):
    return [pytest.param(b, s, marks=NEEDS_ISSUE_17) if _needs(b, s) else (b, s) for b, s in pairs]


CASES = [(b, s) for b in BUILDS for s in SCENARIOS]
STUCK = [(b, s) for b, s in CASES if EXPECTED[b][s]]
# Stuck until someone repairs it: a finding above information level.
REPAIRABLE = [(b, s) for b, s in STUCK if set(EXPECTED[b][s].values()) - {Severity.info}]


def _copy(build: str, scenario: str, folder: Path) -> Path:
    """The recording as a bug report would bring it: a copy, no server-runtime.json beside it."""
    target = folder / build / "state.sqlite"
    target.parent.mkdir(parents=True)
    shutil.copy(RECORDED / build / f"{scenario}.sqlite", target)
    return target


def _facts(db: Path) -> dict[str, str | None]:
    """The recording's thread and the turn it was running, read with sqlite3 (not threaddoctor)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        thread = conn.execute("SELECT thread_id FROM projection_threads").fetchone()
        turn = conn.execute("SELECT turn_id FROM projection_turns ORDER BY requested_at DESC").fetchone()
        approval = conn.execute(
            "SELECT request_id FROM projection_pending_approvals WHERE status = 'pending'"
        ).fetchone()
    finally:
        conn.close()
    return {
        "thread": thread and thread[0],
        "turn": turn and turn[0],
        "approval": approval and approval[0],
    }


def _reported(findings) -> dict[str, Severity]:
    return {f.rule: f.severity for f in findings if f.thread_id is not None}


def test_every_recording_is_covered_and_as_recorded() -> None:
    for build in BUILDS:
        sums = {}
        for line in (RECORDED / build / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            sums[name] = digest
        assert {n.removesuffix(".sqlite") for n in sums if n.endswith(".sqlite")} == set(SCENARIOS)
        assert set(EXPECTED[build]) == set(SCENARIOS)
        for name, digest in sums.items():
            assert hashlib.sha256((RECORDED / build / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(("build", "scenario"), _cases(CASES))
def test_recordings_are_diagnosed_as_their_scenario_says(build: str, scenario: str, tmp_path: Path) -> None:
    db = _copy(build, scenario, tmp_path)
    facts = _facts(db)
    result = scan(db)
    assert result.source_kind == "t3code"
    assert _reported(result.findings) == EXPECTED[build][scenario]
    for f in result.findings:
        if f.thread_id is None:  # database-level: the fork's ledger may be named, but it fails nothing
            assert f.severity == Severity.info, f.message
            continue
        assert f.thread_id == facts["thread"]
        if f.rule in (SERVER_GONE, NO_PROVIDER):
            assert f.turn_id == facts["turn"]  # the turn the server was running when it went
        if f.rule == DEAD_APPROVAL:
            assert f.subject == facts["approval"]


@NEEDS_ISSUE_17
@pytest.mark.parametrize(
    ("build", "scenario"), [(b, s) for b, s in STUCK if b != MAIN and SERVER_GONE in EXPECTED[b][s]]
)
def test_without_recovery_the_cut_off_thread_stays_stuck(build: str, scenario: str, tmp_path: Path) -> None:
    (finding,) = scan(_copy(build, scenario, tmp_path), select=[SERVER_GONE]).findings
    assert "no start-up recovery" in finding.message and finding.repair is not None


@NEEDS_ISSUE_17
@pytest.mark.parametrize("scenario", [s for b, s in STUCK if b == MAIN and SERVER_GONE in EXPECTED[b][s]])
def test_with_recovery_the_next_start_recovers_it(scenario: str, tmp_path: Path) -> None:
    (finding,) = scan(_copy(MAIN, scenario, tmp_path), select=[SERVER_GONE]).findings
    assert "next start" in finding.message and "stays stuck" not in finding.message


@NEEDS_ISSUE_17
@pytest.mark.parametrize("build", BUILDS)
def test_a_live_server_holding_the_killed_database_is_not_judged(build: str, tmp_path: Path) -> None:
    """The same file, but server-runtime.json names a live process that started before it was
    written: that server may still be streaming, so nothing it runs is called cut off."""
    db = _copy(build, "killed-mid-stream", tmp_path)
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record = {"version": 1, "pid": os.getpid(), "port": 3773, "origin": "http://127.0.0.1:3773", "startedAt": started}
    (db.parent / "server-runtime.json").write_text(json.dumps(record))
    assert scan(db, select=[SERVER_GONE]).findings == []


def _warnings(findings) -> set[tuple[str, str | None]]:
    return {(f.rule, f.thread_id) for f in findings if f.severity != Severity.info}


@pytest.mark.parametrize(("build", "scenario"), _cases([(b, s) for b, s in REPAIRABLE if b != MAIN]))
def test_the_repair_works_on_server_written_data(build: str, scenario: str, tmp_path: Path) -> None:
    """fix on a copy: every safe repair applies and verifies, the repaired rules re-scan clean and
    nothing new appears."""
    db = _copy(build, scenario, tmp_path)
    before = scan(db).findings
    repairable = {f.rule for f in before if f.repair is not None}
    assert repairable == {f.rule for f in before if f.severity != Severity.info}
    report = fix_run.fix(db)
    assert report.outcome and report.outcome.steps and not report.outcome.problems
    assert scan(db, select=sorted(repairable)).findings == []
    after = scan(db).findings
    assert {f.entity for f in after} <= {f.entity for f in before}
    assert _warnings(after) == set()  # every stuck state here has a safe repair


@NEEDS_ISSUE_17
@pytest.mark.parametrize("scenario", [s for b, s in REPAIRABLE if b == MAIN])
def test_a_fork_ledger_is_read_but_never_written(scenario: str, tmp_path: Path) -> None:
    """main's migrations 41-44 are the fork's own: the rules run, but fix refuses the file in one
    line and leaves it as it was (the user repairs it with the build that wrote it)."""
    db = _copy(MAIN, scenario, tmp_path)
    files = snapshot(db)
    with pytest.raises(fix_run.Refused, match="nothing will be written"):
        fix_run.fix(db)
    assert snapshot(db) == files and not Path(f"{db}.threaddoctor").exists()
