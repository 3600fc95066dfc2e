"""Scan a 200 MB Codex rollout: wall time and peak memory beside a plain per-line json.loads.

    python bench/rollout_bench.py            # builds bench/data/rollout-200mb.jsonl once, then measures

The file is grown from a rollout the real Codex CLI wrote (fixtures/codex/recorded/tool_call): its
turns are repeated with fresh turn and call ids and ordinals, with tool outputs and assistant
messages of realistic sizes, and its last turn left open (as after a kill) so the scan has
something to find. Each measurement runs in its own process; peak RSS comes from wait4.
Target: the scan takes at most 0.3 x the plain parse, and memory stays flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
TARGET = DATA / "rollout-200mb.jsonl"
SIZE = 200_000_000
MB = 1_000_000
# Each child prints the seconds its work took, measured after its imports.
PLAIN = (
    "import json,sys,time\nt=time.perf_counter()\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n"
    "        json.loads(line)\nprint(time.perf_counter()-t, 0)"
)
SCAN = (
    "import sys,time\nfrom threaddoctor import scan\nt=time.perf_counter()\nn=len(scan(sys.argv[1]).findings)\n"
    "print(time.perf_counter()-t, n)"
)


def template() -> tuple[list[dict], list[dict]]:
    """The recorded rollout split into its header and one turn's lines."""
    (path,) = (ROOT / "fixtures" / "codex" / "recorded" / "tool_call" / "rollout").rglob("rollout-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    start = next(i for i, r in enumerate(lines) if r["payload"].get("type") == "task_started")
    return lines[:start], lines[start:]


def build() -> None:
    header, turn = template()
    DATA.mkdir(parents=True, exist_ok=True)
    ordinal, n, size = 0, 0, 0
    with TARGET.open("w", encoding="utf-8") as f:
        for record in header:
            record["ordinal"] = ordinal
            ordinal += 1
            f.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        while size < SIZE:
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
                line = (
                    json.dumps(
                        {"timestamp": r["timestamp"], "ordinal": r["ordinal"], "type": r["type"], "payload": p},
                        separators=(",", ":"),
                        ensure_ascii=False,  # Codex (serde_json) writes UTF-8 as is
                    )
                    + "\n"
                )
                if size >= SIZE and p.get("type") == "task_started":
                    break
                if size + len(line) >= SIZE and p.get("type") == "task_complete":
                    continue  # leave the last turn open, as a kill would
                f.write(line)
                size += len(line)
    old = time.time() - 3600
    os.utime(TARGET, (old, old))
    print(f"built {TARGET} ({size / MB:.0f} MB, {n} turns)")


def run(code: str) -> tuple[float, float, int, str]:
    """(work seconds, end-to-end seconds, peak RSS bytes, findings)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(TARGET)], env=env, stdout=subprocess.PIPE)
    out = proc.stdout.read().decode().split() if proc.stdout else ["0", "0"]
    _, _, usage = os.wait4(proc.pid, 0)
    return float(out[0]), time.perf_counter() - started, usage.ru_maxrss * 1024, out[1]


def main() -> int:
    if not TARGET.exists():
        build()
    plain = min((run(PLAIN) for _ in range(3)), key=lambda r: r[0])
    scan = min((run(SCAN) for _ in range(3)), key=lambda r: r[0])
    print(f"{TARGET} ({TARGET.stat().st_size / MB:.0f} MB), best of 3, each in its own process\n")
    print(f"{'measurement':<26} {'work s':>8} {'process s':>10} {'peak MB':>8}")
    print(f"{'plain json.loads per line':<26} {plain[0]:>8.2f} {plain[1]:>10.2f} {plain[2] / MB:>8.1f}")
    print(f"{'threaddoctor scan':<26} {scan[0]:>8.2f} {scan[1]:>10.2f} {scan[2] / MB:>8.1f}   findings {scan[3]}")
    ratio = scan[0] / plain[0]
    print(f"\nscan / plain parse (work) = {ratio:.2f}   target <= 0.3   {'ok' if ratio <= 0.3 else 'MISSED'}")
    print(f"scan / plain parse (whole process, imports included) = {scan[1] / plain[1]:.2f}")
    print(f"peak scan = {scan[2] / MB:.1f} MB   target < 150   {'ok' if scan[2] / MB < 150 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
