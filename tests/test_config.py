"""[tool.threaddoctor] in pyproject.toml: defaults for scan and check, overridden by the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fixtures.t3code_scenarios import issue_313
from threaddoctor.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository with a pyproject.toml and a database, as cwd."""
    (tmp_path / ".git").mkdir()
    db = issue_313(tmp_path / "state.sqlite", "main-2026-08").close()
    monkeypatch.chdir(tmp_path)

    def configure(body: str) -> None:
        (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'app'\n\n[tool.threaddoctor]\n{body}\n")

    return tmp_path, db, configure


def _rules(output: str) -> set[str]:
    return {f["rule"] for f in json.loads(output)["findings"]}


def test_select_ignore_and_cli_override(project) -> None:
    _, db, configure = project
    configure('select = ["T3001"]')
    assert _rules(runner.invoke(app, ["scan", str(db), "-f", "json"]).output) == {"T3001"}
    assert _rules(runner.invoke(app, ["scan", str(db), "-f", "json", "--select", "T3002"]).output) == {"T3002"}
    configure('ignore = ["orphan-pending-turn"]')
    assert _rules(runner.invoke(app, ["scan", str(db), "-f", "json"]).output) == {"T3001"}


def test_severity_override_output_and_exit_zero(project) -> None:
    root, db, configure = project
    configure(
        'severity = { T3001 = "warning", orphan-pending-turn = "info" }\n'
        'output-format = "json"\nsarif-output = "reports/out.sarif"\nexit-zero = true'
    )
    result = runner.invoke(app, ["scan", str(db)])
    assert result.exit_code == 0
    severities = {f["rule"]: f["severity"] for f in json.loads(result.output)["findings"]}
    assert severities == {"T3001": "warning", "T3002": "info"}
    sarif = json.loads((root / "reports" / "out.sarif").read_text())
    assert {r["level"] for r in sarif["runs"][0]["results"]} == {"warning", "note"}
    assert runner.invoke(app, ["scan", str(db), "--no-exit-zero"]).exit_code == 1


def test_baseline_from_config(project) -> None:
    _, db, configure = project
    assert runner.invoke(app, ["baseline", str(db), "-o", "known.json"]).exit_code == 0
    configure('baseline = "known.json"')
    result = runner.invoke(app, ["scan", str(db)])
    assert result.exit_code == 0 and "2 known finding(s) hidden by the baseline" in result.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('selct = ["T3001"]', "unknown key 'selct'"),
        ('severity = { T3001 = "fatal" }', "severity.T3001"),
        ('output-format = "xml"', "output-format must be one of"),
        ('severity = { T9999 = "error" }', "no rule 'T9999'"),
        ("select = [", "cannot read"),
    ],
)
def test_bad_config_is_one_line_error(project, body, message) -> None:
    _, db, configure = project
    configure(body)
    result = runner.invoke(app, ["scan", str(db)])
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_no_config_above_the_repository(tmp_path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.threaddoctor]\nselct = 1\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    db = issue_313(repo / "state.sqlite", "main-2026-08").close()
    monkeypatch.chdir(repo)
    assert runner.invoke(app, ["scan", str(db)]).exit_code == 1  # the outer file is not read
