"""`--format jsonl`: JSON Lines written as each file is checked, so memory stays flat over any number
of files. Per file, one line per finding, then one summary line:

    {"type": "finding", "source": "a.jsonl", "rule": "CC001", ...the fields of a JSON finding...}
    {"type": "summary", "source": "a.jsonl", "kind": "claude-transcript", "findings": 1, ..., "unreadable": null}

and at the end one `{"type": "total", ...}` line. A file that could not be read has no finding
lines and its summary's `unreadable` says why and the line reading stopped at.
"""

from __future__ import annotations

import json
from typing import Any

from threaddoctor.engine import ScanResult
from threaddoctor.report.json_report import finding_dict, unreadable_dict


def _line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def file_lines(result: ScanResult) -> str:
    """The finding lines and the summary line of one checked file."""
    lines = [_line({"type": "finding", "source": result.source, **finding_dict(f)}) for f in result.findings]
    summary = {
        "type": "summary",
        "source": result.source,
        "kind": result.source_kind,
        "schema": result.schema_label,
        "findings": len(result.findings),
        **result.counts(),
        "rules_run": result.rules_run,
        "notes": result.notes,
        "unreadable": unreadable_dict(result),
        "seconds": result.seconds,
    }
    return "".join(lines) + _line(summary)


def total_line(files: int, findings: int, unreadable: int) -> str:
    return _line({"type": "total", "files": files, "findings": findings, "unreadable": unreadable})
