"""How `fix --dry-run`, `fix` and `undo` read for people."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from threaddoctor.findings import FixSafety, PlannedEvent, RowChange
from threaddoctor.fix.plan import AppliedStep
from threaddoctor.fix.run import FixReport, UndoReport


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _event_lines(step: AppliedStep) -> list[Text]:
    e = step.event or {}
    lines = [Text(f"+ append {e.get('event_type')} as sequence {e.get('sequence')}", style="green bold")]
    for col in ("event_id", "stream_id", "stream_version", "occurred_at", "command_id", "correlation_id", "actor_kind"):
        lines.append(Text(f"    {col}: {e.get(col)}"))
    lines.append(Text(f"    payload: {e.get('payload_json')}"))
    lines.append(Text(f"    metadata: {e.get('metadata_json')}"))
    return lines


def _row_lines(change: dict[str, Any]) -> list[Text]:
    key = ", ".join(f"{k}={v}" for k, v in change["key"].items())
    head = Text(f"~ {change['action']} {change['table']} [{key}]", style="yellow bold")
    if change["action"] == "update":
        return [head] + [
            Text(f"    {c}: {_j(change['before'][c])} -> {_j(change['after'][c])}") for c in change["changed"]
        ]
    image = change["after"] if change["action"] == "insert" else change["before"]
    return [head, Text(f"    {'row' if change['action'] == 'insert' else 'was'}: {_j(image)}")]


def render_fix(report: FixReport, console: Console) -> None:
    dry = report.mode == "dry-run"
    console.print(Text(f"{report.source}  [{report.schema_label}]", style="dim"))
    outcome = report.outcome
    if outcome is None or not outcome.steps:
        console.print(
            Text(
                "Nothing to repair." if not report.findings else "Nothing selected can be repaired.",
                style="bold green" if not report.findings else "bold",
            )
        )
        _remaining(report, console)
        return
    by_thread: dict[str, list[AppliedStep]] = defaultdict(list)
    for s in outcome.steps:
        by_thread[s.thread_id].append(s)
    rows_by_thread: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in outcome.row_changes:
        thread = (c["before"] or c["after"] or {}).get("thread_id") or c["key"].get("thread_id") or ""
        rows_by_thread[thread].append(c)
    for thread_id, steps in by_thread.items():
        console.print()
        console.rule(Text(f"thread {thread_id}" if thread_id else "database", style="bold"), align="left")
        repaired = [f for f in outcome.repaired if (f.thread_id or "") == thread_id]
        for f in repaired:
            console.print(Text(f"repairs {f.rule} {f.name}: {f.repair.summary if f.repair else ''}"))
        for s in steps:
            if isinstance(s.step, PlannedEvent):
                lines = _event_lines(s)
            else:
                lines = [
                    Text(f"~ {s.step.action} {s.step.table} {s.step.key} (a direct row change)", style="yellow bold")
                ]
            for line in lines:
                console.print(Padding(line, (0, 0, 0, 2), expand=False))
        console.print(Padding(Text("rows this changes:", style="dim"), (0, 0, 0, 2), expand=False))
        for c in rows_by_thread.get(thread_id, []):
            for line in _row_lines(c):
                console.print(Padding(line, (0, 0, 0, 4), expand=False))
    console.print()
    if outcome.problems:
        console.print(Text("This repair would be rolled back: " + "; ".join(outcome.problems), style="bold red"))
    events = [s for s in outcome.steps if s.event]
    direct = [s for s in outcome.steps if isinstance(s.step, RowChange)]
    verb = "Would repair" if dry else "Repaired"
    console.print(
        Text(
            f"{verb} {len(outcome.repaired)} finding(s) in {len([t for t in by_thread if t])} thread(s): {len(events)} event(s) appended, "
            f"{len(direct)} direct row change(s), {len(outcome.row_changes)} row(s) changed in all"
            + (f", in {outcome.passes} passes" if outcome.passes > 1 else "")
            + ".",
            style="bold",
        )
    )
    if dry:
        console.print(
            Text(
                "Dry run: nothing was written. Event ids, sequences and times are assigned again when "
                "the repair is applied.",
                style="dim",
            )
        )
    else:
        console.print(Text(f"Backup: {report.backup}"))
        console.print(Text(f"Journal: {report.journal}"))
        console.print(Text(f"To revert: threaddoctor undo {report.source} --repair {report.repair_id}"))
    _remaining(report, console)


def _remaining(report: FixReport, console: Console) -> None:
    after = report.outcome.after if report.outcome else report.findings
    held = [f for f in after if f.repair and f.repair.safety == FixSafety.unsafe]
    report_only = [f for f in after if not f.repair]
    other = [f for f in after if f not in held and f not in report_only]
    if held:
        console.print(
            Text(
                f"{len(held)} unsafe repair(s) held back ({', '.join(sorted({f.rule for f in held}))}); "
                "--unsafe-fixes applies them.",
                style="yellow",
            )
        )
    if report_only:
        console.print(
            Text(
                f"{len(report_only)} finding(s) have no automatic repair "
                f"({', '.join(sorted({f.rule for f in report_only}))}); `threaddoctor scan` shows them.",
                style="yellow",
            )
        )
    if other:
        console.print(Text(f"{len(other)} finding(s) outside the selected threads remain.", style="yellow"))


def render_undo(report: UndoReport, console: Console) -> None:
    console.print(
        Text(
            f"Undid repair {report.repair_id}: removed {report.events_removed} event(s) and restored "
            f"the rows of {len(report.threads)} thread(s).",
            style="bold",
        )
    )
    console.print(Text(f"Backup taken before the undo: {report.backup}"))


def render_file_fix(report, console: Console) -> None:  # FileFixReport
    dry = report.mode == "dry-run"
    console.print(Text(f"{report.source}  [{report.kind}]", style="dim"))
    if not report.appended:
        console.print(
            Text(
                "Nothing to repair." if not report.findings else "Nothing selected can be repaired.",
                style="bold green" if not report.findings else "bold",
            )
        )
        return
    for f in report.repaired:
        console.print(Text(f"repairs {f.rule} {f.name}: {f.repair.summary if f.repair else ''}"))
    for record in report.appended:
        console.print(Padding(Text(f"+ append line: {_j(record)}", style="green"), (0, 0, 0, 2), expand=False))
    if report.problems:
        console.print(Text("This repair is refused: " + "; ".join(report.problems), style="bold red"))
        return
    verb = "Would append" if dry else "Appended"
    console.print(
        Text(f"{verb} {len(report.appended)} record(s); {len(report.repaired)} finding(s) repaired.", style="bold")
    )
    if dry:
        console.print(Text("Dry run: nothing was written.", style="dim"))
    else:
        console.print(Text(f"Backup of the original: {report.backup}"))
        console.print(Text(f"To revert: threaddoctor undo {report.source} --repair {report.repair_id}"))
