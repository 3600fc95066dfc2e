"""Time `threaddoctor.scan` on a large log beside a plain per-line `json.loads` of the same file.

Shared by rollout_bench.py and transcript_bench.py. Each measurement runs in its own process,
best of three; a child prints the seconds its work took (after its imports) and its peak RSS, and
the scan's peak adds that of its worker process (the second half of a large file is decoded in a
forked worker). The scan's memory is the peak of the summed proportional set size (PSS) of the
process and its worker, sampled while it runs: a forked worker shares its parent's pages, which
the sum of their peak RSS would count twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


def run(code: str, target: Path, sample: bool = False) -> tuple[float, float, float, float, str, float]:
    """(work s, whole process s, own peak RSS MB, worker peak RSS MB, findings, peak PSS MB). Sampling
    PSS slows the process it samples, so timed runs do not sample."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], env=env, stdout=subprocess.PIPE)
    pss = 0.0
    while sample and proc.poll() is None:
        pss = max(pss, _tree_pss(proc.pid))
        time.sleep(0.003)
    proc.wait()
    out = proc.stdout.read() if proc.stdout else b""
    elapsed = time.perf_counter() - started
    work, findings, own, children = out.decode().split()
    return float(work), elapsed, int(own) * 1024 / MB, int(children) * 1024 / MB, findings, pss


def _tree_pss(pid: int) -> float:
    """MB of proportional set size of a process and its children: pages a forked worker shares
    with its parent count half to each, so the sum is what the two really hold (Linux only)."""
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


def measure(target: Path, runs: int = 3) -> int:
    plain = min((run(PLAIN, target) for _ in range(runs)), key=lambda r: r[0])
    scans = [run(SCAN, target) for _ in range(runs)]
    scan = min(scans, key=lambda r: r[0])
    peak = run(SCAN, target, sample=True)[5]
    print(f"{target} ({target.stat().st_size / MB:.0f} MB), best of {runs}, each in its own process\n")
    print(f"{'measurement':<26} {'work s':>8} {'process s':>10} {'peak MB':>8}")
    print(f"{'plain json.loads per line':<26} {plain[0]:>8.2f} {plain[1]:>10.2f} {plain[2]:>8.1f}")
    rss = max(s[2] + s[3] for s in scans)
    print(f"{'threaddoctor scan':<26} {scan[0]:>8.2f} {scan[1]:>10.2f} {peak:>8.1f}   findings {scan[4]}")
    print(
        f"\npeak MB: plain = peak RSS; scan = peak PSS of the scan and its worker, sampled every 3 ms in one more run "
        f"(the sum of their peak RSS, {rss:.1f} MB, counts the pages they share twice)"
    )
    ratio = scan[0] / plain[0]
    print(f"\nscan / plain parse (work) = {ratio:.2f}   target <= 0.3   {'ok' if ratio <= 0.3 else 'MISSED'}")
    print(f"scan / plain parse (whole process, imports included) = {scan[1] / plain[1]:.2f}")
    print(f"peak scan + worker (PSS) = {peak:.1f} MB   target < 150   {'ok' if peak < 150 else 'MISSED'}")
    return 0


def built(target: Path, size: int, turns: int) -> None:
    """Date a freshly built file an hour back (a log written moments ago may belong to a running
    agent, and is not judged), and say what was built."""
    old = time.time() - 3600
    os.utime(target, (old, old))
    print(f"built {target} ({size / MB:.0f} MB, {turns} turns)")


def bench(target: Path, build: Callable[[], None]) -> int:
    """Build the file once, then measure."""
    if not target.exists():
        build()
    return measure(target)
