"""Which findings a fix repairs, and the loop that repairs them on a connection.

The same loop runs on an in-memory scratch copy for `fix --dry-run` and inside the write
transaction for `fix`, so the dry run shows exactly what the fix does. Like ESLint's fixer it
re-runs the rules after each pass: a repair can reveal a finding that the broken state hid (a
streaming message shows once its session stops claiming the turn), and that one is repaired too.
The result is then verified: every repaired finding gone, no new finding, appended events decode.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from threaddoctor.engine import run_rules
from threaddoctor.findings import Finding, FixSafety, PlannedEvent, RowChange
from threaddoctor.fix.append import append_event, change_row
from threaddoctor.fix.images import capture, diff
from threaddoctor.rules.base import Rule
from threaddoctor.sources.t3code.projector import Projector
from threaddoctor.sources.t3code.source import T3Source
from threaddoctor.sources.t3code.vocabulary import PROJECTORS

MAX_PASSES = 4
# The most thorough terminal state wins when several repairs set one thread's session.
_STATUS_ORDER = ("stopped", "interrupted", "ready", "idle")


class AppliedStep(BaseModel):
    thread_id: str
    rules: list[str]  # the findings this step repairs
    step: PlannedEvent | RowChange
    event: dict[str, Any] | None = None  # the row as written, envelope included


class Selection(BaseModel):
    unsafe: bool = False
    threads: list[str] = Field(default_factory=list)

    def allows(self, f: Finding) -> bool:
        if self.threads and f.thread_id not in self.threads:
            return False
        return f.repair is not None and (f.repair.safety == FixSafety.safe or self.unsafe)


class Outcome(BaseModel):
    before: list[Finding]
    after: list[Finding] = Field(default_factory=list)
    steps: list[AppliedStep] = Field(default_factory=list)
    repaired: list[Finding] = Field(default_factory=list)
    passes: int = 0
    problems: list[str] = Field(default_factory=list)  # why verification failed
    row_changes: list[dict[str, Any]] = Field(default_factory=list)  # every row the repair changes

    @property
    def thread_ids(self) -> list[str]:
        return sorted({s.thread_id for s in self.steps})


@dataclass
class Loop:
    """Repairs findings on `conn` (a scratch copy, or the database inside a transaction)."""

    conn: sqlite3.Connection
    source: Callable[[], T3Source]  # a fresh view of conn for the rules
    rules: list[Rule]
    selection: Selection
    projector: Projector
    appended: list[dict[str, Any]] = field(default_factory=list)

    def scan(self) -> list[Finding]:
        return run_rules(self.source(), self.rules).findings

    def run(self, before: list[Finding]) -> Outcome:
        threads = sorted({f.thread_id for f in before if f.thread_id})
        image = capture(self.conn, threads)
        outcome = Outcome(before=before)
        current = before
        while outcome.passes < MAX_PASSES:
            targets = [f for f in current if self.selection.allows(f) and f.repair and f.repair.steps]
            if not targets:
                break
            outcome.passes += 1
            outcome.repaired.extend(targets)
            for thread_id, rules, step in merge(targets):
                event = self.apply(step)
                outcome.steps.append(AppliedStep(thread_id=thread_id, rules=rules, step=step, event=event))
            current = self.scan()
        outcome.after = current
        outcome.problems = self.verify(outcome)
        outcome.row_changes = [c for c in diff(self.conn, image, capture(self.conn, threads)) if not _bookkeeping(c)]
        return outcome

    def apply(self, step: PlannedEvent | RowChange) -> dict[str, Any] | None:
        if isinstance(step, RowChange):
            change_row(self.conn, step)
            return None
        row = append_event(self.conn, self.projector, step)
        self.appended.append(row)
        return row

    def verify(self, outcome: Outcome) -> list[str]:
        problems = []
        before = {f.entity for f in outcome.before}
        after = {f.entity: f for f in outcome.after}
        for f in outcome.repaired:
            if f.entity in after:
                problems.append(f"{f.rule} on thread {f.thread_id} is still reported after its repair")
        for entity, f in after.items():
            if entity not in before and not any(r.entity == entity for r in outcome.repaired):
                problems.append(f"the repair would cause a new finding: {f.rule} {f.name}: {f.message}")
        check = self.conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            problems.append(f"quick_check failed: {check[0][0]}")
        contract = self.source().contract
        for row in self.appended:
            for p in contract.problems(
                row["sequence"],
                row["event_type"],
                row["event_id"],
                row["stream_id"],
                row["command_id"],
                row["payload_json"],
                row["metadata_json"],
            ):
                problems.append(f"appended event {row['sequence']} would not decode: {p.where}: {p.message}")
        return problems


def _bookkeeping(change: dict[str, Any]) -> bool:
    """What appending events moves by itself: the counters and the nine projector cursors."""
    if change["table"] == "sqlite_sequence":
        return True
    return change["table"] == "projection_state" and change["key"].get("projector") in PROJECTORS


def merge(findings: list[Finding]) -> list[tuple[str, list[str], PlannedEvent | RowChange]]:
    """The steps of several findings, thread by thread: row changes and other events first, then
    at most one session-set per thread (the most thorough terminal state, lastError cleared if any
    repair clears it)."""
    out: list[tuple[str, list[str], PlannedEvent | RowChange]] = []
    by_thread: dict[str, list[Finding]] = {}
    for f in findings:
        by_thread.setdefault(f.thread_id or "", []).append(f)
    for thread_id, group in by_thread.items():
        sessions: list[tuple[str, PlannedEvent]] = []
        for f in group:
            for step in f.repair.steps if f.repair else []:
                if isinstance(step, PlannedEvent) and step.event_type == "thread.session-set":
                    sessions.append((f.rule, step))
                elif (known := next((o for o in out if _identity(o[2]) == _identity(step)), None)) is None:
                    out.append((thread_id, [f.rule], step))
                elif f.rule not in known[1]:
                    known[1].append(f.rule)
        if sessions:
            out.append((thread_id, sorted({r for r, _ in sessions}), _merge_sessions([s for _, s in sessions])))
    return out


def _identity(step: PlannedEvent | RowChange) -> tuple:
    """Two steps that do the same thing (timestamps aside) are one step."""
    if isinstance(step, RowChange):
        return (step.action, step.table, tuple(sorted(step.key.items())))
    p = step.payload
    activity = p.get("activity") or {}
    what = (
        p.get("messageId")
        or p.get("turnId")
        or (activity.get("kind"), (activity.get("payload") or {}).get("requestId"))
    )
    return (step.event_type, step.stream_id, what)


def _merge_sessions(steps: list[PlannedEvent]) -> PlannedEvent:
    def rank(step: PlannedEvent) -> int:
        status = step.payload["session"]["status"]
        return _STATUS_ORDER.index(status) if status in _STATUS_ORDER else len(_STATUS_ORDER)

    chosen = min(steps, key=rank)
    session = dict(chosen.payload["session"])
    if any(s.payload["session"].get("lastError") is None for s in steps):
        session["lastError"] = None
    return chosen.model_copy(update={"payload": {**chosen.payload, "session": session}})
