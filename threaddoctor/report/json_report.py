"""`--format json`: a stable, documented document (README, "JSON output"). Version 1."""

from __future__ import annotations

import json
from typing import Any

from threaddoctor import __version__
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
        "message": f.message,
        "since": f.since,
        "evidence_sequences": f.evidence_sequences,
        "evidence": [e.model_dump(exclude_none=True) for e in f.evidence],
        "repair": f.repair.model_dump(mode="json") if f.repair else None,
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
        "findings": [finding_dict(f) for f in result.findings],
    }


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
