"""Time `threaddoctor scan` as a whole program on each shape of a large log, beside a plain
per-line `json.loads` of the same file run the same way.

Shared by rollout_bench.py and transcript_bench.py. For every shape (log_shapes.py) three
programs run in turns, each in a fresh process (whole_program.py):
- `plain`: a Python process that `json.loads` every line of the file: the floor;
- `scan`: `python -m threaddoctor scan FILE --format json > /dev/null`, as a user or CI runs it
  (interpreter start, imports, the scan, the JSON report);
- `work`: `threaddoctor.scan(FILE)` in a process that prints the seconds the scan took after
  its imports, so both the whole program and the reader are visible.
Each figure is the best and the median of the runs; the ratio is of the medians (the best runs'
ratio beside it). Peak memory: `ru_maxrss` of each run (the largest of the scan and its forked
worker), and the summed proportional set size (PSS) of both, sampled in one more run (their
RSS would count the pages they share twice).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from log_shapes import SHAPES, ensure
from whole_program import MB, ROOT, alternating, cpu, peak, python, seconds

PLAIN = "import json,sys\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n        json.loads(line)\n"
WORK = "import sys,time\nfrom threaddoctor import scan\nt=time.perf_counter()\nscan(sys.argv[1])\nprint(time.perf_counter()-t)\n"
TARGET = 0.3
PEAK_MB = 150


def programs(target: Path) -> dict[str, list[str]]:
    return {
        "plain": python("-c", PLAIN, str(target)),
        "scan": python("-m", "threaddoctor", "scan", str(target), "--format", "json"),
        "work": python("-c", WORK, str(target)),
    }


def measure(kind: str, shapes: tuple[str, ...], runs: int) -> bool:
    """Print each shape's figures; whether every shape met its targets."""
    print(f"{kind}: {runs} runs of each program in turns, fresh processes; seconds as best / median\n")
    print(
        f"{'shape':<8} {'MB':>4} {'plain s':>12} {'scan s':>12} {'x plain':>14} {'work s':>12} {'rss MB':>7} {'pss MB':>7} {'cpu x':>6}"
    )
    ok = True
    for shape, target in ensure(kind, shapes):
        got = alternating(programs(target), runs, keep_output=("work",))
        plain, scan = seconds(got["plain"]), seconds(got["scan"])
        work = [float(r.out) for r in got["work"]]
        ratio, best_ratio = scan.median / plain.median, scan.best / plain.best
        pss = sampled_pss(programs(target)["scan"])
        met = ratio <= TARGET and pss < PEAK_MB
        ok &= met
        print(
            f"{shape:<8} {target.stat().st_size / MB:>4.0f} {plain!s:>12} {scan!s:>12} "
            f"{ratio:>6.2f} ({best_ratio:.2f}) {min(work):>5.2f} / {sorted(work)[len(work) // 2]:.2f} "
            f"{peak(got['scan']):>7.1f} {pss:>7.1f} {cpu(got['scan']).median / cpu(got['plain']).median:>6.2f}"
            f"  {'ok' if met else 'MISSED'}"
        )
    print(f"\nx plain: median scan / median plain (best / best); target <= {TARGET} on every shape")
    print("cpu x: median CPU seconds of the scan (its worker's included) / those of the plain parse")
    print(
        f"rss MB: largest ru_maxrss of the scan's runs; pss MB: peak summed PSS of scan and worker (target < {PEAK_MB})"
    )
    return ok


def sampled_pss(argv: list[str]) -> float:
    """MB: the peak summed PSS of a process and its children, sampled every 3 ms (Linux only).
    Sampling slows the process it samples, so timed runs do not sample."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"PYTHONPATH": str(ROOT)}
    )
    high = 0.0
    while proc.poll() is None:
        high = max(high, _tree_pss(proc.pid))
        time.sleep(0.003)
    return high


def _tree_pss(pid: int) -> float:
    """Pages a forked worker shares with its parent count half to each, so the sum is what the two
    really hold."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total * 1024 / MB


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def main(kind: str) -> int:
    parser = argparse.ArgumentParser(description=f"Scan 200 MB {kind}s of every shape as whole programs.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shape", choices=SHAPES, action="append", help="only this shape (repeatable)")
    args = parser.parse_args()
    return 0 if measure(kind, tuple(args.shape or SHAPES), args.runs) else 1
