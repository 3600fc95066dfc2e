"""Start-up: how long the commands that do no scanning take, as whole processes.

    python bench/startup_bench.py [--runs 5]

Each command runs as a user runs it (the `threaddoctor` console script beside this python, or
`python -m threaddoctor` without one), in a fresh process, `--runs` times; best and median count.
A bare `python -c pass` is the floor: no program starts faster than its interpreter.
Targets (issue 12): `--version` <= 0.08 s, `--help` and `rules` <= 0.15 s, best of 5.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import whole_program as wp

TARGETS = {"--version": 0.08, "--help": 0.15, "rules": 0.15}
OTHERS = ["-V", "scan --help", "rules --format json", "explain T3001", "--bogus"]


def command(words: str) -> wp.Program:
    script = shutil.which("threaddoctor", path=str(Path(sys.executable).parent))
    argv = [script] if script else [sys.executable, "-m", "threaddoctor"]
    return wp.Program(f"threaddoctor {words}", [*argv, *words.split()])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args()
    print(f"{wp.machine()}, {args.runs} runs each\n")
    floor = wp.measure(wp.python("python -c pass (floor)", "pass"), args.runs)
    timed = {words: wp.measure(command(words), args.runs) for words in [*TARGETS, *OTHERS]}
    print(wp.table([floor, *timed.values()], floor))
    print()
    missed = 0
    for words, target in TARGETS.items():
        t = timed[words]
        ok = t.best <= target
        missed += not ok
        print(
            f"threaddoctor {words:<10} best {t.best:.3f} s, median {t.median:.3f} s   target <= {target} s   "
            f"{'ok' if ok else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
