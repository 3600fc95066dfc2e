"""Time threaddoctor's scan of a large T3 Code database against a raw read of its event log, as
whole programs: every run a fresh process, interpreter start and imports included.

    python bench/build_db.py            # once: bench/data/bench.sqlite
    python bench/scan_bench.py [--runs 5] [--profile] [DB]

The floor is a raw `SELECT * FROM orchestration_events`, every row fetched, in a fresh python.
The programs are `threaddoctor scan DB --format json` and `--deep`, as a user runs them; beside
them the library call `threaddoctor.scan(DB)` in a fresh python reports the time of the scan
itself (in-process, after its imports), so start-up and work can be told apart.
Targets (issue 12): the default scan <= 0.25 x the floor, `--deep` <= 3 x, peak < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

import whole_program as wp

ROOT = wp.ROOT
DEFAULT_DB = ROOT / "bench" / "data" / "bench.sqlite"
TARGET_SCAN = 0.25  # x raw read
TARGET_DEEP = 3.0  # x raw read
TARGET_PEAK_MB = 150


def library_scan(db: Path, deep: bool) -> wp.Program:
    return wp.in_process(
        f"threaddoctor.scan({'deep=True' if deep else ''}) in process",
        "from threaddoctor.engine import scan",
        f"scan(sys.argv[1], deep={deep})",
        str(db),
    )


def describe(db: Path) -> str:
    conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True)
    try:
        events = conn.execute("SELECT COUNT(*) FROM orchestration_events").fetchone()[0]
        threads = conn.execute("SELECT COUNT(*) FROM projection_threads").fetchone()[0]
    finally:
        conn.close()
    return f"{db} ({db.stat().st_size / wp.MB:.0f} MB, {events} events, {threads} threads)"


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
    p.add_argument("--runs", type=int, default=5, help="runs per program (default 5)")
    p.add_argument("--profile", action="store_true", help="also cProfile the default and deep scans")
    p.add_argument("--top", type=int, default=15, help="functions shown per profile (default 15)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if not args.db.exists():
        print(f"{args.db} does not exist: run `python bench/build_db.py` first", file=sys.stderr)
        return 2
    print(describe(args.db))
    print(f"{wp.machine()}, sqlite {sqlite3.sqlite_version}, {args.runs} runs each\n")
    db = str(args.db)
    scan_program = wp.threaddoctor("scan", db, "--format", "json")
    deep_program = wp.threaddoctor("scan", db, "--deep", "--format", "json")
    floor = wp.measure(wp.floor_select(args.db), args.runs)
    cli = wp.measure(scan_program, args.runs, keep_stdout=True)
    deep = wp.measure(deep_program, args.runs)
    lib = wp.measure(library_scan(args.db, deep=False), args.runs)
    lib_deep = wp.measure(library_scan(args.db, deep=True), args.runs)
    print(wp.table([floor, cli, deep, lib, lib_deep], floor))
    doc = json.loads(cli.stdout)
    print(
        f"\nscan: exit {cli.status[-1]}, {doc['summary']['findings']} findings on {doc['summary']['threads']} threads"
    )
    print("peak MB: the largest RSS in the process tree (wait4); a forked decode worker shares its parent's pages\n")
    print("Whole programs:")
    print("  " + wp.verdict("scan", cli, floor, TARGET_SCAN))
    print("  " + wp.verdict("scan --deep", deep, floor, TARGET_DEEP))
    print("In process (work after imports, best runs):")
    for name, t in (("scan", lib), ("scan --deep", lib_deep)):
        print(f"  {name} / raw read = {min(t.work) / min(floor.work):.3f}")
    for name, program in (("scan", scan_program), ("scan --deep", deep_program)):
        pss = wp.peak_pss(program)
        ok = "ok" if pss < TARGET_PEAK_MB else "MISSED"
        print(
            f"peak {name} (PSS of the process and its worker, sampled) = {pss:.1f} MB   target < {TARGET_PEAK_MB}   {ok}"
        )
    if args.profile:
        profile(args.db, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
