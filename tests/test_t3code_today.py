"""T3 Code as users run it today (issue 17): stable 0.0.42's start-up, ledgers to 61 and forks',
and servers that are gone. Every database here is built by the builder, and conftest checks that
its effect_sql_migrations is byte for byte as built after everything below ran on it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fixtures.t3code_builder import FORK_LEDGER, T3Builder
from tests.case_runner import ledger_rows
from threaddoctor import scan
from threaddoctor.findings import FixSafety, Severity
from threaddoctor.fix import run as fix_run
from threaddoctor.fix.plan import Selection
from threaddoctor.sources.t3code.vocabulary import ATTACHMENT_CLEANUP_CURSOR, PROJECTORS, STARTUP_RECONCILE_ERROR


def _cursors(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT projector, last_applied_sequence FROM projection_state").fetchall())
    finally:
        conn.close()


def _stable_042(tmp_path: Path, deleted: bool = False) -> tuple[T3Builder, list[int]]:
    b = T3Builder(tmp_path / "state.sqlite", "v0.0.42")
    b.create_thread("t")
    legacy = [b.legacy_message("t"), b.legacy_message("t", "again")]
    b.legacy_message("t", "null is fine", turn_key=True)
    b.full_turn("t", "a")
    if deleted:
        b.create_thread("gone")
        b.send_message("gone", "m", "see the screenshot")
        b.delete_thread("gone")
    b.close()
    return b, legacy


def test_042_reports_turnid_less_rows_above_the_cleanup_cursor_citing_them(tmp_path) -> None:
    b, legacy = _stable_042(tmp_path)
    result = scan(b.path)
    crashes = [f for f in result.findings if f.rule == "T3013"]
    assert sorted(s for f in crashes for s in f.evidence_sequences) == legacy  # not the "turnId": null one
    assert all(f.severity is Severity.error and '["turnId"] is missing' in f.message for f in crashes)
    assert all("T3016's repair" in f.message for f in crashes)
    # The nine projectors alone would not read them: this is the cleanup cursor's doing.
    assert min(_cursors(b.path)[p] for p in PROJECTORS) > max(legacy)


def test_cleanup_cursor_at_0_is_reported_with_what_the_next_start_decodes(tmp_path) -> None:
    b, _ = _stable_042(tmp_path)
    head = max(_cursors(b.path).values())
    (finding,) = [f for f in scan(b.path).findings if f.rule == "T3016"]
    assert f"decodes all {head} event(s) after sequence 0" in finding.message and "of event JSON" in finding.message
    assert finding.repair and finding.repair.safety is FixSafety.safe


def test_cleanup_repair_moves_only_that_cursor_and_the_start_then_skips_the_rows(tmp_path) -> None:
    b, _ = _stable_042(tmp_path)
    before = _cursors(b.path)
    report = fix_run.fix(b.path, select=["T3016"])
    assert report.outcome and not report.outcome.problems
    after = _cursors(b.path)
    assert {p: after[p] for p in PROJECTORS} == {p: before[p] for p in PROJECTORS}  # projectors untouched
    assert after[ATTACHMENT_CLEANUP_CURSOR] == min(before[p] for p in PROJECTORS)
    findings = scan(b.path).findings
    assert not [f for f in findings if f.rule == "T3016" or (f.rule == "T3013" and f.severity is Severity.error)]
    fix_run.undo(b.path)
    assert _cursors(b.path) == before


def test_cleanup_repair_is_unsafe_when_a_deletion_lies_in_the_skipped_range(tmp_path) -> None:
    b, _ = _stable_042(tmp_path, deleted=True)
    (finding,) = [f for f in scan(b.path).findings if f.rule == "T3016"]
    assert finding.repair and finding.repair.safety is FixSafety.unsafe
    assert f"thread {b.ids['gone']} deleted" in finding.repair.summary
    before = _cursors(b.path)
    assert fix_run.fix(b.path, select=["T3016"]).outcome is None  # held back without --unsafe-fixes
    assert _cursors(b.path) == before
    fix_run.fix(b.path, select=["T3016"], selection=Selection(unsafe=True))
    assert _cursors(b.path)[ATTACHMENT_CLEANUP_CURSOR] == min(before[p] for p in PROJECTORS)


def _killed_mid_turn(path: Path, release: str | None = "v0.0.29", ledger=None) -> T3Builder:
    b = T3Builder(path, release or "main-2026-08", ledger=ledger)
    b.create_thread("t")
    b.full_turn("t", "a")
    b.send_message("t", "m")
    b.turn_started("t", "b")
    b.assistant_delta("t", "b", "r")
    return b


def test_server_killed_mid_turn_is_reported_and_repaired_as_recovery_would(tmp_path) -> None:
    b = _killed_mid_turn(tmp_path / "state.sqlite")
    b.server_runtime(live=False)
    b.close()
    (finding,) = [f for f in scan(b.path).findings if f.rule == "T3015"]
    assert "is dead" in finding.message and "no start-up recovery" in finding.message
    assert finding.since and finding.turn_id == b.ids["b"]
    fix_run.fix(b.path, select=["T3015"])
    conn = sqlite3.connect(b.path)
    session = conn.execute("SELECT status, active_turn_id, last_error FROM projection_thread_sessions").fetchone()
    runtime = conn.execute("SELECT status, runtime_payload_json FROM provider_session_runtime").fetchone()
    conn.close()
    assert session == ("error", None, STARTUP_RECONCILE_ERROR)
    assert runtime[0] == "stopped" and json.loads(runtime[1])["activeTurnId"] is None
    assert not [f for f in scan(b.path).findings if f.severity is not Severity.info]


def test_same_database_with_a_live_server_is_not_judged(tmp_path) -> None:
    b = _killed_mid_turn(tmp_path / "state.sqlite")
    b.server_runtime(live=True)
    b.close()
    result = scan(b.path)
    assert not [f for f in result.findings if f.rule == "T3015"]
    assert any("T3 Code's server runs on it" in n for n in result.notes)


def test_fork_ledger_runs_every_rule_whose_tables_are_there(tmp_path) -> None:
    b = _killed_mid_turn(tmp_path / "state.sqlite", ledger=FORK_LEDGER)
    b.close()
    result = scan(b.path)
    ledger = [f for f in result.findings if f.rule == "T3014"]
    assert len(ledger) == 1 and ledger[0].severity is Severity.info  # reported once
    assert "Unrecognized migration history at 41:ProviderSessionGenerations" in ledger[0].message
    (gone,) = [f for f in result.findings if f.rule == "T3015"]  # that fork recovers at start (#7719 merged)
    assert gone.severity is Severity.info and "next start" in gone.message and "cheruvian" in gone.message
    (note,) = [n for n in result.notes if "ran " in n]
    assert "could not run" not in note and "T3015" in note and "T3001" in note
    assert len(result.rules_run) == len([r for r in result.rules_run if r.startswith("T3")]) >= 16
    with pytest.raises(fix_run.Refused, match="migration history"):
        fix_run.fix(b.path)


def test_a_ledger_without_a_rules_columns_names_the_rules_it_could_not_run(tmp_path) -> None:
    # A fork of v0.0.22 whose own 23 never added the shell-summary counters.
    b = T3Builder(tmp_path / "state.sqlite", ledger=ledger_rows({"upstream": 22, "then": {23: "ForkShellCounters"}}))
    b.create_thread("t")
    b.close()
    result = scan(b.path)
    (note,) = [n for n in result.notes if "could not run" in n]
    assert "T3010 (needs projection_threads.pending_approval_count" in note
    assert "T3010" not in result.rules_run and "T3005" in result.rules_run


@pytest.mark.parametrize(
    "spec",
    [
        {"upstream": 54},
        {"upstream": 61},
        {"upstream": 52, "then": {53: "OrchestrationV2"}},
        {"upstream": 53, "then": {54: "OrchestrationV2"}},
        {"upstream": 53, "then": {54: "ProjectionThreadIssues", 55: "WorkItemLinks"}},
        "split-v2",
    ],
)
def test_known_ledgers_are_read_without_refusal(spec, tmp_path) -> None:
    b = T3Builder(tmp_path / "state.sqlite", ledger=ledger_rows(spec))
    b.create_thread("t")
    b.close()
    result = scan(b.path)
    assert not [f for f in result.findings if f.rule == "T3014" and f.severity is Severity.error]


def test_a_refused_ledger_is_reported_with_the_apps_message(tmp_path) -> None:
    b = T3Builder(tmp_path / "state.sqlite", "main-2026-08", migration_names={37: "OrchestrationV2"})
    b.close()
    (finding,) = [f for f in scan(b.path).findings if f.rule == "T3014"]
    assert finding.severity is Severity.error
    assert '"Unrecognized migration history at 37:OrchestrationV2"' in finding.message


def test_engine_has_no_per_format_branch() -> None:
    """Every format comes in through the registry; the engine names none of them."""
    import re

    import threaddoctor.engine as engine
    from threaddoctor.sources import detect
    from threaddoctor.sources.registry import OPENERS

    text = Path(engine.__file__).read_text()
    assert not re.search(r"t3code|codex|claude|connectonion|sqlite3|immutable", text, re.IGNORECASE)
    kinds = set(re.findall(r'return "([a-z0-9-]+)"', Path(detect.__file__).read_text()))
    kinds |= {"t3code-export", "t3code-v2-export"}  # returned by a conditional expression
    assert kinds <= set(OPENERS)


def test_an_immutable_read_overtaken_by_a_writer_is_read_again(tmp_path, monkeypatch) -> None:
    from threaddoctor.sources.t3code import source as t3

    b = _killed_mid_turn(tmp_path / "state.sqlite")
    b.close()
    reads: list[bool] = []
    real = t3.open_t3

    def counting(path, deep=False, progress=None, allow_immutable=True):
        src = real(path, deep=deep, progress=progress, allow_immutable=allow_immutable)
        reads.append(src.snapshot.immutable)
        if src.snapshot.immutable:
            Path(f"{path}-wal").write_bytes(b"")  # the app opened the file meanwhile
        return src

    monkeypatch.setattr(t3, "open_t3", counting)
    result = scan(b.path)
    assert reads == [True, False] and [f for f in result.findings if f.rule == "T3015"]
