"""Check a large exported log: wall time and peak memory beside a plain per-line json.loads.

    python bench/build_db.py       # once: bench/data/bench.sqlite (1M events)
    python bench/export_bench.py   # exports it once to bench/data/bench.jsonl, then measures

Each measurement runs `python -m ...` as its own process; its peak RSS (and that of any child it
started) comes from wait4, so nothing is measured from inside the process being measured.
Target: checking streams, so peak memory stays under 150 MB however large the export.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
MB = 1_000_000
TARGET_PEAK_MB = 150

PLAIN_PARSE = "import json,sys\nn=0\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n        json.loads(line); n+=1\nprint(n)"


def run(cmd: list[str]) -> tuple[float, int, int]:
    """(seconds, exit status, peak RSS bytes of the process tree's largest member)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "bench.sqlite")
    parser.add_argument("--export", type=Path, default=DATA / "bench.jsonl")
    args = parser.parse_args()
    if not args.export.exists():
        if not args.db.exists():
            print(f"{args.db} does not exist: run `python bench/build_db.py` first", file=sys.stderr)
            return 2
        seconds, status, peak = run(
            [sys.executable, "-m", "threaddoctor", "export", str(args.db), "-o", str(args.export)]
        )
        print(f"export: {seconds:.1f}s, exit {status}, peak {peak / MB:.1f} MB")
    size = args.export.stat().st_size
    print(f"{args.export} ({size / MB:.0f} MB)\n")
    plain = run([sys.executable, "-c", PLAIN_PARSE, str(args.export)])
    check = run([sys.executable, "-m", "threaddoctor", "check", str(args.export), "--output-format", "json"])
    print(f"{'measurement':<28} {'seconds':>8} {'peak MB':>8}")
    print(f"{'plain json.loads per line':<28} {plain[0]:>8.1f} {plain[2] / MB:>8.1f}")
    print(f"{'threaddoctor check':<28} {check[0]:>8.1f} {check[2] / MB:>8.1f}   exit {check[1]}")
    ok = check[2] / MB < TARGET_PEAK_MB
    print(f"\ncheck / plain parse = {check[0] / plain[0]:.2f}")
    print(f"peak check = {check[2] / MB:.1f} MB  target < {TARGET_PEAK_MB}   {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
