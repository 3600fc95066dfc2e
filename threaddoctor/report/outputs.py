"""Render scan results in every output format, to stdout or to files, in one scan."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from threaddoctor.report import json_report
from threaddoctor.rules import all_rules
from threaddoctor.version import __version__

if TYPE_CHECKING:
    # rich is imported by the text report alone: a JSON or SARIF run never loads it.
    from rich.console import Console

    from threaddoctor.engine import ScanResult
    from threaddoctor.rules.base import Rule


def render(fmt: str, results: list[ScanResult], rules: Sequence[Rule] | None, console_width: int | None = None) -> str:
    """One format as a string (text included, uncoloured, for files). `rules`: those the scan chose
    (None: all of them), which SARIF and JUnit describe."""
    if fmt == "json":
        return json_report.dumps(json_document(results)) + "\n"
    if fmt == "sarif":
        from threaddoctor.report.sarif import sarif_document

        return json_report.dumps(sarif_document(results, _or_all(rules))) + "\n"
    if fmt == "github":
        from threaddoctor.report.github import annotations

        lines = annotations(results)
        return lines + ("\n" if lines and not lines.endswith("\n") else "")
    if fmt == "junit":
        from threaddoctor.report.junit import junit_xml

        return junit_xml(results, _or_all(rules))
    from rich.console import Console

    buffer = io.StringIO()
    render_text(results, Console(file=buffer, width=console_width or 120, color_system=None, highlight=False))
    return buffer.getvalue()


def render_text(results: list[ScanResult], console: Console) -> None:
    """One report per source; with many sources, the clean ones are only counted."""
    from threaddoctor.report import text

    shown = results if len(results) <= 3 else [r for r in results if r.findings or r.notes or r.unreadable]
    for i, result in enumerate(shown):
        if i:
            console.print()
        text.render_scan(result, console, result.thread_titles)
    unreadable = sum(1 for r in results if r.unreadable)
    if len(results) > len(shown) or (unreadable and len(results) > 1):
        bad = sum(1 for r in results if r.findings)
        console.print(
            f"\n{len(results)} files scanned: {bad} with findings, {len(results) - bad - unreadable} clean"
            + (f", {unreadable} could not be read." if unreadable else ".")
        )


def json_document(results: list[ScanResult]) -> dict:
    """One source: the scan document. Several: the documents under `sources`, with a total."""
    if len(results) == 1:
        return json_report.scan_document(results[0])
    return {
        "format_version": json_report.FORMAT_VERSION,
        "tool": {"name": "threaddoctor", "version": __version__},
        "summary": {
            "findings": sum(len(r.findings) for r in results),
            "sources": len(results),
            "unreadable": sum(1 for r in results if r.unreadable),
        },
        "sources": [json_report.scan_document(r) for r in results],
    }


def _or_all(rules: Sequence[Rule] | None) -> Sequence[Rule]:
    return all_rules() if rules is None else rules


def write_files(files: dict[str, Path | None], results: list[ScanResult], rules: Sequence[Rule] | None) -> None:
    for fmt, path in files.items():
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(fmt, results, rules), encoding="utf-8")
