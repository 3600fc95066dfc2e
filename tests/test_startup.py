"""Start-up: each command imports only what it uses, `--version` and the help as a user sees them.

The imports are checked in a fresh interpreter (this test process has imported everything): a
driver runs the program's entry point and writes the names in sys.modules to a file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from threaddoctor.version import __version__

ROOT = Path(__file__).resolve().parent.parent
ROLLOUT = next((ROOT / "fixtures/codex/recorded/tool_call/rollout").rglob("*.jsonl"))
TRANSCRIPT = next((ROOT / "fixtures/claude/recorded/tool").rglob("*.jsonl"))

DRIVER = """
import json, sys
out, sys.argv = sys.argv[1], ["threaddoctor", *sys.argv[2:]]
from threaddoctor.entry import main
try:
    main()
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""

READERS = "threaddoctor.sources"
T3_CONTRACT = "threaddoctor.sources.t3code.contract"


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh `threaddoctor ARGS` imported, and what it printed."""
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(listing), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return set(json.loads(listing.read_text())), done.stdout


def _loaded(modules: set[str], prefix: str) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


def _readers(modules: set[str]) -> list[str]:
    """The modules of threaddoctor.sources loaded, but for the packages themselves (empty) and the
    vocabularies (constant tables, which rule modules may quote in their documentation)."""
    return [
        m
        for m in _loaded(modules, READERS)
        if not m.endswith(".vocabulary") and importlib.util.find_spec(m).submodule_search_locations is None
    ]


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_imports_no_command_line_model_or_reader(tmp_path, flag) -> None:
    modules, printed = _run(tmp_path, flag)
    assert printed == f"threaddoctor {__version__}\n"
    for heavy in (READERS, "threaddoctor.findings", "typer", "pydantic", "rich"):
        assert not _loaded(modules, heavy), heavy


def test_version_through_the_command_line_too() -> None:
    # `--version` among other words is parsed by typer, which answers the same way.
    from typer.testing import CliRunner

    from threaddoctor.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"threaddoctor {__version__}\n"
    bad = CliRunner().invoke(app, ["--version", "--bogus"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    "args",
    [["--help"], ["scan", "--help"], ["rules"], ["rules", "--format", "json"], ["explain", "T3001"]],
)
def test_help_and_rules_import_no_reader_and_no_finding_model(tmp_path, args) -> None:
    modules, printed = _run(tmp_path, *args)
    assert printed.strip()
    assert not _readers(modules)
    assert not _loaded(modules, T3_CONTRACT)
    assert not _loaded(modules, "threaddoctor.findings")
    assert not _loaded(modules, "threaddoctor.engine")


def test_rules_lists_every_rule(tmp_path) -> None:
    from threaddoctor import all_rules

    _, printed = _run(tmp_path, "rules", "--format", "json")
    assert [r["code"] for r in json.loads(printed)] == [r.code for r in all_rules()]


@pytest.mark.parametrize("log", [ROLLOUT, TRANSCRIPT], ids=["codex-rollout", "claude-transcript"])
def test_a_log_scan_loads_neither_the_t3code_contract_nor_the_repair_code(tmp_path, log) -> None:
    modules, printed = _run(tmp_path, "scan", str(log), "--format", "json")
    assert json.loads(printed)["source"]["path"] == str(log)
    assert not _loaded(modules, T3_CONTRACT)
    assert not _loaded(modules, "threaddoctor.sources.t3code.source")
    assert not _loaded(modules, "threaddoctor.fix")
    assert not _loaded(modules, "threaddoctor.rules.t3code")
    assert not _loaded(modules, "rich")  # JSON on stdout needs no console


COMMANDS = ["scan", "check", "export", "baseline", "fix", "undo", "rules", "explain"]

HELPS = """
import sys
from threaddoctor.entry import main
for words in [["--help"], *([c, "--help"] for c in sys.argv[1:])]:
    sys.argv = ["threaddoctor", *words]
    print("=== " + " ".join(words), flush=True)
    try:
        main()
    except SystemExit:
        pass
"""


@pytest.mark.parametrize("env", [{}, {"COLUMNS": "60"}, {"COLUMNS": "200"}, {"NO_COLOR": "1"}], ids=str)
def test_help_shows_no_python_types(env) -> None:
    """Typer shows `<bool>` beside every flag (`--help <bool>`) and `<list[str]>` beside repeatable
    options; the help of threaddoctor and of each command shows neither."""
    done = subprocess.run(
        [sys.executable, "-c", HELPS, *COMMANDS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )
    helps = done.stdout.split("=== ")[1:]
    assert len(helps) == 1 + len(COMMANDS)
    for printed in helps:
        assert "Usage:" in printed and "--help" in printed, printed
        for artifact in ("<bool>", "list[", "<Path>", "None"):
            assert artifact not in printed, (printed, artifact)


def test_top_help_offers_version_and_shell_completion(tmp_path) -> None:
    _, printed = _run(tmp_path, "--help", env={"COLUMNS": "120"})
    for option in ("--version", "-V", "--install-completion", "--show-completion"):
        assert option in printed


def test_shell_completion_script_and_completions(tmp_path) -> None:
    _, script = _run(tmp_path, "--show-completion", "bash")
    assert "_THREADDOCTOR_COMPLETE=complete_bash" in script
    # What the shell asks for when the user presses tab after `threaddoctor ru`.
    done = subprocess.run(
        [sys.executable, "-m", "threaddoctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "_THREADDOCTOR_COMPLETE": "complete_bash",
            "COMP_WORDS": "threaddoctor ru",
            "COMP_CWORD": "1",
        },
        timeout=120,
    )
    assert "rules" in done.stdout.split()
