"""Time `threaddoctor.scan` on a large log beside a plain per-line `json.loads` of the same file.

Shared by rollout_bench.py and transcript_bench.py. Each measurement runs in its own process,
best of three; a child prints the seconds its work took (after its imports) and its peak RSS, and
the scan's peak adds that of its worker process (the second half of a large file is decoded in a
forked worker; the sum is an upper bound, as the fork shares pages with its parent).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
MB = 1_000_000
# Each child prints: work seconds, findings, its own peak RSS (KB), its children's peak RSS (KB).
_PEAKS = "import resource as r;print(r.getrusage(r.RUSAGE_SELF).ru_maxrss, r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss)"
PLAIN = (
    "import json,sys,time\nt=time.perf_counter()\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n"
    f"        json.loads(line)\nprint(time.perf_counter()-t, 0)\n{_PEAKS}"
)
SCAN = (
    "import sys,time\nfrom threaddoctor import scan\nt=time.perf_counter()\nn=len(scan(sys.argv[1]).findings)\n"
    f"print(time.perf_counter()-t, n)\n{_PEAKS}"
)


def run(code: str, target: Path) -> tuple[float, float, float, float, str]:
    """(work s, whole process s, own peak MB, worker peak MB, findings)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(target)], env=env, capture_output=True, check=True).stdout
    elapsed = time.perf_counter() - started
    work, findings, own, children = out.decode().split()
    return float(work), elapsed, int(own) * 1024 / MB, int(children) * 1024 / MB, findings


def measure(target: Path, runs: int = 3) -> int:
    plain = min((run(PLAIN, target) for _ in range(runs)), key=lambda r: r[0])
    scans = [run(SCAN, target) for _ in range(runs)]
    scan = min(scans, key=lambda r: r[0])
    peak = max(s[2] + s[3] for s in scans)
    print(f"{target} ({target.stat().st_size / MB:.0f} MB), best of {runs}, each in its own process\n")
    print(f"{'measurement':<26} {'work s':>8} {'process s':>10} {'peak MB':>8}")
    print(f"{'plain json.loads per line':<26} {plain[0]:>8.2f} {plain[1]:>10.2f} {plain[2]:>8.1f}")
    print(
        f"{'threaddoctor scan':<26} {scan[0]:>8.2f} {scan[1]:>10.2f} {peak:>8.1f}   "
        f"(scan {max(s[2] for s in scans):.1f} + worker {max(s[3] for s in scans):.1f})   findings {scan[4]}"
    )
    ratio = scan[0] / plain[0]
    print(f"\nscan / plain parse (work) = {ratio:.2f}   target <= 0.3   {'ok' if ratio <= 0.3 else 'MISSED'}")
    print(f"scan / plain parse (whole process, imports included) = {scan[1] / plain[1]:.2f}")
    print(f"peak scan + worker = {peak:.1f} MB   target < 150   {'ok' if peak < 150 else 'MISSED'}")
    return 0
