"""Time `threaddoctor scan` as a whole program on each shape of a large log, beside a plain
per-line `json.loads` of the same file run the same way.

Shared by rollout_bench.py and transcript_bench.py. For every shape (log_shapes.py) three
programs run in turns, each in a fresh process (whole_program.py):
- the floor: a Python process that `json.loads` every line of the file;
- `scan`: `python -m threaddoctor scan FILE --format json > /dev/null`, as a user or CI runs it
  (interpreter start, imports, the scan, the JSON report);
- `work`: `threaddoctor.scan(FILE)` in a process that reports the seconds the scan took after
  its imports, so both the whole program and the reader are visible.
Each figure is the best and the median of the runs; the ratio is of the medians (the best runs'
ratio beside it), and of the CPU seconds (the worker's included). Peak memory: `ru_maxrss` of
each run (the largest of the scan and its forked worker), and the summed proportional set size
(PSS) of both, sampled in one more run (their RSS would count the pages they share twice).
"""

from __future__ import annotations

import argparse
import statistics

from log_shapes import SHAPES, ensure
from whole_program import MB, floor_jsonl, in_process, in_turns, peak_pss, threaddoctor

TARGET = 0.3
PEAK_MB = 150


def measure(kind: str, shapes: tuple[str, ...], runs: int) -> bool:
    """Print each shape's figures; whether every shape met its targets."""
    print(f"{kind}: {runs} runs of each program in turns, fresh processes; seconds as best / median\n")
    print(
        f"{'shape':<8} {'MB':>4} {'plain s':>12} {'scan s':>12} {'x plain':>14} {'work s':>12} {'rss MB':>7} "
        f"{'pss MB':>7} {'cpu x':>6}"
    )
    ok = True
    for shape, target in ensure(kind, shapes):
        scan_program = threaddoctor("scan", str(target), "--format", "json")
        work_program = in_process("scan, in process", "from threaddoctor import scan", "scan(sys.argv[1])", str(target))
        plain, scan, work = in_turns([floor_jsonl(target), scan_program, work_program], runs)
        ratio, best_ratio = scan.median / plain.median, scan.best / plain.best
        cpu = statistics.median(scan.cpu) / statistics.median(plain.cpu)
        pss = peak_pss(scan_program)
        met = ratio <= TARGET and pss < PEAK_MB
        ok &= met
        print(
            f"{shape:<8} {target.stat().st_size / MB:>4.0f} {plain.best:>5.2f} / {plain.median:<5.2f} "
            f"{scan.best:>5.2f} / {scan.median:<5.2f} {ratio:>6.2f} ({best_ratio:.2f}) "
            f"{min(work.work):>5.2f} / {statistics.median(work.work):<5.2f} {max(scan.peak):>7.1f} {pss:>7.1f} "
            f"{cpu:>6.2f}  {'ok' if met else 'MISSED'}"
        )
    print(f"\nx plain: median scan / median plain (best / best); target <= {TARGET} on every shape")
    print("cpu x: median CPU seconds of the scan (its worker's included) / those of the plain parse")
    print(
        f"rss MB: largest ru_maxrss of the scan's runs; pss MB: peak summed PSS of scan and worker (target < {PEAK_MB})"
    )
    return ok


def main(kind: str) -> int:
    parser = argparse.ArgumentParser(description=f"Scan 200 MB {kind}s of every shape as whole programs.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shape", choices=SHAPES, action="append", help="only this shape (repeatable)")
    args = parser.parse_args()
    return 0 if measure(kind, tuple(args.shape or SHAPES), args.runs) else 1
