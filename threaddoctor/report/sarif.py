"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run for all scanned files. Every rule passed in is described in `tool.driver.rules`, so a
clean scan still says what was checked. Each finding becomes one result pointing at the file it
was read from (GitHub only shows results with a physical file location), with the logical path
`thread/<id>/turn/<id>/event/<seq>` beside it for viewers that use logical locations, and a
partial fingerprint built from rule + entity ids so an alert survives a re-export of the data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from threaddoctor.engine import ScanResult
from threaddoctor.findings import Finding, Severity, Unjudged
from threaddoctor.rules import all_rules
from threaddoctor.rules.base import Rule
from threaddoctor.version import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/threaddoctor/threaddoctor"  # placeholder until the project has a home
FINGERPRINT_KEY = "threaddoctorEntity/v1"
SRCROOT = "%SRCROOT%"
# GitHub code scanning rejects a run with more results than this; the rest are dropped and counted.
MAX_RESULTS = 25_000

LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}
_SEVERITY_RANK = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


def relative_path(path: str, root: Path | None = None) -> tuple[str, bool]:
    """`path` relative to `root` (default: the current directory) with POSIX separators, and whether
    it is inside `root`. A path outside `root` is returned as given."""
    base = Path(root) if root is not None else Path.cwd()
    for p, b in ((os.path.abspath(path), os.path.abspath(base)), (Path(path).resolve(), base.resolve())):
        try:
            rel = PurePath(p).relative_to(b)
        except ValueError:
            continue
        return rel.as_posix(), True
    return path, False


def artifact_location(path: str, root: Path | None = None) -> dict[str, Any]:
    """A SARIF artifactLocation: a percent-encoded URI relative to %SRCROOT% when the file is inside
    `root`, otherwise a file:// URI (an absolute path is not a valid URI reference on Windows)."""
    rel, inside = relative_path(path, root)
    if inside:
        return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(PurePath(path).as_posix(), safe="/")}


def _directory_uri(root: Path | None) -> str:
    uri = (Path(root) if root is not None else Path.cwd()).resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _rule_descriptor(r: Rule) -> dict[str, Any]:
    fix = f"Fix safety ({r.fix_safety.value}): {r.fix_reason}."
    return {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.explanation},
        "help": {
            "text": f"{r.summary}.\n\n{r.explanation}\n\n{fix}",
            "markdown": (
                f"**{r.code} {r.name}**: {r.summary}.\n\n{r.explanation}\n\n"
                f"**Fix safety (`{r.fix_safety.value}`):** {r.fix_reason}."
            ),
        },
        "defaultConfiguration": {"level": LEVEL[r.severity]},
        "properties": {
            "tags": [r.source_kind, r.scope],
            "fix_safety": r.fix_safety.value,
        },
    }


def _unknown_rule_descriptor(f: Finding) -> dict[str, Any]:
    """A finding whose rule was not passed in still needs a descriptor for ruleIndex to point at:
    the registered rule's, or a minimal one for a rule the registry does not know."""
    known = next((r for r in all_rules() if r.code == f.rule), None)
    if known:
        return _rule_descriptor(known)
    return {
        "id": f.rule,
        "name": f.name,
        "shortDescription": {"text": f.name},
        "fullDescription": {"text": f.name},
        "help": {"text": f"{f.rule} {f.name}", "markdown": f"**{f.rule} {f.name}**"},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
    }


def _message(f: Finding) -> str:
    text = f.message
    if f.repair:
        text += f"\nProposed repair ({f.repair.safety.value}): {f.repair.summary}"
    return text


def _result(
    f: Finding, rule_index: int, artifact_index: int, root: Path | None, titles: dict[str, str]
) -> dict[str, Any]:
    loc_path = f.location.path if f.location else f.source
    line = f.location.line if f.location else None
    physical: dict[str, Any] = {
        "artifactLocation": {**artifact_location(loc_path, root), "index": artifact_index},
        # GitHub drops results without a line. Findings read from a database (a binary file) have
        # none, so they point at line 1 of the file; the logical location says where they are.
        "region": {"startLine": line if line is not None else 1},
    }
    location: dict[str, Any] = {"physicalLocation": physical}
    if f.location:
        location["logicalLocations"] = [
            {
                "name": f.location.logical.rsplit("/", 1)[-1],
                "fullyQualifiedName": f.location.logical,
                "kind": "object",
            }
        ]
    props: dict[str, Any] = {
        "thread_id": f.thread_id,
        "turn_id": f.turn_id,
        "subject": f.subject,
        "evidence_sequences": f.evidence_sequences,
        "since": f.since,
    }
    if f.thread_id and f.thread_id in titles:
        props["thread_title"] = titles[f.thread_id]
    if f.repair:
        props["repair_safety"] = f.repair.safety.value
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": props,
    }


def _unjudged_notification(result: ScanResult, u: Unjudged, index: int, root: Path | None) -> dict[str, Any]:
    """A turn, call or request a rule left unjudged (the log may be live), pointing at its line."""
    region = {"startLine": u.line} if u.line is not None else None
    physical: dict[str, Any] = {"artifactLocation": artifact_location(result.source, root) | {"index": index}}
    if region:
        physical["region"] = region
    subject = f" {u.subject}" if u.subject else ""
    return {
        "level": "note",
        "associatedRule": {"id": u.rule},
        "message": {"text": f"{u.what}{subject} not judged: {u.why}; the agent may still be working on it"},
        "locations": [{"physicalLocation": physical}],
        "properties": {"threaddoctorUnjudged": u.model_dump(mode="json")},
    }


def _unreadable_notification(result: ScanResult, index: int, root: Path | None) -> dict[str, Any]:
    """An error notification for a file that could not be read, located at the line reading stopped at."""
    u = result.unreadable
    assert u is not None
    physical: dict[str, Any] = {"artifactLocation": {**artifact_location(result.source, root), "index": index}}
    if u.line is not None:
        physical["region"] = {"startLine": u.line}
    return {
        "level": "error",
        "descriptor": {"id": "unreadable"},
        "message": {
            "text": f"{relative_path(result.source, root)[0]}: cannot read: {u.reason} (reading stopped {u.stopped_at})"
        },
        "locations": [{"physicalLocation": physical}],
    }


def sarif_document(results: list[ScanResult], rules: Sequence[Rule], root: Path | None = None) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run covering every scanned source. URIs are relative to `root`
    (default: the current directory, normally the repository checkout) when the file is inside it."""
    descriptors = [_rule_descriptor(r) for r in rules]
    rule_index = {r.code: i for i, r in enumerate(rules)}

    artifacts: list[dict[str, Any]] = []
    artifact_index: dict[str, int] = {}

    def artifact(path: str, kind: str | None = None) -> int:
        if path not in artifact_index:
            artifact_index[path] = len(artifacts)
            entry: dict[str, Any] = {"location": artifact_location(path, root), "roles": ["analysisTarget"]}
            if kind:
                entry["description"] = {"text": kind}
            artifacts.append(entry)
        return artifact_index[path]

    for r in results:
        artifact(r.source, f"{r.source_kind}: {r.schema_label}")

    findings = [(f, r.thread_titles) for r in results for f in r.findings]
    kept = findings
    if len(findings) > MAX_RESULTS:
        # Keep the most severe first, then report order, so errors are never dropped for notes.
        order = sorted(range(len(findings)), key=lambda i: (_SEVERITY_RANK[findings[i][0].severity], i))
        kept = [findings[i] for i in sorted(order[:MAX_RESULTS])]
    dropped = len(findings) - len(kept)

    sarif_results = []
    for f, titles in kept:
        if f.rule not in rule_index:
            rule_index[f.rule] = len(descriptors)
            descriptors.append(_unknown_rule_descriptor(f))
        path = f.location.path if f.location else f.source
        sarif_results.append(_result(f, rule_index[f.rule], artifact(path), root, titles))

    notifications = [
        {"level": "warning", "message": {"text": f"{relative_path(r.source, root)[0]}: {note}"}}
        for r in results
        for note in r.notes
    ]
    notifications += [_unjudged_notification(r, u, artifact(r.source), root) for r in results for u in r.unjudged]
    notifications.extend(_unreadable_notification(r, artifact(r.source), root) for r in results if r.unreadable)
    if dropped:
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": f"{dropped} of {len(findings)} results were dropped: GitHub code scanning accepts "
                    f"at most {MAX_RESULTS} per run (less severe findings were dropped first)"
                },
            }
        )

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "threaddoctor",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(root)}},
        "artifacts": artifacts,
        "invocations": [
            {
                "executionSuccessful": not any(r.unreadable for r in results),
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": sarif_results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "findings_total": len(findings),
            "results_dropped": dropped,
            "rules_run": sorted({code for r in results for code in r.rules_run}),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
