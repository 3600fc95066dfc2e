"""Checks over thousands of logs: unreadable files reported in every format, the rest still checked,
the same findings over one process, two, and a Dask cluster."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from fixtures.fleet_corpus import Corpus, build
from threaddoctor.cli import app
from threaddoctor.engine import ScanResult
from threaddoctor.fleet import FleetReport, check_stream

runner = CliRunner()
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def _keys(result: ScanResult) -> list[tuple]:
    return sorted((f.rule, f.fingerprint, f.location.line if f.location else None) for f in result.findings)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    """2,000 exported logs of every kind, 40 of them unreadable in six ways."""
    return build(tmp_path_factory.mktemp("fleet"), files=1960, t3_share=0.02, damaged=40)


@pytest.fixture(scope="module")
def one_process(corpus) -> dict[str, ScanResult]:
    """Every file checked in this process, one after another: what --jobs 1 reports."""
    return {r.source: r for _, r in check_stream(corpus.paths, jobs=1)}


def test_the_corpus_has_every_kind(one_process) -> None:
    kinds = {r.source_kind for r in one_process.values()}
    assert kinds >= {"claude-transcript", "codex-rollout", "codex-exec", "connectonion-sessions", "t3code"}
    assert sum(1 for r in one_process.values() if r.findings) > 100


def test_two_thousand_logs_with_unreadable_ones(corpus, one_process) -> None:
    """--jobs 2 --format jsonl: every readable file with its findings, every unreadable one named
    with its reason and line, the same findings as one process; exit 2 once all are checked."""
    result = runner.invoke(app, ["check", "--jobs", "2", "--format", "jsonl", *map(str, corpus.paths)])
    assert result.exit_code == 2, result.output[-2000:]
    assert "Traceback" not in result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    summaries = {r["source"]: r for r in records if r["type"] == "summary"}
    findings: dict[str, list[tuple]] = {}
    for r in records:
        if r["type"] == "finding":
            findings.setdefault(r["source"], []).append((r["rule"], r["fingerprint"], r["location"]["line"]))
    assert set(summaries) == {str(p) for p in corpus.paths}
    for path in corpus.readable:
        s = summaries[str(path)]
        assert s["unreadable"] is None, s
        assert s["kind"] == one_process[str(path)].source_kind
        assert sorted(findings.get(str(path), [])) == _keys(one_process[str(path)])
        assert s["findings"] == len(findings.get(str(path), []))
    for path, (words, line) in corpus.unreadable.items():
        u = summaries[str(path)]["unreadable"]
        assert u is not None and words in u["reason"], (path, u)
        if line is not None:
            assert u["line"] == line
        assert str(path) in result.stderr and str(path) not in findings
    assert records[-1] == {
        "type": "total",
        "files": len(corpus.paths),
        "findings": sum(len(r.findings) for r in one_process.values()),
        "unreadable": len(corpus.unreadable),
    }


@pytest.fixture(scope="module")
def small(corpus) -> tuple[Path, Path, Path]:
    """A log with findings, one torn at line 6, and a missing one."""
    good = next(p for p in corpus.readable if "connectonion" not in p.name and p.stat().st_size > 5000)
    torn = next(p for p, (words, _) in corpus.unreadable.items() if words == "not valid JSON")
    missing = next(p for p, (words, _) in corpus.unreadable.items() if words == "no such file")
    return good, torn, missing


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit", "jsonl"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_unreadable_files_are_reported_in_every_format(small, fmt, jobs, tmp_path) -> None:
    good, torn, missing = small
    result = runner.invoke(app, ["check", "-f", fmt, "--jobs", jobs, str(good), str(torn), str(missing)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    out = result.stdout
    # Each unreadable file: its one-line error on stderr, and in the report on stdout.
    assert f"threaddoctor: error: {torn}:6: not valid JSON" in result.stderr
    assert f"threaddoctor: error: {missing}: no such file" in result.stderr
    if fmt == "text":
        assert "not valid JSON" in out and "reading stopped at line 6" in out and "no such file" in out
        assert str(good) in out and "3 files scanned" in out and "2 could not be read" in out
    elif fmt == "json":
        doc = json.loads(out)
        by_path = {s["source"]["path"]: s for s in doc["sources"]}
        assert by_path[str(torn)]["unreadable"]["line"] == 6
        assert by_path[str(missing)]["unreadable"] == {
            "reason": "no such file",
            "line": None,
            "message": f"{missing}: no such file",
        }
        assert by_path[str(good)]["unreadable"] is None and doc["summary"]["unreadable"] == 2
    elif fmt == "sarif":
        doc = json.loads(out)
        jsonschema.validate(doc, SCHEMA)
        invocation = doc["runs"][0]["invocations"][0]
        assert invocation["executionSuccessful"] is False
        errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
        assert len(errors) == 2
        torn_note = next(n for n in errors if "not valid JSON" in n["message"]["text"])
        assert torn_note["locations"][0]["physicalLocation"]["region"] == {"startLine": 6}
    elif fmt == "github":
        lines = out.splitlines()
        assert any(line.startswith("::error file=") and "line=6" in line and "not valid JSON" in line for line in lines)
        assert any("no such file" in line and line.startswith("::error") for line in lines)
    elif fmt == "junit":
        root = ET.fromstring(out)
        assert root.get("errors") == "2"
        errors = root.findall(".//testcase/error")
        assert sorted(e.get("type") for e in errors) == ["unreadable", "unreadable"]
        torn_case = next(c for c in root.iter("testcase") if c.get("name") == f"read {torn}")
        assert torn_case.get("line") == "6" and "not valid JSON" in torn_case.find("error").get("message")
    else:
        summaries = [r for r in map(json.loads, out.splitlines()) if r["type"] == "summary"]
        assert {s["source"]: (s["unreadable"] or {}).get("line") for s in summaries if s["unreadable"]} == {
            str(torn): 6,
            str(missing): None,
        }


def test_a_report_file_is_written_beside_jsonl(small, tmp_path) -> None:
    good, torn, _ = small
    sarif = tmp_path / "out.sarif"
    result = runner.invoke(app, ["check", "-f", "jsonl", "--sarif-output", str(sarif), str(good), str(torn)])
    assert result.exit_code == 2
    doc = json.loads(sarif.read_text())
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_one_unreadable_file_is_still_one_line(small) -> None:
    _, torn, _ = small
    result = runner.invoke(app, ["check", str(torn)])
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.strip()] == [
        f"threaddoctor: error: {torn}:6: not valid JSON (Invalid control character at at column 23)"
    ]


def test_on_a_dask_cluster(corpus, one_process) -> None:
    """check_many on a real distributed.LocalCluster (two worker processes on loopback) reduces to
    what one process finds: per rule, per kind, per file, every finding, every unreadable file.
    Every other file of the corpus: 1,000, of every kind, 20 of them unreadable."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed: pip install -e .[dask]")
    from threaddoctor.fleet import check_many

    paths = corpus.paths[::2]
    expected = FleetReport()
    for p in paths:
        expected.add(one_process[str(p)])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = check_many(paths, client=client)
    assert report.files == len(paths) >= 1000
    assert report.by_rule == expected.by_rule and sum(report.by_rule.values()) > 100
    assert report.by_kind == expected.by_kind and len(report.by_kind) == 5
    assert report.by_source == expected.by_source
    assert set(report.unreadable) == {str(p) for p in paths if p in corpus.unreadable} and report.unreadable
    assert report.unreadable == expected.unreadable
    key = lambda f: (f.source, f.rule, f.fingerprint, f.line)  # noqa: E731
    assert sorted(map(key, report.findings)) == sorted(map(key, expected.findings))
