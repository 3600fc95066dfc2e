"""The program's entry point. `--version` is answered here, before the command line is built:
importing typer and the commands takes several times longer than the whole answer."""

from __future__ import annotations

import sys

from threaddoctor.version import version_line


def main() -> None:
    # Only the option alone: anything else (`--version --bogus`) goes to the command line, which
    # answers exactly as it would have.
    if sys.argv[1:] in (["--version"], ["-V"]):
        sys.stdout.write(version_line() + "\n")
        return
    from threaddoctor.cli import main as run

    run()
