"""Benchmark logs of three shapes, grown from the recorded fixtures (real records, fresh ids).

    python bench/log_shapes.py [--size MB] [--seed N]     # builds every missing file in bench/data

Each 200 MB Codex rollout and Claude Code transcript is built in three shapes, because a reader
fast on one shape can be slow on another (its cost may follow records, not bytes):
- `short`: many short records, about 1 KB on average, the mix a long agentic session writes:
  reasoning items, token counts, calls with small outputs, messages, 5-40 calls per turn;
- `uniform`: large uniform records, 0.8-3.8 KB tool outputs and messages, one call per turn (the
  original benchmark's shape, byte for byte);
- `mixed`: the short shape with rare very large tool outputs (100 KB to 1 MB), non-ASCII text in
  prompts, messages and outputs, and a damaged last line (a record cut off mid-write, as a kill
  leaves it).
Every shape leaves its last turn open (a rollout's last `task_started` without its end, a
transcript's last `tool_use` without its result), so the scan has something to find. The build is
deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
MB = 1_000_000
SIZE = 200 * MB
SHAPES = ("short", "uniform", "mixed")
_START = datetime(2026, 11, 21, 6, 32, 11, tzinfo=UTC)
# Text as agents write it beyond ASCII: arrows and dashes, accented words, CJK, emoji.
_NON_ASCII = ("→ build ok — 通过 ✅ ", "Überprüfung läuft… ", "ファイルを読み込みました 📄 ", "répertoire créé → ")
_LOREM = "the build passes and the tests run green on every module we touched so far "
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CLAUDE_IDS = re.compile(r"(msg|toolu|req)_mock_\w+")


def path(kind: str, shape: str) -> Path:
    """Where the benchmark log of a kind ("rollout", "transcript") and shape lives."""
    return DATA / f"{kind}-{shape}-200mb.jsonl"


def _dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"  # UTF-8 as is, as both agents write


class _Clock:
    """Timestamps in the agents' format (milliseconds, Z), moving on a few ms per record."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.at = rng, _START

    def tick(self) -> str:
        self.at += timedelta(milliseconds=self.rng.randint(1, 900))
        return self.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}Z"


def _text(rng: random.Random, low: int, high: int, non_ascii: bool) -> str:
    """Prose of low..high characters; with non_ascii, a third of it beyond ASCII."""
    n = rng.randint(low, high)
    if not non_ascii:
        return (_LOREM * (n // len(_LOREM) + 1))[:n]
    piece = _LOREM + rng.choice(_NON_ASCII)
    return (piece * (n // len(piece) + 1))[:n]


class _Large:
    """When a tool output is one of the rare very large ones (100 KB to 1 MB): the first after a
    third of the file, then one every 6 MB (22 in 200 MB)."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng, self.at = rng, size // 3

    def size(self, written: int, usual: int) -> int:
        if written < self.at:
            return usual
        self.at += 6 * MB
        return self.rng.randint(100_000, 1_000_000)


class _Writer:
    """Writes lines up to a size, then stops."""

    def __init__(self, target: Path, size: int) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.f, self.size, self.written, self.target = target.open("w", encoding="utf-8"), size, 0, target

    @property
    def full(self) -> bool:
        return self.written >= self.size

    def write(self, line: str) -> None:
        self.f.write(line)
        self.written += len(line.encode())

    def torn(self, line: str) -> None:
        """The first half of a record, without its newline: what a kill mid-write leaves."""
        data = line.encode()[: len(line.encode()) // 2]
        self.f.write(data.decode("utf-8", "ignore"))
        self.written += len(data)

    def close(self) -> None:
        self.f.close()


# ---- Codex rollouts --------------------------------------------------------------------------
def _rollout_template() -> list[dict]:
    """The recorded rollout of a turn with one tool call (Codex CLI 0.169.0), record by record."""
    (log,) = (ROOT / "fixtures" / "codex" / "recorded" / "tool_call" / "rollout").rglob("rollout-*.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()]


def _by_kind(records: list[dict]) -> dict[str, dict]:
    """The template's records by what they are: `payload.type`, else the record type."""
    kinds: dict[str, dict] = {}
    for r in records:
        p = r["payload"]
        kind = p.get("type") if r["type"] in ("event_msg", "response_item") else r["type"]
        if kind == "item_completed":
            kind = f"item_completed:{p['item']['type']}"
        elif kind == "message":
            kind = f"message:{p['role']}"
        kinds.setdefault(kind, r)
    return kinds


class _Rollout:
    """Turns of a rollout, each record a copy of a recorded one with fresh ids, timestamps and
    ordinals. Ids are rewritten in the JSON text, so every place that names them changes alike."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.clock, self.ordinal = rng, _Clock(rng), 0
        self.records = _rollout_template()
        self.kinds = _by_kind(self.records)
        meta = self.records[0]["payload"]
        self.thread, self.turn_ids = meta["id"], {meta["id"]}
        self.recorded_turn = self.records[1]["payload"]["turn_id"]

    def line(self, kind: str, turn: str, call: str = "", **change: object) -> str:
        r = json.loads(json.dumps(self.kinds[kind]).replace(self.recorded_turn, turn).replace("call_mock_1", call))
        r["timestamp"], r["ordinal"] = self.clock.tick(), self.ordinal
        self.ordinal += 1
        r["payload"].update(change)
        return _dumps(r)

    def reasoning(self, turn: str, text: str) -> str:
        """A reasoning item. Not in the recorded fixtures (the mock model does not reason): made in the
        recorded assistant message's envelope with the payload Codex writes for a Responses-API
        reasoning item (id, summary of summary_text parts, encrypted_content)."""
        r = json.loads(json.dumps(self.kinds["message:assistant"]).replace(self.recorded_turn, turn))
        r["timestamp"], r["ordinal"] = self.clock.tick(), self.ordinal
        self.ordinal += 1
        blob = "".join(
            self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(64)
        )
        r["payload"] = {
            "type": "reasoning",
            "id": f"rs_{self.rng.getrandbits(64):016x}",
            "summary": [{"type": "summary_text", "text": text}],
            "encrypted_content": "gAAAAAB" + blob * self.rng.randint(2, 8),
        }
        return _dumps(r)


def build_rollout(target: Path, shape: str, size: int = SIZE, seed: int = 7) -> None:
    if shape == "uniform":
        _uniform_rollout(target, size)
        return
    rng, w = random.Random(seed), _Writer(target, size)
    log, mixed, large = _Rollout(rng), shape == "mixed", _Large(rng, size)
    w.write(log.line("session_meta", log.recorded_turn))
    n, made = 0, 0
    while not w.full:
        n += 1
        turn = f"01a1fcce-{n:04x}-7f40-ab7e-{rng.getrandbits(48):012x}"
        w.write(log.line("task_started", turn))
        w.write(log.line("turn_context", turn))
        prompt = _text(rng, 40, 400, mixed)
        w.write(log.line("message:user", turn, content=[{"type": "input_text", "text": prompt}]))
        w.write(log.line("item_completed:UserMessage", turn))
        for step in range(rng.randint(5, 40)):
            call = f"call_{n}_{step}_{rng.getrandbits(32):08x}"
            w.write(log.reasoning(turn, _text(rng, 80, 600, mixed)))
            w.write(log.line("function_call", turn, call))
            w.write(log.line("token_usage_record", turn, call))
            w.write(log.line("item_completed:CommandExecution", turn, call))
            size_out = rng.randint(20, 1200)
            size_out = large.size(w.written, size_out) if mixed else size_out
            output = "Chunk ID: 266777\nWall time: 0.0000 seconds\nProcess exited with code 0\nOutput:\n"
            output += _text(rng, size_out, size_out, mixed)
            made += 1
            if mixed and made % 300 == 2:  # now and then the executor's connection drops
                output = "exec-server connection closed while the command ran"
            w.write(log.line("function_call_output", turn, call, output=output))
            w.write(log.line("token_count", turn, call))
            if w.full:
                break
        if w.full:  # the last turn stays open, as a kill leaves it
            break
        answer = _text(rng, 30, 700, mixed)
        w.write(log.line("item_completed:AgentMessage", turn))
        w.write(
            log.line("message:assistant", turn, content=[{"type": "output_text", "text": answer, "annotations": []}])
        )
        w.write(log.line("token_usage_record", turn))
        w.write(log.line("token_count", turn))
        w.write(log.line("task_complete", turn, last_agent_message=answer))
    if mixed:
        w.torn(log.line("token_count", turn))
    w.close()
    _built(target, w.written, n)


def _uniform_rollout(target: Path, size: int) -> None:
    """The original benchmark rollout: the recorded turn repeated, with outputs and messages of
    0.8-3.8 KB (the file bench/rollout_bench.py has always built)."""
    records = _rollout_template()
    start = next(i for i, r in enumerate(records) if r["payload"].get("type") == "task_started")
    header, turn = records[:start], records[start:]
    ordinal, n, written = 0, 0, 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as f:
        for record in header:
            record["ordinal"] = ordinal
            ordinal += 1
            f.write(_dumps(record))
        while written < size:
            n += 1
            for record in turn:
                text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
                text = text.replace("call_mock_1", f"call_{n}").replace('"ordinal":', '"o":')
                r = json.loads(text)
                r["ordinal"] = ordinal
                ordinal += 1
                p = r["payload"]
                if p.get("type") == "function_call_output":
                    p["output"] = ("test output line ok\n" * 120)[: 800 + (n * 37) % 3000]
                if p.get("type") == "message" and p.get("role") == "assistant":
                    p["content"] = [{"type": "output_text", "text": "Reasoned answer. " * (20 + n % 80)}]
                if p.get("turn_id"):
                    p["turn_id"] = f"turn-{n}"
                line = _dumps({"timestamp": r["timestamp"], "ordinal": r["ordinal"], "type": r["type"], "payload": p})
                if written >= size and p.get("type") == "task_started":
                    break
                if written + len(line) >= size and p.get("type") == "task_complete":
                    continue  # leave the last turn open, as a kill would
                f.write(line)
                written += len(line)
    _built(target, written, n)


# ---- Claude Code transcripts -----------------------------------------------------------------
def _transcript_template() -> tuple[list[str], list[dict], str]:
    """The recorded transcript (Claude Code 2.1.197): header lines, one turn's records (snapshot,
    prompt, assistant text, tool_use, tool_result, answer, stop-hook and duration lines,
    last-prompt), and the session id."""
    (log,) = (p for p in (ROOT / "fixtures/claude/recorded/interactive_tool").glob("*.jsonl") if "mock" not in p.name)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    prompt = next(i for i, r in enumerate(records) if r.get("type") == "user")
    turn = [r for r in records[prompt - 1 :] if r.get("type") != "attachment"]  # listings come once
    return lines[: prompt - 1], turn, records[prompt]["sessionId"]


def _fresh(turn: list[dict], session: str, rng: random.Random, n: int) -> list[dict]:
    """The turn's records with fresh uuids, message, tool and request ids (the same id fresh alike
    wherever it is named)."""
    fresh: dict[str, str] = {session: session}
    text = json.dumps(turn, ensure_ascii=False)
    text = _UUID.sub(lambda m: fresh.setdefault(m[0], str(uuid.UUID(int=rng.getrandbits(128)))), text)
    text = _CLAUDE_IDS.sub(lambda m: fresh.setdefault(m[0], f"{m[1]}_{n:07d}_{rng.getrandbits(32):08x}"), text)
    return json.loads(text)


def build_transcript(target: Path, shape: str, size: int = SIZE, seed: int = 7) -> None:
    if shape == "uniform":
        _uniform_transcript(target, size)
        return
    header, turn, session = _transcript_template()
    snapshot, prompt, text, use, result, answer, hook, duration, last_prompt = turn
    rng, w, mixed = random.Random(seed), _Writer(target, size), shape == "mixed"
    large = _Large(rng, size)
    clock, parent, n = _Clock(rng), None, 0
    for line in header:
        w.write(line + "\n")

    def chained(r: dict) -> str:
        nonlocal parent
        r["parentUuid"], r["timestamp"], parent = parent, clock.tick(), r["uuid"]
        return _dumps(r)

    while True:
        n += 1
        snap, ask, hook_line, took, last = _fresh([snapshot, prompt, hook, duration, last_prompt], session, rng, n)
        ask["message"]["content"] = _text(rng, 20, 500, mixed)
        snap["messageId"] = snap["snapshot"]["messageId"] = ask["uuid"]
        w.write(_dumps(snap))
        w.write(chained(ask))
        killed = False
        for step in range(rng.randint(5, 40)):
            said, called, answered = _fresh([text, use, result], session, rng, n * 100 + step)
            if rng.random() < 0.5:  # the model says something before the call, in the same message
                said["message"]["content"][0]["text"] = _text(rng, 20, 600, mixed)
                w.write(chained(said))
            called["message"]["id"] = said["message"]["id"]
            called["message"]["content"][0]["input"] = {"command": f"ls src/{step}", "description": "List files"}
            w.write(chained(called))
            if w.full:  # killed while the tool ran: a tool_use without its result
                killed = True
                break
            size_out = rng.randint(2, 600)
            size_out = large.size(w.written, size_out) if mixed else size_out
            output = _text(rng, size_out, size_out, mixed)
            answered["message"]["content"][0]["content"] = output
            answered["toolUseResult"]["stdout"] = output
            answered["sourceToolAssistantUUID"] = called["uuid"]
            w.write(chained(answered))
        if killed:
            break
        (reply,) = _fresh([answer], session, rng, n * 100 + 99)
        reply["message"]["content"][0]["text"] = _text(rng, 30, 900, mixed)
        w.write(chained(reply))
        w.write(chained(hook_line))
        w.write(chained(took))
        last["leafUuid"], last["lastPrompt"] = took["uuid"], ask["message"]["content"][:200]
        w.write(_dumps(last))
    if mixed:
        (reply,) = _fresh([answer], session, rng, n * 100 + 98)
        w.torn(chained(reply))
    w.close()
    _built(target, w.written, n)


def _uniform_transcript(target: Path, size: int) -> None:
    """The original benchmark transcript: the recorded turn repeated as one chain, with tool output
    of 0.6-4 KB carrying the `→` of Claude Code's Read tool (the file bench/transcript_bench.py
    has always built)."""
    header, turn, session = _transcript_template()
    rng = random.Random(7)
    target.parent.mkdir(parents=True, exist_ok=True)
    written, n, parent = 0, 0, None
    with target.open("w", encoding="utf-8") as f:
        for line in header:
            f.write(line + "\n")
        while True:
            n += 1
            final = written >= size
            records = _fresh(turn, session, rng, n)
            output = ("drwxr-xr-x  src → build ok\n" * 150)[: 600 + (n * 53) % 3500]
            for r in records:
                content = r.get("message", {}).get("content")
                if r.get("uuid"):  # one chain: each line follows the one before, across turns
                    r["parentUuid"] = parent
                if isinstance(content, list) and content and content[0].get("type") == "tool_result":
                    content[0]["content"] = output
                    r["toolUseResult"]["stdout"] = output
                elif isinstance(content, list) and content and content[0].get("type") == "text":
                    content[0]["text"] = "Here is what I found — " + "the build passes. " * (10 + n % 120)
                if r.get("uuid"):
                    parent = r["uuid"]
            for r in records:
                line = _dumps(r)
                f.write(line)
                written += len(line.encode())
                content = r.get("message", {}).get("content")
                if final and isinstance(content, list) and content[0].get("type") == "tool_use":
                    break  # killed while the tool ran: a tool_use without its result
            if final:
                break
    _built(target, written, n)


BUILDERS: dict[str, Callable[..., None]] = {"rollout": build_rollout, "transcript": build_transcript}


def _built(target: Path, size: int, turns: int) -> None:
    print(f"built {target} ({size / MB:.0f} MB, {turns} turns)", file=sys.stderr)


def ensure(kind: str, shapes: tuple[str, ...] = SHAPES, size: int = SIZE, seed: int = 7) -> Iterator[tuple[str, Path]]:
    """(shape, path) of each benchmark log of `kind`, built first where it is missing."""
    for shape in shapes:
        target = path(kind, shape)
        if not target.exists():
            BUILDERS[kind](target, shape, size, seed)
            aged(target)
        yield shape, target


def aged(target: Path) -> None:
    """Date a freshly built file an hour back: a log written moments ago may belong to a running
    agent, and is not judged."""
    old = time.time() - 3600
    os.utime(target, (old, old))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=SIZE // MB, help="MB per file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for kind in BUILDERS:
        for _ in ensure(kind, SHAPES, args.size * MB, args.seed):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
