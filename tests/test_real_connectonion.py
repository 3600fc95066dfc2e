"""session_results.jsonl files written by the real ConnectOnion host (connectonion 1.9.2, recorded
offline by fixtures/connectonion/record.py) are diagnosed as what happened to them.

The records' timestamps are absolute (the recording's day); the rules compare them only with each
other and anchor them to now by the file's mtime. The tests move every timestamp of a copy so that the
host seems to have written it at a chosen time, whenever the test runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import written_ago
from threaddoctor import scan
from threaddoctor.findings import Severity

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "connectonion" / "recorded"
C_APPROVAL = "71e64bad-0fea-47de-8bf1-d5cd618e4271"  # c: approval_needed, then the client closed
D_SLOW = "8e58b384-3f6d-482b-8d07-68fbeb7cecf1"  # d: running a 120 s tool when the host got SIGKILL
D_APPROVAL = "3dbb0958-f977-4093-94a1-c11d35de674b"  # d: waiting for approval when the host got SIGKILL
APPROVAL_LOST = {(C_APPROVAL, "CO001"), (C_APPROVAL, "CO003")}
HOST_KILLED = {(D_SLOW, "CO002"), (D_APPROVAL, "CO001"), (D_APPROVAL, "CO003")}
RESTARTED = {(D_APPROVAL, "CO003")}  # the slow-tool session was reconciled with nothing pending

# (session, rule) a doctor must report for each recorded file, once it is hours old.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "a_healthy_text/session_results.jsonl": set(),
    "b_tool_call/session_results.jsonl": set(),
    "c_approval_client_gone/session_results.jsonl": APPROVAL_LOST,  # host still alive
    "c_approval_client_gone/session_results.after_same_session_retry.jsonl": APPROVAL_LOST,  # retry refused
    "c_approval_client_gone/session_results.after_second_session.jsonl": APPROVAL_LOST,  # + a done session
    "c_approval_client_gone/session_results.after_host_sigterm.jsonl": APPROVAL_LOST,  # SIGTERM leaves it
    "d_host_killed_then_restarted/session_results.before_kill.jsonl": HOST_KILLED,
    "d_host_killed_then_restarted/session_results.before_restart.jsonl": HOST_KILLED,
    "d_host_killed_then_restarted/session_results.after_restart.jsonl": RESTARTED,  # interrupted, compacted
    "d_host_killed_then_restarted/session_results.after_restart_new_session.jsonl": RESTARTED,
    "e_llm_500/session_results.jsonl": set(),  # failed, with empty messages and trace
    "f_tool_denied_by_policy/session_results.jsonl": set(),  # the refusal is the tool's (error) result
    "g_approval_approved/session_results.jsonl": set(),  # the checkpoint line is superseded by done
}


def _copy(name: str, tmp_path: Path, age: float) -> Path:
    """The file as the host left it `age` seconds ago: its records moved to end then (a plain copy
    with an old or new mtime is a copy, aged by this machine's clock: see test_liveness)."""
    return written_ago(RECORDED / name, tmp_path, age)


def _found(path: Path) -> set[tuple[str, str]]:
    result = scan(path)
    assert result.source_kind == "connectonion-sessions"
    for f in result.findings:
        assert f.location and f.location.line and f.location.logical.startswith(f"session/{f.thread_id}")
    return {(f.thread_id or "", f.rule) for f in result.findings}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_files_hours_later(name: str, tmp_path: Path) -> None:
    assert _found(_copy(name, tmp_path, 2 * 3600)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_files_just_written(name: str, tmp_path: Path) -> None:
    """Seconds after the host wrote them, approvals and turns may still be live: only what no live
    turn will finish (the reconciled session's unanswered call) is reported."""
    want = RESTARTED if "after_restart" in name else set()
    assert _found(_copy(name, tmp_path, 0)) == want


def test_approval_severity_follows_age(tmp_path: Path) -> None:
    name = "c_approval_client_gone/session_results.jsonl"
    young = {f.rule: f.severity for f in scan(_copy(name, tmp_path / "young", 30 * 60)).findings}
    old = {f.rule: f.severity for f in scan(_copy(name, tmp_path / "old", 2 * 3600)).findings}
    assert young["CO001"] == Severity.warning and old["CO001"] == Severity.error


def test_the_checkpoint_is_the_evidence(tmp_path: Path) -> None:
    """CO001 points at the waiting_approval line, and its message names the tool and the hedge."""
    result = scan(_copy("d_host_killed_then_restarted/session_results.before_kill.jsonl", tmp_path, 2 * 3600))
    (finding,) = [f for f in result.findings if f.rule == "CO001"]
    assert finding.location and finding.location.line == 5 and finding.subject == "call_mock_publish_report_2"
    assert "publish_report" in finding.message and "only stuck if no host is waiting" in finding.message


def test_every_recorded_file_is_covered() -> None:
    files = {str(p.relative_to(RECORDED)) for p in RECORDED.rglob("session_results*.jsonl")}
    assert files == set(EXPECTED)
    meta = json.loads((RECORDED / "meta.json").read_text())
    snapshots = {s["file"] for sc in meta["scenarios"].values() for s in sc["snapshots"].values()}
    assert snapshots == set(EXPECTED)
