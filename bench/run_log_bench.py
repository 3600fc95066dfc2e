"""Scan 200 MB Claude Code stream-json run logs, as whole programs, beside a per-line json.loads.

    python bench/run_log_bench.py               # builds bench/data/run-log-*.jsonl once, then measures
    python bench/run_log_bench.py short mixed   # some shapes; --runs N (default 3)

The files are grown from run logs the real Claude Code 2.1.197 wrote (fixtures/claude/recorded/
session_two_prompts and stream_partial): a long-lived session fed on stdin, its turns repeated
with fresh uuids, message and tool ids, each turn opened by its `system/init` and echoed prompt
and ended by its `result`, as the CLI writes them. Three shapes:

- short: many short records (about 1 KB on average): every answer streamed with partial messages
  (`--include-partial-messages`: message_start, a content_block_delta per piece of text,
  message_stop), short tool output;
- large: large uniform records: every tool output and answer 16-24 KB, no partial messages;
- mixed: the short shape with one turn in 150 carrying a tool output of 100 KB to 1 MB, text in
  several scripts (accents, arrows, CJK, emoji) as the CLI writes it (UTF-8, not escaped), and a
  last line cut off mid-write: the last turn was killed, so the scan reports LOG001 and CR001.

Each measurement runs in a fresh process, best of --runs:
- the floor: `python -c` reading the file and `json.loads` of every line; its whole process
  (interpreter start included) and its work after start-up;
- the program: `python -m threaddoctor scan FILE --format json > /dev/null`, its whole process,
  and the same scan in process (`threaddoctor.scan`, work timed after imports);
- memory: the peak of the summed PSS of the program and its decode worker (forked: the sum of
  their peak RSS would count shared pages twice), sampled every 3 ms in one more run.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from log_measure import _PEAKS, DATA, MB, ROOT, SCAN, _tree_pss, built, run

RECORDED = ROOT / "fixtures" / "claude" / "recorded"
# log_measure's floor, with the damaged last line of the mixed shape skipped as a reader must.
PLAIN = (
    "import json,sys,time\nt=time.perf_counter()\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n"
    "        try:\n            json.loads(line)\n        except ValueError:\n            pass\n"
    f"print(time.perf_counter()-t, 0)\n{_PEAKS}"
)
SIZE = 200_000_000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IDS = re.compile(r"(msg|toolu|req)_mock_\w+")
SCRIPTS = "Build passed → résumé naïve 日本語のテキスト 🚀 Ünïcödé — "


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def session_turn() -> list[dict]:
    """One turn of the recorded long-lived session: init, echoed prompt, text, tool_use, its
    result, the answer, the result line."""
    records = _records(RECORDED / "session_two_prompts" / "run.stdout.jsonl")
    end = next(i for i, r in enumerate(records) if r["type"] == "result")
    return records[: end + 1]


def streamed_turn() -> list[dict]:
    """The session's turn with each answer streamed as partial messages, in the order the CLI
    writes them (stream_partial: status, message_start, block start/delta, the assistant line,
    block stop, ..., message_delta, message_stop)."""
    turn = session_turn()
    partial = _records(RECORDED / "stream_partial" / "run.stdout.jsonl")
    events = [r for r in partial if r["type"] in ("stream_event",) or r.get("subtype") == "status"]
    first_request = events[
        : next(i for i, r in enumerate(events) if r["type"] == "stream_event" and r["event"]["type"] == "message_stop")
        + 1
    ]
    for r in first_request:
        r["session_id"] = turn[0]["session_id"]  # one session: the events were recorded in another
    out = []
    for r in turn:
        if r["type"] == "assistant" and (not out or out[-1]["type"] != "assistant"):
            out.extend(json.loads(json.dumps(first_request)))
        out.append(r)
    return out


def grow(
    target: Path, turn: list[dict], shape: Callable[[list[dict], int, random.Random], list[dict]], cut: bool
) -> None:
    rng = random.Random(11)
    session = turn[0]["session_id"]
    DATA.mkdir(parents=True, exist_ok=True)
    size, n = 0, 0
    template = json.dumps(turn, ensure_ascii=False)
    with target.open("wb") as f:
        while size < SIZE:
            n += 1
            fresh: dict[str, str] = {session: session}
            text = _UUID.sub(
                lambda m, ids=fresh: ids.setdefault(m[0], str(uuid.UUID(int=rng.getrandbits(128)))), template
            )
            text = _IDS.sub(
                lambda m, ids=fresh, n=n: ids.setdefault(m[0], f"{m[1]}_{n:07d}_{rng.getrandbits(32):08x}"), text
            )
            for r in shape(json.loads(text), n, rng):
                line = json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                f.write(line)
                size += len(line)
        if cut:  # the last turn killed mid-write: its init and prompt, then half an answer line
            last = [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() for r in json.loads(template)[:3]]
            f.write(last[0] + b"\n" + last[1] + b"\n" + last[2][: len(last[2]) // 2])
    built(target, size, n)


def _texts(records: list[dict], answer: str, output: str, delta: str | None) -> list[dict]:
    for r in records:
        content = (r.get("message") or {}).get("content")
        if r["type"] == "user" and isinstance(content, list) and content[0].get("type") == "tool_result":
            content[0]["content"] = output
            r["tool_use_result"]["stdout"] = output
        elif r["type"] == "assistant" and isinstance(content, list) and content[0].get("type") == "text":
            content[0]["text"] = answer
        elif r["type"] == "result":
            r["result"] = answer
        elif r["type"] == "stream_event" and delta is not None and r["event"]["type"] == "content_block_delta":
            piece = r["event"]["delta"]
            piece["text" if "text" in piece else "partial_json"] = delta
    return records


def _more_deltas(records: list[dict], count: int) -> list[dict]:
    out = []
    for r in records:
        out.append(r)
        if r["type"] == "stream_event" and r["event"]["type"] == "content_block_delta":
            out.extend(json.loads(json.dumps(r)) for _ in range(count))
    return out


def short(records: list[dict], n: int, rng: random.Random) -> list[dict]:
    answer = "The build passes and the tests are green. " * (1 + n % 6)
    return _more_deltas(_texts(records, answer, "ok\n" * (20 + n % 200), "the build passes " * (30 + n % 40)), 6)


def large(records: list[dict], n: int, rng: random.Random) -> list[dict]:
    records = [r for r in records if r["type"] not in ("stream_event",) and r.get("subtype") != "status"]
    size = 16_000 + (n * 797) % 8_000
    output = ("drwxr-xr-x  src/build ok\n" * (size // 26 + 1))[:size]
    answer = ("Here is what I found: the build passes. " * (size // 40 + 1))[:size]
    return _texts(records, answer, output, None)


def mixed(records: list[dict], n: int, rng: random.Random) -> list[dict]:
    big = n % 150 == 0
    output = (SCRIPTS * 40_000)[: rng.randrange(100_000, 1_000_000)] if big else (SCRIPTS + "\n") * (10 + n % 80)
    answer = SCRIPTS * (2 + n % 12)
    return _more_deltas(_texts(records, answer, output, SCRIPTS * (1 + n % 8)), 6)


SHAPES: dict[str, tuple[Callable[[], list[dict]], Callable, bool]] = {
    "short": (streamed_turn, short, False),
    "large": (session_turn, large, False),
    "mixed": (streamed_turn, mixed, True),
}


def program(target: Path, sample: bool = False) -> tuple[float, float]:
    """(whole-process seconds, peak PSS MB when sampled) of `python -m threaddoctor scan`."""
    argv = [sys.executable, "-m", "threaddoctor", "scan", str(target), "--format", "json"]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
    pss = 0.0
    while sample and proc.poll() is None:
        pss = max(pss, _tree_pss(proc.pid))
        time.sleep(0.003)
    proc.wait()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"threaddoctor scan exited {proc.returncode}")
    return time.perf_counter() - started, pss


def measure(name: str, target: Path, runs: int) -> dict:
    plain = min((run(PLAIN, target) for _ in range(runs)), key=lambda r: r[1])
    inproc = min((run(SCAN, target) for _ in range(runs)), key=lambda r: r[0])
    whole = min(program(target)[0] for _ in range(runs))
    peak = program(target, sample=True)[1]
    lines = sum(1 for _ in target.open("rb"))
    return {
        "shape": name,
        "MB": target.stat().st_size / MB,
        "avg line KB": target.stat().st_size / lines / 1000,
        "plain process s": plain[1],
        "plain work s": plain[0],
        "program s": whole,
        "scan work s": inproc[0],
        "findings": inproc[4],
        "peak MB": peak,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shapes", nargs="*", help=f"any of {', '.join(SHAPES)} (default all)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if unknown := set(args.shapes) - set(SHAPES):
        ap.error(f"unknown shape(s): {', '.join(sorted(unknown))}")
    print(f"best of {args.runs}, each in a fresh process; peak = summed PSS of the program and its worker\n")
    head = f"{'shape':<6} {'MB':>4} {'line KB':>7} {'json.loads':>10} {'program':>8} {'x':>5} {'in-process':>10} {'x':>5} {'peak MB':>8}  findings"
    print(head, flush=True)
    ok = True
    for name in args.shapes or list(SHAPES):
        target = DATA / f"run-log-{name}-200mb.jsonl"
        if not target.exists():
            turn, shape, cut = SHAPES[name]
            grow(target, turn(), shape, cut)
        r = measure(name, target, args.runs)
        whole, work = r["program s"] / r["plain process s"], r["scan work s"] / r["plain work s"]
        ok &= whole <= 0.3 and r["peak MB"] < 150
        print(
            f"{r['shape']:<6} {r['MB']:>4.0f} {r['avg line KB']:>7.2f} {r['plain process s']:>9.2f}s {r['program s']:>7.2f}s "
            f"{whole:>5.2f} {r['scan work s']:>9.2f}s {work:>5.2f} {r['peak MB']:>8.1f}  {r['findings']}",
            flush=True,
        )
    print(
        "\njson.loads / program: whole processes, interpreter start included; in-process: threaddoctor.scan "
        "after imports, against the floor's own work after start-up.\ntargets: program <= 0.3 x json.loads, "
        f"peak < 150 MB: {'ok' if ok else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
