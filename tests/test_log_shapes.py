"""The benchmark's log shapes (bench/log_shapes.py), built small and damaged at random, read the
same on the fast path and line by line: every fact the rules read and every finding they make.

The shapes are those the fast path is tuned for (many short records, large uniform ones, rare very
large lines with non-ASCII text and a torn last line); the damage is what agents' writers leave
(bytes inserted, cut or changed) and what resumes and re-appends do to lines (dropped, repeated,
swapped). Chunks of 1 KB and a worker for every file, so every path runs on a few hundred KB."""

from __future__ import annotations

import random

import pytest

from bench import log_shapes
from tests.test_chunks import _calls_in_window, _damaged, _transcript_facts
from threaddoctor.engine import run_rules
from threaddoctor.rules import rules_for
from threaddoctor.sources.claude import transcript
from threaddoctor.sources.codex import rollout
from threaddoctor.sources.files import chunks

SIZE = 120_000


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(chunks, "PARALLEL_MIN_BYTES", 0)


def _rollout_facts(src: rollout.CodexRollout) -> tuple:
    return (
        src.thread_id,
        src.cli_version,
        src.history_mode,
        src.records,
        src.next_ordinal,
        src.last_timestamp,
        [(t.turn_id, t.explicit, t.line, t.state, t.end_line, t.end_detail, t.rolled_back) for t in src.turns],
        src.current,
        [(c.call_id, c.kind, c.name, c.line, c.output_line, c.turn, c.transport) for c in src.calls.values()],
        [c.call_id for c in src.unanswered_calls()],
        [c.call_id for c in src.dropped_calls()],
        [(p.line, p.what) for p in src.ordinal_problems],
        [(p.line, p.what, p.detail) for p in src.reader.problems],
    )


def _findings(src) -> list[tuple]:
    """What each rule reports (a repair's record is stamped with the time it is made: left out)."""
    found = run_rules(src, rules_for(src.kinds[0]) + rules_for("jsonl")).findings
    return [(f.rule, f.subject, f.turn_id, f.message, [e.key for e in f.evidence]) for f in found]


def _lines_mutated(data: bytes, rng: random.Random) -> bytes:
    """Whole lines dropped, repeated or swapped: what a crash, a resume or a re-append leaves."""
    lines = data.splitlines(keepends=True)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(lines))
        roll = rng.random()
        if roll < 0.35:
            del lines[at]
        elif roll < 0.7:
            lines.insert(rng.randrange(len(lines)), lines[at])
        else:
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
    return b"".join(lines)


def _calls_one_by_one(src: rollout.CodexRollout) -> list[tuple]:
    """The rollout's tool calls paired one record at a time, as Codex pairs them and as the reader
    did before it paired them in bulk: a call replaces an earlier one with its id, an output
    answers the call its id names now, if its type answers that call's kind."""
    calls: dict[str, list] = {}
    turn_at = src.tools.turn_at
    for lineno, record in src.reader.records():
        p = record.get("payload")
        if record.get("type") != "response_item" or not isinstance(p, dict):
            continue
        call_id, kind = p.get("call_id"), p.get("type")
        if not isinstance(call_id, str) or not call_id or not isinstance(kind, str):
            continue
        if kind in rollout._CALLS:
            calls[call_id] = [call_id, kind, str(p.get("name") or kind), lineno, None, turn_at(lineno), None]
        elif (call := calls.get(call_id)) is not None and call[1] in rollout._ANSWERS.get(kind, ()):
            call[4], call[6] = lineno, rollout.transport_dropped(p.get("output"))
    return [tuple(call) for call in calls.values()]


_KINDS = {
    "rollout": (rollout.open_rollout, _rollout_facts),
    "transcript": (transcript.open_transcript, lambda src: (_transcript_facts(src), _calls_in_window(src))),
}


@pytest.mark.parametrize("shape", log_shapes.SHAPES)
@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_each_shape_reads_the_same_fast_and_line_by_line(tmp_path, small_chunks, monkeypatch, kind, shape) -> None:
    opener, facts = _KINDS[kind]
    built = tmp_path / "built.jsonl"
    log_shapes.BUILDERS[kind](built, shape, SIZE, 11)
    base = built.read_bytes()
    proven = chunks._proven
    for seed in range(6):
        rng = random.Random(seed)
        data = base if seed == 0 else _lines_mutated(base, rng) if seed % 2 else _damaged(base, rng)
        path = tmp_path / f"{seed}.jsonl"
        path.write_bytes(data)
        log_shapes.aged(path)  # written moments ago, a log may belong to a running agent: not judged
        monkeypatch.setattr(chunks, "_proven", proven)
        src = opener(path)
        fast = (facts(src), _findings(src))
        monkeypatch.setattr(chunks, "_proven", lambda *args: None)  # every chunk read line by line
        slow_src = opener(path)
        assert (facts(slow_src), _findings(slow_src)) == fast, seed
        if seed == 0:  # the built file has what the rules look at, for the comparison to mean something
            assert fast[1], "a finding on the unchanged file"
            if kind == "rollout":
                assert src.calls and src.turns
            else:
                assert len(src.chain) > 5
        if kind == "rollout":
            assert fast[0][8] == _calls_one_by_one(src), seed


def test_the_shapes_are_what_they_say(tmp_path) -> None:
    """Short records average about 1 KB; the mixed shape has very large lines, non-ASCII text and a
    torn last line; the same seed builds the same bytes."""
    for kind, build in log_shapes.BUILDERS.items():
        short, mixed, again = (tmp_path / f"{kind}-{n}.jsonl" for n in ("short", "mixed", "again"))
        build(short, "short", 400_000, 3)
        build(mixed, "mixed", 4_000_000, 3)
        build(again, "mixed", 4_000_000, 3)
        lines = short.read_bytes().splitlines()
        assert 500 < sum(map(len, lines)) / len(lines) < 1500, kind
        data = mixed.read_bytes()
        assert max(map(len, data.splitlines())) > 100_000, kind
        assert not data.isascii() and not data.endswith(b"\n"), kind
        assert again.read_bytes() == data
