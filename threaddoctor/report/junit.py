"""`--format junit`: JUnit XML for CI test reports.

One <testsuite> per scanned source. Each finding is a failing <testcase> (classname
`threaddoctor.<CODE>`) whose <failure> carries the message, the evidence and the proposed repair;
each rule that ran and found nothing is a passing <testcase>, so the report shows what was checked;
each turn, call or request left unjudged because the log may be live is a skipped <testcase>.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from threaddoctor.engine import ScanResult
from threaddoctor.findings import AppendRecord, EvidenceItem, Finding, PlannedEvent, RowChange, Unjudged
from threaddoctor.report.sarif import relative_path
from threaddoctor.rules.base import Rule

# Characters XML 1.0 cannot carry at all, even escaped (NUL, most C0 controls, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(s: str) -> str:
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", s
    )


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _xml_safe(str(v)) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = _xml_safe(text)
    return el


def _evidence_line(e: EvidenceItem) -> str:
    if e.sequence is not None:
        head = f"seq {e.sequence}  {e.occurred_at or '-'}  {e.event_type or '-'}"
    elif e.table:
        key = ", ".join(f"{k}={v}" for k, v in (e.key or {}).items())
        head = f"{e.table} [{key}]" if key else e.table
    else:
        head = e.kind
    return f"{head}: {e.description}"


def _step_line(step: PlannedEvent | RowChange | AppendRecord) -> str:
    if isinstance(step, AppendRecord):
        body = json.dumps(step.record, separators=(",", ":"), ensure_ascii=False)
        return f"+ append line: {body if len(body) <= 200 else body[:200] + '...'}"
    if isinstance(step, PlannedEvent):
        body = json.dumps(step.payload, separators=(",", ":"), ensure_ascii=False)
        return f"+ append {step.event_type}: {body if len(body) <= 200 else body[:200] + '...'}"
    key = ", ".join(f"{k}={v}" for k, v in step.key.items())
    return f"~ {step.action.removesuffix('-row')} {step.table} [{key}]" + (f" -> {step.after}" if step.after else "")


def _failure_body(f: Finding) -> str:
    lines = [f.message]
    if f.since:
        lines.append(f"since {f.since}")
    if f.evidence:
        lines.append("evidence:")
        lines.extend(f"  {_evidence_line(e)}" for e in f.evidence)
    if f.repair:
        lines.append(f"proposed repair ({f.repair.safety.value}): {f.repair.summary}")
        lines.extend(f"  {_step_line(s)}" for s in f.repair.steps)
    else:
        lines.append("no automatic repair (report only)")
    return "\n".join(lines)


def _case_name(f: Finding) -> str:
    where = []
    if f.thread_id:
        where.append(f"thread {f.thread_id}")
    if f.turn_id:
        where.append(f"turn {f.turn_id}")
    if f.subject:
        where.append(f"subject {f.subject}")
    return f"{f.rule} {f.name}: {', '.join(where) or 'database'}"


def _unreadable_suite(parent: ET.Element, result: ScanResult) -> None:
    """A file that could not be read: one test case in error, saying why and where reading stopped."""
    u = result.unreadable
    assert u is not None
    suite = _el(parent, "testsuite", name=f"threaddoctor: {result.source}", tests=1, failures=0, errors=1, skipped=0)
    props = _el(suite, "properties")
    _el(props, "property", name="source", value=result.source)
    _el(props, "property", name="stopped_at", value=u.stopped_at)
    case = _el(
        suite,
        "testcase",
        classname="threaddoctor.read",
        name=f"read {result.source}",
        file=relative_path(result.source)[0],
        line=u.line,
    )
    _el(case, "error", u.message, message=u.reason, type="unreadable")


def _unjudged_case(suite: ET.Element, result: ScanResult, u: Unjudged, names: dict[str, str]) -> None:
    """A skipped testcase: CI test reports list skipped tests, so what was not judged is seen."""
    where = ", ".join(
        x for x in (f"thread {u.thread_id}" if u.thread_id else "", f"{u.what} {u.subject}" if u.subject else "") if x
    )
    case = _el(
        suite,
        "testcase",
        classname=f"threaddoctor.{u.rule}",
        name=f"{u.rule} {names.get(u.rule, '')}".strip() + f": {where or u.what} (not judged)",
        file=relative_path(result.source)[0],
        line=u.line,
    )
    _el(case, "skipped", message=f"{u.what} not judged: {u.why}; the agent may still be working on it")


def _suite(parent: ET.Element, result: ScanResult, names: dict[str, str]) -> tuple[int, int, int]:
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    codes = list(dict.fromkeys([*result.rules_run, *by_rule]))
    skipped = len(result.unjudged)
    tests = sum(len(by_rule.get(c, [])) or 1 for c in codes) + skipped
    failures = len(result.findings)
    suite = _el(
        parent,
        "testsuite",
        name=f"threaddoctor: {result.source}",
        tests=tests,
        failures=failures,
        errors=0,
        skipped=skipped,
        time=f"{result.seconds:.3f}",
    )
    props = _el(suite, "properties")
    _el(props, "property", name="source", value=result.source)
    _el(props, "property", name="source_kind", value=result.source_kind)
    _el(props, "property", name="schema", value=result.schema_label)
    _el(props, "property", name="events_decoded", value=result.events_decoded)
    file_attr = relative_path(result.source)[0]
    for code in codes:
        found = by_rule.get(code, [])
        if not found:
            _el(suite, "testcase", classname=f"threaddoctor.{code}", name=f"{code} {names.get(code, '')}".strip())
        for f in found:
            path = f.location.path if f.location else f.source
            line = f.location.line if f.location else None
            case = _el(
                suite,
                "testcase",
                classname=f"threaddoctor.{code}",
                name=_case_name(f),
                file=relative_path(path)[0] if path != result.source else file_attr,
                line=line,
            )
            _el(case, "failure", _failure_body(f), message=f.message, type=f.severity.value)
    for u in result.unjudged:
        _unjudged_case(suite, result, u, names)
    if result.notes:
        _el(suite, "system-out", "\n".join(f"note: {n}" for n in result.notes))
    return tests, failures, skipped


def junit_xml(results: list[ScanResult], rules: Sequence[Rule]) -> str:
    """A <testsuites> document, one suite per scan result. `rules` supplies the names of the rules
    that ran and found nothing."""
    names = {r.code: r.name for r in rules}
    root = ET.Element("testsuites", {"name": "threaddoctor"})
    tests = failures = skipped = errors = 0
    for result in results:
        if result.unreadable is not None:
            _unreadable_suite(root, result)
            tests, errors = tests + 1, errors + 1
            continue
        t, f, s = _suite(root, result, names)
        tests += t
        failures += f
        skipped += s
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("skipped", str(skipped))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
