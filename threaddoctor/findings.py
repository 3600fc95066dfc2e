"""What a rule reports: findings, their evidence, and the repair each proposes.

These are the boundary models: the JSON output, the fix planner and the tests all use them.
Field names are part of the documented JSON schema (README, "JSON output"); rename nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threaddoctor.severity import FixSafety, Severity

__all__ = [
    "AppendRecord",
    "EvidenceItem",
    "Finding",
    "FixSafety",
    "Location",
    "PlannedEvent",
    "RepairPlan",
    "RowChange",
    "Severity",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidenceItem(_Frozen):
    """One persisted fact that supports a finding: an event row or a projection row."""

    kind: Literal["event", "row", "schema", "file"]
    description: str
    sequence: int | None = None  # orchestration_events.sequence
    event_type: str | None = None
    occurred_at: str | None = None
    table: str | None = None
    key: dict[str, Any] | None = None
    values: dict[str, Any] | None = None


class PlannedEvent(_Frozen):
    """An event the repair would append. The envelope (sequence, event_id, stream_version,
    occurred_at, command_id) is assigned when the repair is applied."""

    action: Literal["append-event"] = "append-event"
    aggregate_kind: Literal["project", "thread"] = "thread"
    stream_id: str
    event_type: str
    payload: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)


class RowChange(_Frozen):
    """A direct projection-row change, used only where no event can express the repair."""

    action: Literal["insert-row", "update-row", "delete-row"]
    table: str
    key: dict[str, Any]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AppendRecord(_Frozen):
    """A record appended to a log file (a Codex rollout, a Claude Code transcript, a ConnectOnion
    session file), in that format's own vocabulary. History already in the file is never edited."""

    action: Literal["append-record"] = "append-record"
    record: dict[str, Any]


class RepairPlan(_Frozen):
    safety: FixSafety
    summary: str
    steps: list[PlannedEvent | RowChange | AppendRecord] = Field(default_factory=list)


class Location(_Frozen):
    """Where a finding points: the file it was read from, the line of the offending record in an
    exported log (None for a database), and a logical path thread/<id>/turn/<id>/event/<seq>."""

    path: str
    line: int | None = None
    logical: str


class Finding(_Frozen):
    rule: str  # stable code, e.g. "T3001"
    name: str  # kebab-case rule name
    severity: Severity
    source: str  # the file the finding was read from
    thread_id: str | None = None
    turn_id: str | None = None
    subject: str | None = None  # a stable id of the broken thing: message, request, event, migration
    message: str
    since: str | None = None  # ISO timestamp at which the bad state began, when known
    evidence: list[EvidenceItem] = Field(default_factory=list)
    repair: RepairPlan | None = None
    location: Location | None = None

    @property
    def evidence_sequences(self) -> list[int]:
        return [e.sequence for e in self.evidence if e.sequence is not None]

    @property
    def entity(self) -> str:
        """What is broken, by ids that survive a re-export (never a row number or a line)."""
        return "/".join([self.rule, self.thread_id or "-", self.turn_id or "-", self.subject or "-"])

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.entity.encode()).hexdigest()[:32]


class Unjudged(_Frozen):
    """A turn, call or request a rule left unjudged because the agent may still be writing the log.
    Every output names it (README, "Live logs"): a report never hides what it did not check."""

    rule: str
    what: str  # "turn", "call", "request", "approval", "session"
    thread_id: str | None = None
    subject: str | None = None  # the turn, call or request id
    line: int | None = None
    why: str  # "written 40 s ago and held open by pid 4242"
