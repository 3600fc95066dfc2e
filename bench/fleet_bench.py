"""`check --jobs N` over thousands of small exported logs: files per second and peak memory.

    python bench/fleet_bench.py                  # 1,000 and 10,000 logs, --jobs 1 and --jobs 2
    python bench/fleet_bench.py --files 1000 --jobs 1 2 4

Each run is `threaddoctor check --format jsonl --jobs N FILE...` in a fresh process; its peak
memory is the largest resident set of that process and its workers (wait4's ru_maxrss). The logs
are copies of the recorded fixtures and of T3 Code exports (fixtures/fleet_corpus.py). The
findings of every run are compared with those of --jobs 1, order aside.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.fleet_corpus import build  # noqa: E402


def run(paths: list[Path], jobs: int) -> tuple[float, float, set[tuple], int]:
    """Seconds, peak MB, the findings (source, rule, fingerprint, line) and the exit status."""
    cmd = [sys.executable, "-m", "threaddoctor", "check", "--format", "jsonl", "--jobs", str(jobs), *map(str, paths)]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        findings = {
            (r["source"], r["rule"], r["fingerprint"], r["location"]["line"])
            for r in map(json.loads, out.read().splitlines())
            if r["type"] == "finding"
        }
    return seconds, usage.ru_maxrss / 1024, findings, os.waitstatus_to_exitcode(status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    print(f"{'files':>7} {'jobs':>4} {'seconds':>8} {'files/s':>8} {'peak MB':>8} {'findings':>8}  same as --jobs 1")
    for n in args.files:
        with tempfile.TemporaryDirectory() as folder:
            corpus = build(Path(folder), files=n, t3_share=0.01)
            baseline: set[tuple] | None = None
            for jobs in args.jobs:
                seconds, peak, findings, status = run(corpus.paths, jobs)
                if status not in (0, 1):
                    raise SystemExit(f"check --jobs {jobs} exited {status}")
                baseline = findings if baseline is None else baseline
                same = "yes" if findings == baseline else f"NO ({len(findings ^ baseline)} differ)"
                print(f"{n:>7} {jobs:>4} {seconds:>8.1f} {n / seconds:>8.0f} {peak:>8.0f} {len(findings):>8}  {same}")


if __name__ == "__main__":
    main()
