"""SARIF, GitHub annotations and JUnit rendered from real scans: issue #313, a healthy database and
every positive case file, so every rule contributes findings. Nothing is compared with a
hand-written document; the outputs are checked against the SARIF schema, parsed back, and
compared with the findings they came from."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from fixtures.t3code_scenarios import healthy, issue_313
from tests.case_runner import build, load_cases
from threaddoctor import ScanResult, Severity, all_rules, scan
from threaddoctor.findings import Location
from threaddoctor.report import sarif
from threaddoctor.report.github import annotations
from threaddoctor.report.junit import junit_xml
from threaddoctor.report.sarif import FINGERPRINT_KEY, LEVEL, sarif_document
from threaddoctor.sources.t3code.export import export

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
RULES = all_rules()

# RFC 3986 URI-reference characters; jsonschema checks "uri-reference" only with optional packages.
URI_REFERENCE = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def valid(doc: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    for run in doc["runs"]:
        for loc in [a["location"] for a in run["artifacts"]] + [
            r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]
        ]:
            assert URI_REFERENCE.match(loc["uri"]), loc["uri"]
    return doc


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[str, ScanResult]:
    """label -> scan result, for issue #313, a healthy database and every positive case."""
    base = tmp_path_factory.mktemp("outputs")
    out = {}
    for label, make in (("issue_313", issue_313), ("healthy", healthy)):
        b = make(base / f"{label}.sqlite")
        b.close()
        out[label] = scan(b.path)
    for i, case in enumerate(c for c in load_cases() if c.kind == "positive"):
        b = build(case, case.releases[0], base / f"case-{i}.sqlite")
        out[f"{case.rule}: {case.name}"] = scan(b.path, deep=case.deep)
    return out


def with_line(result: ScanResult, line: int = 7, path: str | None = None) -> ScanResult:
    """The same findings, as if read from an exported log: every location has a line."""
    findings = [
        f.model_copy(update={"location": Location(path=path or f.source, line=line, logical=f.location.logical)})
        for f in result.findings
    ]
    return result.model_copy(update={"findings": findings})


def results_of(doc: dict) -> list[dict]:
    (run,) = doc["runs"]
    return run["results"]


# ---- SARIF --------------------------------------------------------------------------------


def test_sarif_validates_and_has_one_result_per_finding(scans) -> None:
    all_results = list(scans.values())
    for result in [*all_results, with_line(scans["issue_313"])]:
        doc = valid(sarif_document([result], RULES))
        assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
        assert len(results_of(doc)) == len(result.findings)
    doc = valid(sarif_document(all_results, RULES))
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "threaddoctor" and driver["version"] and driver["informationUri"].startswith("https://")
    findings = [f for r in all_results for f in r.findings]
    assert len(run["results"]) == len(findings)
    assert {f.rule for f in findings} == {r.code for r in RULES}, "every rule should contribute a finding"
    assert len(run["artifacts"]) == len(all_results)
    for res, f in zip(run["results"], findings, strict=True):
        assert res["ruleId"] == f.rule and driver["rules"][res["ruleIndex"]]["id"] == f.rule
        assert res["level"] == LEVEL[f.severity]
        assert res["message"]["text"].startswith(f.message)
        assert ("Proposed repair" in res["message"]["text"]) == bool(f.repair)
        if f.repair:
            assert f.repair.summary in res["message"]["text"]
        loc = res["locations"][0]
        # a database has no lines (1 stands in); a log points at the line of its record
        assert loc["physicalLocation"]["region"]["startLine"] == (f.location.line or 1)
        assert loc["logicalLocations"][0]["fullyQualifiedName"] == f.location.logical
        art = run["artifacts"][loc["physicalLocation"]["artifactLocation"]["index"]]
        assert art["location"]["uri"] == loc["physicalLocation"]["artifactLocation"]["uri"]
        assert res["partialFingerprints"] == {FINGERPRINT_KEY: f.fingerprint}
        props = res["properties"]
        assert props["thread_id"] == f.thread_id and props["turn_id"] == f.turn_id
        assert props["subject"] == f.subject and props["since"] == f.since
        assert props["evidence_sequences"] == f.evidence_sequences


def test_sarif_rules_describe_every_rule(scans) -> None:
    (run,) = sarif_document([scans["issue_313"]], RULES)["runs"]
    descriptors = run["tool"]["driver"]["rules"]
    assert [d["id"] for d in descriptors] == [r.code for r in RULES]
    for d, r in zip(descriptors, RULES, strict=True):
        assert d["name"] == r.name and d["shortDescription"]["text"] == r.summary
        assert d["fullDescription"]["text"] == r.explanation
        assert d["defaultConfiguration"]["level"] == LEVEL[r.severity]
        assert d["properties"]["fix_safety"] == r.fix_safety.value and d["properties"]["tags"]
        for form in ("text", "markdown"):
            assert r.explanation in d["help"][form] and r.fix_reason in d["help"][form]
            assert r.fix_safety.value in d["help"][form]


def test_result_level_follows_the_finding_not_the_rule(scans) -> None:
    result = scans["issue_313"]
    demoted = result.model_copy(
        update={"findings": [f.model_copy(update={"severity": Severity.info}) for f in result.findings]}
    )
    doc = valid(sarif_document([demoted], RULES))
    assert {r["level"] for r in results_of(doc)} == {"note"}
    rules = {d["id"]: d for d in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {rules[r["ruleId"]]["defaultConfiguration"]["level"] for r in results_of(doc)} == {"error"}


def test_healthy_database_gives_no_results_but_lists_rules(scans) -> None:
    doc = valid(sarif_document([scans["healthy"]], RULES))
    assert results_of(doc) == []
    assert len(doc["runs"][0]["tool"]["driver"]["rules"]) == len(RULES)
    assert doc["runs"][0]["properties"]["rules_run"] == sorted(scans["healthy"].rules_run)


def test_fingerprints_stable_across_scans_and_distinct_between_findings(scans) -> None:
    path = scans["issue_313"].source
    first, second = (results_of(sarif_document([scan(path)], RULES)) for _ in range(2))
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]
    for result in scans.values():
        prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results_of(sarif_document([result], RULES))]
        assert len(set(prints)) == len(prints)
    # The fixture builder derives ids from aliases, so different databases can hold the same entity;
    # across them, fingerprints are equal exactly when the entities are.
    entity_of = {}
    for f in (f for r in scans.values() for f in r.findings):
        assert entity_of.setdefault(f.fingerprint, f.entity) == f.entity
    assert len(set(entity_of.values())) == len(entity_of) > 20


def test_line_from_location_and_uri_relative_to_root(scans, tmp_path, monkeypatch) -> None:
    result = scans["issue_313"]
    root = Path(result.source).parent
    doc = valid(sarif_document([with_line(result)], RULES, root=root))
    for res in results_of(doc):
        physical = res["locations"][0]["physicalLocation"]
        assert physical["region"]["startLine"] == 7
        assert physical["artifactLocation"]["uri"] == Path(result.source).name
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"

    monkeypatch.chdir(root.parent)  # default root: the current directory
    (res, *_) = results_of(valid(sarif_document([result], RULES)))
    assert (
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f"{root.name}/{Path(result.source).name}"
    )

    outside = sarif_document([result], RULES, root=tmp_path)
    (res, *_) = results_of(valid(outside))
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == Path(result.source).as_uri()

    spaced = with_line(result, path=str(tmp_path / "exports" / "my log #1.jsonl"))
    (res, *_) = results_of(valid(sarif_document([spaced], RULES, root=tmp_path)))
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "exports/my%20log%20%231.jsonl"


def test_an_exported_log_gives_real_lines_in_every_format(scans, tmp_path, monkeypatch) -> None:
    out = tmp_path / "issue-313.jsonl"
    export(Path(scans["issue_313"].source), out)
    result = scan(out)
    assert result.findings and all(f.location.line for f in result.findings)
    lines = out.read_text().splitlines()
    monkeypatch.chdir(tmp_path)

    (run,) = valid(sarif_document([result], RULES))["runs"]
    for res, f in zip(run["results"], result.findings, strict=True):
        physical = res["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "issue-313.jsonl"
        assert physical["region"]["startLine"] == f.location.line
        record = json.loads(lines[f.location.line - 1])
        assert f.thread_id in json.dumps(record)  # the line is the offending record of that thread

    for line, f in zip(annotations([result]).splitlines(), result.findings, strict=True):
        assert parse_command(line)[1]["line"] == str(f.location.line)

    suite = ET.fromstring(junit_xml([result], RULES)).find("testsuite")
    failing = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("line") for c in failing] == [str(f.location.line) for f in result.findings]
    assert {c.get("file") for c in failing} == {"issue-313.jsonl"}


def test_results_over_the_github_limit_are_dropped_and_counted(scans, monkeypatch) -> None:
    result = scans["issue_313"]
    f = result.findings[0]
    many = [
        f.model_copy(update={"subject": str(i), "severity": Severity.info if i % 2 else Severity.error})
        for i in range(7)
    ]
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    doc = valid(sarif_document([result.model_copy(update={"findings": many})], RULES))
    (run,) = doc["runs"]
    assert [r["properties"]["subject"] for r in run["results"]] == ["0", "2", "4"]  # errors first, in order
    assert run["properties"]["results_dropped"] == 4 and run["properties"]["findings_total"] == 7
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "4 of 7 results were dropped" in note["message"]["text"]


def test_findings_of_rules_not_passed_still_get_a_descriptor(scans) -> None:
    result = scans["issue_313"]
    only = [r for r in RULES if r.code == "T3001"]
    (run,) = valid(sarif_document([result], only))["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in run["results"]} == {"T3001", "T3002"}
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    assert [r["id"] for r in rules] == ["T3001", "T3002"] and rules[1]["fullDescription"]["text"]

    stranger = result.findings[0].model_copy(update={"rule": "X9999", "name": "from-a-plugin"})
    (run,) = valid(sarif_document([result.model_copy(update={"findings": [stranger]})], only))["runs"]
    assert run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]["id"] == "X9999"


def test_notes_become_tool_notifications(scans) -> None:
    noted = [r for r in scans.values() if r.notes]
    assert noted, "a T3014 case should leave a note about the rules it could not run"
    (run,) = valid(sarif_document(noted, RULES))["runs"]
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert len(texts) == sum(len(r.notes) + len(r.unjudged) for r in noted)  # and one per item not judged
    assert all(any(note in t for t in texts) for r in noted for note in r.notes)


# ---- GitHub annotations -----------------------------------------------------------------


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a workflow command the way the Actions runner does."""

    def unescape(s: str, prop: bool) -> str:
        s = s.replace("%0D", "\r").replace("%0A", "\n")
        if prop:
            s = s.replace("%3A", ":").replace("%2C", ",")
        return s.replace("%25", "%")

    assert line.startswith("::")
    head, data = line[2:].split("::", 1)
    command, _, raw = head.partition(" ")
    props = dict(p.split("=", 1) for p in raw.split(",")) if raw else {}
    return command, {k: unescape(v, True) for k, v in props.items()}, unescape(data, False)


def test_annotations_one_line_per_finding(scans, monkeypatch) -> None:
    results = list(scans.values())
    monkeypatch.chdir(Path(scans["issue_313"].source).parent)
    lines = annotations(results).splitlines()
    notes = [line for line in lines if parse_command(line)[1]["title"] == "threaddoctor note"]
    assert [parse_command(line)[2] for line in notes] == [n for r in results for n in r.notes]
    lines = [line for line in lines if line not in notes]
    findings = [f for r in results for f in r.findings]
    unjudged = [u for r in results for u in r.unjudged]  # live cases: a notice each at its line
    left = [line for line in lines if parse_command(line)[1]["title"].endswith(" not judged")]
    assert len(left) == len(unjudged) and all(line.startswith("::notice ") for line in left)
    lines = [line for line in lines if line not in left]
    for line, f in zip(lines, findings, strict=True):
        command, props, message = parse_command(line)
        assert command == {"error": "error", "warning": "warning", "info": "notice"}[f.severity.value]
        assert props["title"] == f"{f.rule} {f.name}"
        assert props.get("line") == (str(f.location.line) if f.location.line else None)
        assert props["file"] == os.path.relpath(f.source)  # relative to the current directory
        assert message.startswith(f.message)
    assert annotations([scans["healthy"]]) == ""


def test_annotation_escaping_round_trips(scans, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    tricky = "100% stuck, step: 1\r\nnext: %0A literal, %25 too"
    path = tmp_path / "logs, v1: x" / "events.jsonl"
    result = with_line(scans["issue_313"], line=12, path=str(path))
    result = result.model_copy(update={"findings": [f.model_copy(update={"message": tricky}) for f in result.findings]})
    lines = annotations([result]).splitlines()
    assert len(lines) == len(result.findings)
    for line in lines:
        _, props, message = parse_command(line)
        assert props == {"file": "logs, v1: x/events.jsonl", "line": "12", "title": props["title"]}
        assert message.split("\nthread ")[0] == tricky

    outside = annotations([scans["issue_313"]]).splitlines()  # the database is not under tmp_path
    assert parse_command(outside[0])[1]["file"] == scans["issue_313"].source


# ---- JUnit ------------------------------------------------------------------------------


def test_junit_counts_failures_and_passing_rules(scans) -> None:
    results = list(scans.values())
    root = ET.fromstring(junit_xml(results, RULES))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(results)
    for suite, result in zip(suites, results, strict=True):
        assert suite.get("name") == f"threaddoctor: {result.source}"
        cases = suite.findall("testcase")
        failing = [c for c in cases if c.find("failure") is not None]
        skipped = [c for c in cases if c.find("skipped") is not None]  # left unjudged: the log may be live
        passing = [c for c in cases if c.find("failure") is None and c.find("skipped") is None]
        assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(failing)
        assert suite.get("errors") == "0" and suite.get("skipped") == str(len(result.unjudged)) == str(len(skipped))
        assert len(failing) == len(result.findings)
        found_rules = {f.rule for f in result.findings}
        assert {c.get("classname") for c in passing} == {f"threaddoctor.{c}" for c in result.rules_run} - {
            f"threaddoctor.{c}" for c in found_rules
        }
        for case, f in zip(failing, result.findings, strict=True):
            failure = case.find("failure")
            assert case.get("classname") == f"threaddoctor.{f.rule}"
            assert case.get("name").startswith(f"{f.rule} {f.name}: ")
            assert failure.get("type") == f.severity.value and failure.get("message") == f.message
            assert f.message in failure.text
            assert all(f"seq {s}" in failure.text for s in f.evidence_sequences)
            if f.repair:
                assert f.repair.summary in failure.text
        if result.notes:
            assert all(n in suite.find("system-out").text for n in result.notes)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == sum(len(r.findings) for r in results)


def test_junit_healthy_database_is_all_passing(scans) -> None:
    result = scans["healthy"]
    (suite,) = ET.fromstring(junit_xml([result], RULES)).findall("testsuite")
    names = {r.code: r.name for r in RULES}
    assert [c.get("name") for c in suite.findall("testcase")] == [f"{c} {names[c]}" for c in result.rules_run]
    assert suite.get("failures") == "0" and not suite.findall(".//failure")


def test_junit_escapes_markup_and_control_characters(scans) -> None:
    nasty = 'a <b> & "c" \x1b[31mred\x1b[0m \x00 end'
    result = with_line(scans["issue_313"], line=9)
    result = result.model_copy(update={"findings": [f.model_copy(update={"message": nasty}) for f in result.findings]})
    suite = ET.fromstring(junit_xml([result], RULES)).find("testsuite")
    failing = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert len(failing) == len(result.findings)
    for case in failing:
        assert case.get("line") == "9"
        assert case.find("failure").get("message") == 'a <b> & "c" \\x1b[31mred\\x1b[0m \\x00 end'
