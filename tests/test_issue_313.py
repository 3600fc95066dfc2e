"""Issue #313 reproduced: the sticky reconnect error and the orphan pending turn, with the
event sequences and timestamps of the report."""

from __future__ import annotations

import json
import sqlite3

import pytest

from fixtures.t3code_scenarios import (
    ISSUE_313_ERROR_AT,
    ISSUE_313_FOLLOW_UP_AT,
    ISSUE_313_LAST_PROVIDER_AT,
    issue_313,
)
from threaddoctor import scan


@pytest.fixture(params=["v0.0.9", "main-2026-08"])
def db(request, tmp_path):
    b = issue_313(tmp_path / "state.sqlite", release=request.param)
    b.close()
    return b


def _seq(db_path, event_type: str, at: str) -> int:
    conn = sqlite3.connect(db_path)
    (seq,) = conn.execute(
        "SELECT sequence FROM orchestration_events WHERE event_type = ? AND occurred_at = ?", (event_type, at)
    ).fetchone()
    conn.close()
    return seq


def test_names_sticky_error_and_orphan_pending_turn(db) -> None:
    result = scan(db.path)
    by_rule = {f.rule: f for f in result.findings}
    assert set(by_rule) == {"T3001", "T3002"}
    thread = db.ids["t313"]

    sticky = by_rule["T3001"]
    assert sticky.thread_id == thread and sticky.turn_id == db.ids["turn-2"]
    assert sticky.since == ISSUE_313_ERROR_AT
    error_seq = _seq(db.path, "thread.session-set", ISSUE_313_ERROR_AT)
    last_seq = _seq(db.path, "thread.activity-appended", ISSUE_313_LAST_PROVIDER_AT)
    assert sticky.evidence_sequences[0] == error_seq
    assert sticky.evidence_sequences[-1] == last_seq
    assert [e.occurred_at for e in sticky.evidence if e.sequence == last_seq] == [ISSUE_313_LAST_PROVIDER_AT]
    step = sticky.repair.steps[0]
    assert step.event_type == "thread.session-set"
    assert step.payload["session"]["status"] == "ready" and step.payload["session"]["lastError"] is None

    orphan = by_rule["T3002"]
    assert orphan.thread_id == thread and orphan.since == ISSUE_313_FOLLOW_UP_AT
    request_seq = _seq(db.path, "thread.turn-start-requested", ISSUE_313_FOLLOW_UP_AT)
    assert orphan.evidence_sequences[0] == request_seq
    assert last_seq in orphan.evidence_sequences
    pending = [e for e in orphan.evidence if e.table == "projection_turns"]
    assert pending and pending[0].values["turn_id"] is None and pending[0].values["state"] == "pending"
    assert pending[0].values["requested_at"] == ISSUE_313_FOLLOW_UP_AT


def test_repair_follows_the_release(db) -> None:
    orphan = next(f for f in scan(db.path).findings if f.rule == "T3002")
    step = orphan.repair.steps[0]
    if db.release.name == "v0.0.9":  # no event removes the placeholder before v0.0.29
        assert step.action == "delete-row" and step.table == "projection_turns"
    else:
        assert step.event_type == "thread.session-set"
        assert step.payload["session"]["status"] == "interrupted"
        assert step.payload["session"]["activeTurnId"] is None


def test_repair_payloads_decode_under_the_release_contract(db) -> None:
    from threaddoctor.sources.t3code.contract import contract_for

    contract = contract_for(db.release.max_migration)
    for f in scan(db.path).findings:
        for step in f.repair.steps:
            if hasattr(step, "payload"):
                assert (
                    contract.problems(1, step.event_type, "e", step.stream_id, "c", json.dumps(step.payload), "{}")
                    == []
                )
