"""Exported logs: the same findings as the database, redacted or not; nothing private leaks;
malformed files are reported as file:line."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from fixtures.t3code_scenarios import healthy, issue_313
from tests.case_runner import build, load_cases
from threaddoctor import all_rules, scan
from threaddoctor.cli import app
from threaddoctor.report.sarif import sarif_document
from threaddoctor.sources.t3code.export import export

runner = CliRunner()
_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
SARIF = jsonschema.validators.validator_for(_SCHEMA)(_SCHEMA)


def _fixtures() -> list:
    params = [
        pytest.param(c, r, id=f"{c.rule}-{c.kind}-{c.name}-{r}")
        for c in load_cases()
        if c.source == "t3code"
        for r in c.releases
    ]
    return (
        params
        + [pytest.param("issue-313", r, id=f"issue-313-{r}") for r in ("v0.0.9", "v0.0.29", "main-2026-08")]
        + [pytest.param("healthy", "main-2026-08", id="healthy")]
    )


def _build(case, release: str, tmp_path: Path) -> tuple[Path, bool]:
    db = tmp_path / "state.sqlite"
    if case == "issue-313":
        return issue_313(db, release).close(), False
    if case == "healthy":
        return healthy(db, release).close(), False
    return build(case, release, db).path, case.deep


def _key(f, with_message: bool) -> tuple:
    return (
        f.rule,
        f.thread_id,
        f.turn_id,
        f.subject,
        f.severity,
        tuple(f.evidence_sequences),
        f.message if with_message else None,
    )


@pytest.mark.parametrize(("case", "release"), _fixtures())
def test_export_gives_the_same_findings_as_the_database(case, release, tmp_path) -> None:
    db, deep = _build(case, release, tmp_path)
    expected = scan(db, deep=deep).findings
    plain, redacted = tmp_path / "plain.jsonl", tmp_path / "redacted.jsonl.gz"
    export(db, plain)
    export(db, redacted, redact=True)
    assert [_key(f, True) for f in scan(plain, deep=deep).findings] == [_key(f, True) for f in expected]
    assert [_key(f, False) for f in scan(redacted, deep=deep).findings] == [_key(f, False) for f in expected]
    checked = scan(plain, deep=deep)
    for f in checked.findings:
        assert f.source == str(plain) and f.location.path == str(plain) and f.location.line >= 1
    # The SARIF of every fixture's check validates against the official schema.
    document = sarif_document([checked], all_rules())
    assert list(SARIF.iter_errors(document)) == []
    assert len(document["runs"][0]["results"]) == len(checked.findings)


def _private_strings(db: Path) -> set[str]:
    """Message text, tool output, titles and paths the database holds: none may leak."""
    conn = sqlite3.connect(db)
    found: set[str] = set()

    def strings(value) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("requestId", "requestKind", "kind", "decision", "threadId", "turnId"):
                    strings(v)
        elif isinstance(value, list):
            for v in value:
                strings(v)

    for (text,) in conn.execute("SELECT text FROM projection_thread_messages"):
        found.add(text)
    kinds = set()
    for kind, summary, payload in conn.execute("SELECT kind, summary, payload_json FROM projection_thread_activities"):
        kinds.add(kind)  # the app's vocabulary, kept on purpose
        found.add(summary)
        strings(json.loads(payload))
    for (title,) in conn.execute("SELECT title FROM projection_threads"):
        found.add(title)
    for etype, payload in conn.execute("SELECT event_type, payload_json FROM orchestration_events"):
        p = json.loads(payload)
        if etype == "thread.message-sent":
            found.add(p["text"])
        if etype == "project.created":
            found.update((p["workspaceRoot"], p["title"]))
        if etype == "thread.turn-diff-completed":
            found.update(f["path"] for f in p["files"])
    conn.close()
    return {s for s in found - kinds if len(s.strip()) >= 6}


@pytest.mark.parametrize("release", ["v0.0.9", "main-2026-08"])
def test_redacted_export_leaks_no_text_output_or_path(release, tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite", release)
    b.request_approval("t313", "turn-2", "q")
    b.activity("t313", "turn-2", "tool.completed", payload={"output": "secret-token-123 in /home/ann/project/.env"})
    db = b.close()
    private = _private_strings(db)
    assert any("/home/" in s for s in private) and len(private) > 10
    out = tmp_path / "redacted.jsonl"
    export(db, out, redact=True)
    text = out.read_text()
    leaked = [s for s in private if json.dumps(s, ensure_ascii=False)[1:-1] in text and not _vocabulary(s)]
    assert leaked == []
    plain = tmp_path / "plain.jsonl"
    export(db, plain)
    assert "secret-token-123" in plain.read_text()  # the test can see a leak when there is one


def _vocabulary(s: str) -> bool:
    from threaddoctor.sources.t3code.redact import is_vocabulary

    return is_vocabulary(s)


def test_thread_export_holds_one_thread(tmp_path) -> None:
    b = issue_313(tmp_path / "state.sqlite", "main-2026-08")
    db = b.close()
    out = tmp_path / "one.jsonl"
    result = runner.invoke(app, ["export", str(db), "-o", str(out), "--thread", b.ids["t313"]])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    streams = {r["stream_id"] for r in records if r["type"] == "event"}
    assert streams == {b.ids["t313"], b.project_id}
    threads = {r["row"]["thread_id"] for r in records if r["type"] == "row" and "thread_id" in r["row"]}
    assert threads == {b.ids["t313"]}
    assert {f.rule for f in scan(out).findings} == {"T3001", "T3002"}
    bad = runner.invoke(app, ["export", str(db), "-o", str(out), "--thread", "nope"])
    assert bad.exit_code == 2 and "no thread 'nope'" in bad.output


def _export_lines(tmp_path: Path) -> list[str]:
    db = issue_313(tmp_path / "state.sqlite", "main-2026-08").close()
    out = tmp_path / "x.jsonl"
    export(db, out)
    return out.read_text().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda ls: [*ls[:5], "{not json}\n", *ls[5:]], ":6: not valid JSON"),
        (lambda ls: [*ls[:-1], ls[-1][: len(ls[-1]) // 2]], ": truncated line"),
        (lambda ls: [*ls[:3], '{"type": "comment"}\n', *ls[3:]], ":4: unknown record type 'comment'"),
        (lambda ls: [*ls[:3], '["a"]\n', *ls[3:]], ":4: expected a JSON object"),
        (lambda ls: ls[1:], ":1: not a threaddoctor export"),
        (lambda ls: [], ": empty file"),
        (lambda ls: [*ls[:2], '{"type":"row","table":"secrets","row":{}}\n', *ls[2:]], ":3: row of unknown table"),
    ],
)
def test_malformed_lines_are_reported_with_file_and_line(tmp_path, damage, message) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(damage(_export_lines(tmp_path))))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith(f"threaddoctor: error: {path}") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\xff\xfe", ":4: invalid UTF-8"), (b"\x00", ":4: NUL byte")],
)
def test_bad_bytes_are_reported_with_file_and_line(tmp_path, data, message) -> None:
    lines = [line.encode() for line in _export_lines(tmp_path)]
    lines[3] = lines[3][:10] + data + lines[3][10:]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(lines))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and message in result.output


def test_bom_and_gzip_are_read(tmp_path) -> None:
    lines = _export_lines(tmp_path)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    assert {f.rule for f in scan(bom).findings} == {"T3001", "T3002"}
    gz = tmp_path / "x.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(lines).encode()))
    assert {f.rule for f in scan(gz).findings} == {"T3001", "T3002"}
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    result = runner.invoke(app, ["check", str(cut)])
    assert result.exit_code == 2 and "truncated or damaged gzip stream" in result.output


def test_check_several_files_and_json_output(tmp_path) -> None:
    lines = _export_lines(tmp_path)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text("".join(lines))
    two.write_text("".join(lines))
    result = runner.invoke(app, ["check", str(one), str(two), "--output-format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["summary"] == {"findings": 4, "sources": 2, "unreadable": 0}
    assert [s["source"]["path"] for s in doc["sources"]] == [str(one), str(two)]


def test_fix_refuses_an_export(tmp_path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("".join(_export_lines(tmp_path)))
    before = path.read_bytes()
    result = runner.invoke(app, ["fix", str(path)])
    assert result.exit_code == 2 and "repair the database it came from" in result.output
    assert path.read_bytes() == before
