"""`--format json`: a stable, documented document (README, "JSON output"). Version 1."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from threaddoctor.version import __version__

if TYPE_CHECKING:
    # Annotations only: `threaddoctor rules --format json` renders here and must not build the models.
    from threaddoctor.engine import ScanResult
    from threaddoctor.findings import Finding
    from threaddoctor.rules.base import Rule

FORMAT_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.value,
        "thread_id": f.thread_id,
        "turn_id": f.turn_id,
        "subject": f.subject,
        "message": f.message,
        "since": f.since,
        "evidence_sequences": f.evidence_sequences,
        "evidence": [e.model_dump(exclude_none=True) for e in f.evidence],
        "repair": f.repair.model_dump(mode="json") if f.repair else None,
        "location": f.location.model_dump() if f.location else None,
        "fingerprint": f.fingerprint,
    }


def scan_document(result: ScanResult) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "threaddoctor", "version": __version__},
        "source": {
            "path": result.source,
            "kind": result.source_kind,
            "schema": result.schema_label,
        },
        "summary": {
            "findings": len(result.findings),
            **result.counts(),
            "threads": len({f.thread_id for f in result.findings if f.thread_id}),
            "rules_run": result.rules_run,
            "events_decoded": result.events_decoded,
            "seconds": result.seconds,
        },
        "notes": result.notes,
        "unjudged": [u.model_dump(mode="json") for u in result.unjudged],
        "unreadable": unreadable_dict(result),
        "findings": [finding_dict(f) for f in result.findings],
    }


def unreadable_dict(result: ScanResult) -> dict[str, Any] | None:
    """Why the file could not be read and the line reading stopped at (null: before any line)."""
    u = result.unreadable
    return None if u is None else {"reason": u.reason, "line": u.line, "message": u.message}


def rule_dict(r: Rule) -> dict[str, Any]:
    return {
        "code": r.code,
        "name": r.name,
        "source": r.source_kind,
        "severity": r.severity.value,
        "summary": r.summary,
        "explanation": r.explanation,
        "fix_safety": r.fix_safety.value,
        "fix_reason": r.fix_reason,
    }


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


def fix_document(report) -> dict[str, Any]:  # FixReport; untyped here to keep reports import-light
    outcome = report.outcome
    return {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "threaddoctor", "version": __version__},
        "mode": report.mode,
        "source": {"path": report.source, "kind": "t3code", "schema": report.schema_label, "release": report.release},
        "repair_id": report.repair_id,
        "backup": report.backup,
        "journal": report.journal,
        "findings_before": [finding_dict(f) for f in report.findings],
        "repaired": [finding_dict(f) for f in outcome.repaired] if outcome else [],
        "steps": [
            {"thread_id": s.thread_id, "rules": s.rules, "step": s.step.model_dump(mode="json"), "event": s.event}
            for s in outcome.steps
        ]
        if outcome
        else [],
        "row_changes": outcome.row_changes if outcome else [],
        "verification_problems": outcome.problems if outcome else [],
        "findings_after": [finding_dict(f) for f in (outcome.after if outcome else report.findings)],
    }
