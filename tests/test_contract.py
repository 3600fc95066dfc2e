"""The event contract: batch decoding must say exactly what row-by-row decoding says."""

from __future__ import annotations

import json

import pytest

from threaddoctor.sources.t3code.contract import contract_for

GOOD = json.dumps({"threadId": "t", "createdAt": "2026-03-07T07:00:00.000Z"})
ROWS = [
    (1, "thread.session-stop-requested", GOOD, "{}", None),
    (2, "thread.session-stop-requested", '{"threadId": "  ", "createdAt": "x"}', "{}", None),  # blank id
    (3, "thread.session-stop-requested", GOOD + ", " + GOOD, "{}", None),  # two values in one row
    (4, "thread.session-stop-requested", '{"threadId": "t"', "{}", None),  # truncated
    (5, "thread.session-stop-requested", GOOD, '{"origin": {"surface": "cli"}}', None),
    (6, "thread.unknown-thing", GOOD, "{}", None),
    (7, "thread.session-stop-requested", GOOD, "{}", "event_id"),  # empty envelope id
    (8, "thread.session-stop-requested", b"\x00", "{}", None),  # not text
    (9, "thread.session-stop-requested", GOOD, '{"providerTurnId": ""}', None),
]


@pytest.mark.parametrize("max_migration", [13, 41])
def test_batch_equals_row_by_row(max_migration: int) -> None:
    contract = contract_for(max_migration)
    batch = contract.batch_problems(ROWS)
    for seq, etype, payload, metadata, empty_id in ROWS:
        single = contract.problems(seq, etype, " " if empty_id else "e", "t", None, payload, metadata)
        assert {(p.where, p.message) for p in batch.get(seq, [])} == {(p.where, p.message) for p in single}, seq
    assert 1 not in batch
    expected_bad = {2, 3, 4, 6, 7, 8, 9} | ({5} if max_migration == 41 else set())
    assert set(batch) == expected_bad


def test_rejections_in_a_valid_array_are_found_alone() -> None:
    contract = contract_for(41)
    rows = [(i, "thread.session-stop-requested", GOOD, "{}", None) for i in range(1, 100)]
    rows[41] = (42, "thread.session-stop-requested", '{"threadId": "", "createdAt": "x"}', "{}", None)
    assert list(contract.batch_problems(rows)) == [42]


def test_deep_decode_split_across_two_processes_finds_both_halves(tmp_path, monkeypatch) -> None:
    from fixtures.t3code_builder import T3Builder
    from threaddoctor import scan
    from threaddoctor.sources.t3code import source

    b = T3Builder(tmp_path / "state.sqlite")
    b.create_thread("t")
    bad = {"threadId": "x", "createdAt": "2026-03-07T07:00:00.000Z", "turnId": ""}
    early = b.raw_event("t", "thread.turn-interrupt-requested", bad)
    for k in range(6):
        b.full_turn("t", f"turn-{k}")
    late = b.raw_event("t", "thread.turn-interrupt-requested", bad)
    b.close()
    serial = scan(b.path, select=["T3013"], deep=True)
    monkeypatch.setattr(source, "PARALLEL_MIN_EVENTS", 10)
    monkeypatch.setattr(source.os, "cpu_count", lambda: 2)
    parallel = scan(b.path, select=["T3013"], deep=True)
    assert [f.evidence_sequences for f in parallel.findings] == [[early], [late]]
    assert [f.message for f in parallel.findings] == [f.message for f in serial.findings]
    assert parallel.events_decoded == serial.events_decoded
