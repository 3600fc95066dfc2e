"""The human report: findings grouped by thread, with evidence and the proposed repair."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from threaddoctor.severity import Severity

if TYPE_CHECKING:
    # Annotations only: `threaddoctor rules` renders here and must not build the scan's models.
    from threaddoctor.engine import ScanResult
    from threaddoctor.findings import AppendRecord, EvidenceItem, Finding, PlannedEvent, RowChange
    from threaddoctor.rules.base import Rule

SEVERITY_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


def _indent(r: RenderableType, n: int) -> Padding:
    return Padding(r, (0, 0, 0, n), expand=False)


def _evidence_line(e: EvidenceItem) -> Text:
    t = Text()
    if e.sequence is not None:
        t.append(f"seq {e.sequence}", style="bold")
        t.append(f"  {e.occurred_at}  {e.event_type}", style="dim")
    elif e.kind == "file" and e.key and "line" in e.key:
        t.append(f"line {e.key['line']}", style="bold")
        t.append(f"  {e.occurred_at}" if e.occurred_at else "", style="dim")
    elif e.table:
        key = ", ".join(f"{k}={v}" for k, v in (e.key or {}).items())
        t.append(e.table, style="bold")
        t.append(f" [{key}]" if key else "", style="dim")
    t.append(f": {e.description}")
    return t


def _step_line(step: PlannedEvent | RowChange | AppendRecord) -> Text:
    if step.action == "append-record":
        body = json.dumps(step.record, separators=(",", ":"), ensure_ascii=False)
        return Text(f"+ append line: {body if len(body) <= 200 else body[:200] + '...'}", style="green")
    if step.action == "append-event":
        body = json.dumps(step.payload, separators=(",", ":"))
        short = body if len(body) <= 200 else body[:200] + "..."
        return Text(f"+ append {step.event_type}: {short}", style="green")
    key = ", ".join(f"{k}={v}" for k, v in step.key.items())
    verb = {"insert-row": "insert", "update-row": "update", "delete-row": "delete"}[step.action]
    return Text(
        f"~ {verb} {step.table} [{key}]" + (f" -> {step.after}" if step.after else ""),
        style="green",
    )


def _finding_block(f: Finding) -> Group:
    head = Text()
    head.append(f"{f.severity.value.upper():7} ", style=SEVERITY_STYLE[f.severity])
    head.append(f"{f.rule} {f.name}", style="bold")
    if f.turn_id:
        head.append(f"  turn {f.turn_id}", style="dim")
    parts: list[RenderableType] = [head, _indent(Text(f.message), 8)]
    parts.extend(_indent(_evidence_line(e), 10) for e in f.evidence)
    if f.repair:
        parts.append(_indent(Text(f"repair ({f.repair.safety.value}): {f.repair.summary}", style="green"), 8))
        parts.extend(_indent(_step_line(s), 10) for s in f.repair.steps)
    else:
        parts.append(_indent(Text("no automatic repair (report only)", style="dim"), 8))
    return Group(*parts, Text(""))


def render_scan(result: ScanResult, console: Console, titles: dict[str, str] | None = None) -> None:
    console.print(Text(f"{result.source}  [{result.schema_label}]", style="dim"))
    if result.unreadable is not None:
        u = result.unreadable
        console.print(Text(f"cannot read: {u.reason} (reading stopped {u.stopped_at})", style="bold red"))
        return
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    by_thread: dict[str | None, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_thread[f.thread_id].append(f)
    for thread_id, findings in sorted(by_thread.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")):
        title = "database" if thread_id is None else f"thread {thread_id}"
        if thread_id and titles and titles.get(thread_id):
            title += f"  \u201c{titles[thread_id]}\u201d"  # a Text: no markup to escape
        console.print()
        console.rule(
            Text(title, style="bold"),
            align="left",
            style="red" if any(f.severity == Severity.error for f in findings) else "yellow",
        )
        for f in findings:
            console.print(_finding_block(f))
    console.print(summary_line(result))


def summary_line(result: ScanResult) -> Text:
    n = len(result.findings)
    line = _summary(result, n)
    if result.unjudged:  # a clean summary must not hide what was left unchecked
        line.append(f" {unjudged_count(result)} not judged: the agent may still be writing (see note).", style="yellow")
    return line


def unjudged_count(result: ScanResult) -> str:
    """'1 turn and 1 call'."""
    counts: dict[str, int] = {}
    for u in result.unjudged:
        counts[u.what] = counts.get(u.what, 0) + 1
    return " and ".join(f"{c} {w}{'s' if c != 1 else ''}" for w, c in counts.items())


def _summary(result: ScanResult, n: int) -> Text:
    if n == 0:
        return Text(
            f"No problems found ({len(result.rules_run)} rules, {result.seconds:.2f}s).",
            style="bold green",
        )
    counts = result.counts()
    threads = len({f.thread_id for f in result.findings if f.thread_id})
    parts = ", ".join(f"{c} {s}{'s' if c != 1 else ''}" for s, c in counts.items() if c)
    fixable = sum(1 for f in result.findings if f.repair)
    return Text(
        f"Found {n} problem{'s' if n != 1 else ''} ({parts}) in {threads} thread{'s' if threads != 1 else ''}; "
        f"{fixable} with a proposed repair ({len(result.rules_run)} rules, {result.seconds:.2f}s).",
        style="bold",
    )


def render_rules(rules: list[Rule], console: Console) -> None:
    table = Table(box=None, pad_edge=False)
    for col in ("code", "name", "severity", "fix", "summary"):
        table.add_column(col, overflow="fold")
    for r in rules:
        table.add_row(
            r.code,
            r.name,
            Text(r.severity.value, style=SEVERITY_STYLE[r.severity]),
            r.fix_safety.value,
            r.summary,
        )
    console.print(table)


def render_explain(r: Rule, console: Console) -> None:
    console.print(Text(f"{r.code} {r.name}", style="bold"))
    console.print(
        Text(
            f"severity: {r.severity.value}   source: {r.source_kind}   fix: {r.fix_safety.value}",
            style="dim",
        )
    )
    console.print()
    console.print(r.summary + ".")
    console.print()
    console.print(r.explanation)
    console.print()
    console.print(Text(f"Fix safety ({r.fix_safety.value}): {r.fix_reason}.", style="green"))
