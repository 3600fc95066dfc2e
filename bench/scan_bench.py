"""Time threaddoctor's scan against a raw read of the event log, each in a fresh process.

Measures (a) a raw read, `SELECT * FROM orchestration_events` iterated row by row with
fetchmany, (b) `threaddoctor.scan(path)`, (c) `scan(path, deep=True)`: best wall time of
several runs, and the peak RSS of the child process that ran it plus that of its own worker. Then the CLI end to end once.

    python bench/build_db.py            # once: bench/data/bench.sqlite
    python bench/scan_bench.py [--runs 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "bench" / "data" / "bench.sqlite"
MB = 1_000_000
TARGET_SCAN = 0.25  # x raw read
TARGET_DEEP = 3.0  # x raw read
TARGET_PEAK_MB = 150
MODES = ("raw", "scan", "deep")
LABELS = {"raw": "raw read", "scan": "scan", "deep": "scan --deep"}


# ---- the child: one measurement in a fresh interpreter --------------------------------------
def peak_rss_bytes(usage: resource.struct_rusage | None = None, who: int = resource.RUSAGE_SELF) -> int:
    """ru_maxrss in bytes (Linux reports KiB, macOS bytes)."""
    usage = usage or resource.getrusage(who)
    return usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024


def raw_read(path: Path, batch: int = 5000) -> dict[str, Any]:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        cur = conn.execute("SELECT * FROM orchestration_events")
        rows = 0
        while chunk := cur.fetchmany(batch):
            for _row in chunk:
                rows += 1
        return {"rows": rows}
    finally:
        conn.close()


def scan_work(deep: bool) -> Callable[[Path], dict[str, Any]]:
    from threaddoctor.engine import scan  # imported before the baseline is taken

    def work(path: Path) -> dict[str, Any]:
        result = scan(path, deep=deep)
        return {"findings": len(result.findings), "events_decoded": result.events_decoded}

    return work


def child(mode: str, path: Path) -> None:
    work = raw_read if mode == "raw" else scan_work(deep=mode == "deep")
    baseline = peak_rss_bytes()
    started = time.perf_counter()
    detail = work(path)
    seconds = time.perf_counter() - started
    # `--deep` decodes half the log in a worker process: its peak counts too (an upper bound,
    # since the forked worker shares the parent's pages).
    peak = peak_rss_bytes() + peak_rss_bytes(who=resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "baseline": baseline, "peak": peak, **detail}))


# ---- the parent -----------------------------------------------------------------------------
@dataclass
class Measurement:
    mode: str
    times: list[float]
    baseline: int  # bytes, RSS after imports
    peak: int  # bytes, highest over the runs
    detail: dict[str, Any]

    @property
    def best(self) -> float:
        return min(self.times)


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return os.environ | {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), path) if p)}


def run_child(mode: str, db: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(db)]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(mode: str, db: Path, runs: int) -> Measurement:
    results = [run_child(mode, db) for _ in range(runs)]
    detail = {k: v for k, v in results[0].items() if k not in ("seconds", "baseline", "peak")}
    return Measurement(
        mode,
        [r["seconds"] for r in results],
        max(r["baseline"] for r in results),
        max(r["peak"] for r in results),
        detail,
    )


def time_cli(db: Path) -> tuple[float, int, int]:
    """`python -m threaddoctor scan DB --format json > /dev/null`: (seconds, exit status, peak RSS)."""
    cmd = [sys.executable, "-m", "threaddoctor", "scan", str(db), "--format", "json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, peak_rss_bytes(usage)


# ---- reporting ------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_table(results: dict[str, Measurement]) -> None:
    print(f"{'measurement':<13} {'best s':>8}  {'runs s':<22} {'baseline MB':>11} {'peak MB*':>8}  detail")
    for m in results.values():
        runs = " / ".join(f"{t:.2f}" for t in m.times)
        detail = ", ".join(f"{k} {v}" for k, v in m.detail.items())
        print(f"{LABELS[m.mode]:<13} {m.best:>8.2f}  {runs:<22} {m.baseline / MB:>11.1f} {m.peak / MB:>8.1f}  {detail}")


def print_targets(results: dict[str, Measurement]) -> None:
    print("* peak MB: the process's peak RSS plus its decode worker's, if any")
    raw = results["raw"].best
    scan_ratio, deep_ratio = results["scan"].best / raw, results["deep"].best / raw
    print()
    print(f"scan / raw   = {scan_ratio:6.3f}   target <= {TARGET_SCAN}   {verdict(scan_ratio <= TARGET_SCAN)}")
    print(f"deep / raw   = {deep_ratio:6.3f}   target <= {TARGET_DEEP}    {verdict(deep_ratio <= TARGET_DEEP)}")
    for m in results.values():
        if m.mode != "raw":
            peak = m.peak / MB
            print(
                f"peak {LABELS[m.mode]:<12} = {peak:6.1f} MB  target < {TARGET_PEAK_MB}   "
                f"{verdict(peak < TARGET_PEAK_MB)}"
            )


def describe(db: Path) -> str:
    conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True)
    try:
        events = conn.execute("SELECT COUNT(*) FROM orchestration_events").fetchone()[0]
        threads = conn.execute("SELECT COUNT(*) FROM projection_threads").fetchone()[0]
    finally:
        conn.close()
    return f"{db} ({db.stat().st_size / MB:.0f} MB, {events} events, {threads} threads)"


def profile(db: Path, top: int) -> None:
    """cProfile of the default and the deep scan, in this process, by cumulative time."""
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from threaddoctor.engine import scan

    for deep in (False, True):
        print(f"\n---- cProfile: scan(deep={deep}), top {top} by cumulative time")
        profiler = cProfile.Profile()
        profiler.runcall(scan, db, deep=deep)
        pstats.Stats(profiler).strip_dirs().sort_stats("cumulative").print_stats(top)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("db", nargs="?", type=Path, default=DEFAULT_DB, help="database (default: %(default)s)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement, best one counts (default 3)")
    p.add_argument("--profile", action="store_true", help="also cProfile the default and deep scans")
    p.add_argument("--top", type=int, default=15, help="functions shown per profile (default 15)")
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if args.child:
        child(args.child, args.db)
        return 0
    if not args.db.exists():
        print(f"{args.db} does not exist: run `python bench/build_db.py` first", file=sys.stderr)
        return 2
    print(describe(args.db))
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpu(s), "
        f"best of {args.runs}\n"
    )
    results = {mode: measure(mode, args.db, args.runs) for mode in MODES}
    print_table(results)
    print_targets(results)
    seconds, status, peak = time_cli(args.db)
    print(
        f"\nCLI `python -m threaddoctor scan DB --format json > /dev/null`: {seconds:.2f}s wall, "
        f"exit {status}, peak {peak / MB:.1f} MB"
    )
    if args.profile:
        profile(args.db, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
