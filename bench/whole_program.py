"""Time whole programs: each run is a fresh process, interpreter start and imports included.

What a user waits for is the process, from the command to the prompt coming back; a time taken
inside a process that has already imported everything hides the start-up. The benchmarks in
bench/ time their program and its floor (the plainest program that reads the same data) this
way, and print beside it the time the work took inside the process.

    import whole_program as wp

    floor = wp.measure(wp.floor_jsonl(path), runs=5)   # per-line json.loads in a fresh python
    scan = wp.measure(wp.threaddoctor("scan", str(path), "--format", "json"), runs=5)
    print(wp.table([floor, scan], floor))              # best, median, range, x floor, in-process, MB
    print(wp.verdict("scan", scan, floor, target=0.3))
    mb = wp.peak_pss(wp.threaddoctor("scan", str(path), "--format", "json"))  # process + workers

A program reports the seconds of its own work (after its imports) by writing `work <seconds>`
as a line of stderr (the floors here do; `in_process()` wraps a library call so); `Timing.work`
holds those.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
_WORK = re.compile(rb"^work ([0-9.eE+-]+)$", re.M)

# The floors: the least a program must do to read the data, each in a fresh interpreter.
_SELECT = """
import sqlite3, sys, time
from urllib.parse import quote
t = time.perf_counter()
conn = sqlite3.connect("file:" + quote(sys.argv[1]) + "?mode=ro", uri=True)
cur = conn.execute("SELECT * FROM orchestration_events")
rows = 0
while chunk := cur.fetchmany(5000):
    rows += len(chunk)
print(rows)
sys.stderr.write(f"work {time.perf_counter() - t}\\n")
"""
_JSONL = """
import json, sys, time
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line)
        n += 1
print(n)
sys.stderr.write(f"work {time.perf_counter() - t}\\n")
"""


@dataclass(frozen=True)
class Program:
    label: str
    argv: list[str]


@dataclass
class Timing:
    label: str
    wall: list[float] = field(default_factory=list)  # seconds per run, the whole process
    work: list[float] = field(default_factory=list)  # seconds per run the program reported for its work
    peak: list[float] = field(default_factory=list)  # MB per run: the largest RSS in the process tree
    # CPU seconds per run (user + system, reaped children such as a forked worker included): on a
    # machine shared with other work, wall time follows the load, CPU time much less
    cpu: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    stdout: bytes = b""  # of the last run

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def spread(self, values: Sequence[float] | None = None) -> str:
        v = self.wall if values is None else values
        return f"{min(v):.2f}-{max(v):.2f}" if v else "-"


def python(label: str, code: str, *args: str) -> Program:
    return Program(label, [sys.executable, "-c", code, *args])


def threaddoctor(*args: str, label: str | None = None) -> Program:
    """The program as a user runs it (`python -m threaddoctor` is the console script's twin)."""
    return Program(
        label or "threaddoctor " + " ".join(_short(a) for a in args), [sys.executable, "-m", "threaddoctor", *args]
    )


def floor_select(db: Path) -> Program:
    """Every row of the T3 Code event log, fetched over a read-only connection."""
    return python("raw SELECT (fresh python)", _SELECT, str(db.resolve()))


def floor_jsonl(path: Path) -> Program:
    """A json.loads of every line of a log."""
    return python("json.loads per line (fresh python)", _JSONL, str(path))


def in_process(label: str, setup: str, call: str, *args: str) -> Program:
    """A fresh python that runs `setup` (imports), then times `call` and reports it as its work:
    the in-process time, beside the whole process that also pays for the interpreter and imports."""
    code = f"import sys, time\n{setup}\nt = time.perf_counter()\n{call}\nsys.stderr.write(f'work {{time.perf_counter() - t}}\\n')\n"
    return python(label, code, *args)


def environment() -> dict[str, str]:
    """The benchmark's environment, with this checkout first on the import path."""
    path = os.environ.get("PYTHONPATH", "")
    return os.environ | {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), path) if p)}


def measure(program: Program, runs: int = 5, keep_stdout: bool = False) -> Timing:
    """`runs` fresh processes of `program`, one after the other. The peak RSS is wait4's: the
    largest of the process and the children it reaped (a forked worker is not added to its
    parent, which shares its pages; `peak_pss` sums them properly)."""
    timing = Timing(program.label)
    for _ in range(runs):
        _run(program, timing, keep_stdout)
    return timing


def in_turns(programs: Sequence[Program], runs: int = 5) -> list[Timing]:
    """Each program `runs` times, in turns (A B C A B C ...): on a shared machine, load that comes
    and goes then slows each alike, and paired ratios stay comparable."""
    timings = [Timing(p.label) for p in programs]
    for _ in range(runs):
        for program, timing in zip(programs, timings, strict=True):
            _run(program, timing, False)
    return timings


def _run(program: Program, timing: Timing, keep_stdout: bool) -> None:
    """One fresh process of `program`, its figures added to `timing`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            program.argv, cwd=ROOT, env=environment(), stdout=out if keep_stdout else subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        timing.wall.append(time.perf_counter() - started)
        timing.cpu.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        timing.status.append(proc.returncode)
        timing.peak.append(usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / MB)
        err.seek(0)
        found = _WORK.findall(err.read())
        if found:
            timing.work.append(float(found[-1]))
        if keep_stdout:
            out.seek(0)
            timing.stdout = out.read()


def peak_pss(program: Program, every: float = 0.003) -> float:
    """MB: the peak of the summed proportional set size of the process and its children, sampled
    while it runs (Linux; 0 elsewhere). Sampling slows the process, so this is a separate run."""
    proc = subprocess.Popen(program.argv, cwd=ROOT, env=environment(), stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_pss(proc.pid))
        time.sleep(every)
    return peak


def tree_pss(pid: int) -> float:
    """MB of proportional set size of a process and its children: pages a forked worker shares
    with its parent count half to each, so the sum is what the two really hold (Linux only)."""
    total = 0
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


def table(timings: Sequence[Timing], floor: Timing | None = None) -> str:
    """One line per program: whole-process best, median and range, the best as a multiple of the
    floor's best, the in-process work (best and range) and the peak RSS."""
    head = f"{'program':<44} {'best s':>7} {'median':>7} {'range s':>11} {'x floor':>8} {'in-process s':>13} {'peak MB':>8}"
    lines = [head]
    for t in timings:
        ratio = f"{t.best / floor.best:.3f}" if floor else "-"
        work = f"{min(t.work):.2f} ({t.spread(t.work)})" if t.work else "-"
        lines.append(
            f"{t.label[:44]:<44} {t.best:>7.3f} {t.median:>7.3f} {t.spread():>11} {ratio:>8} {work:>13} {max(t.peak):>8.1f}"
        )
    return "\n".join(lines)


def verdict(name: str, t: Timing, floor: Timing, target: float) -> str:
    """The whole-program ratio against its target, from the best runs and over all of them."""
    best = t.best / floor.best
    worst = max(t.wall) / min(floor.wall)
    ok = "ok" if best <= target else "MISSED"
    return f"{name} / floor = {best:.3f} (best runs; {t.median / floor.median:.3f} median, up to {worst:.3f})   target <= {target}   {ok}"


def machine() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load average {load}"


def _short(arg: str) -> str:
    return Path(arg).name if os.sep in arg else arg
