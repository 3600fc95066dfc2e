"""CX001 codex-open-turn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.rollout import CodexRollout


def detect(src: CodexRollout) -> Iterator[Finding]:
    from threaddoctor.findings import AppendRecord, RepairPlan

    turn = src.open_turn()
    if turn is None:
        return  # every turn ended, or a legacy file without turn markers
    if src.left_unjudged(RULE.code, "turn", src.thread_id, turn.turn_id, turn.line):
        return  # Codex may be working on it right now
    pending = [c for c in src.unanswered_calls() if c.turn == src.current]
    tail = f"; {len(pending)} tool call(s) in it have no output" if pending else ""
    yield RULE.finding(
        src,
        thread_id=src.thread_id,
        turn_id=turn.turn_id,
        message=f"turn started at {turn.started_at} never ended (no task_complete or turn_aborted){tail}; "
        'resuming the thread stays on "Working"',
        since=turn.started_at or None,
        evidence=[line_evidence(turn.line, "task_started with no terminal record after it", turn.started_at)]
        + [line_evidence(c.line, f"{c.kind} {c.name} ({c.call_id}) without output") for c in pending[:3]],
        repair=RepairPlan(
            safety=FixSafety.safe,
            summary="append the turn_aborted record (reason interrupted) that Codex writes when a turn is stopped",
            steps=[AppendRecord(record=_turn_aborted(src, turn.turn_id))],
        ),
    )


def _turn_aborted(src: CodexRollout, turn_id: str | None) -> dict:
    """The record Codex writes for an interrupted turn (seen from codex-cli 0.169.0), envelope and all."""
    from threaddoctor.sources.t3code.vocabulary import format_time

    now = time.time()
    record: dict = {"timestamp": format_time(datetime.fromtimestamp(now, UTC))}
    if src.history_mode == "paginated" and src.next_ordinal is not None:
        record["ordinal"] = src.next_ordinal
    payload = {"type": "turn_aborted", "turn_id": turn_id, "reason": "interrupted", "completed_at": int(now)}
    return record | {"type": "event_msg", "payload": {k: v for k, v in payload.items() if v is not None}}


RULE = Rule(
    code="CX001",
    name="codex-open-turn",
    source_kind="codex-rollout",
    severity=Severity.error,
    summary="A Codex turn was started and never ended, so resume shows it working forever",
    explanation=(
        "Codex records task_started when a turn begins and task_complete or turn_aborted when it ends. A "
        "process that is killed, a closed terminal tab or a machine restart leaves the last turn with "
        'task_started and nothing after it, and resuming the thread keeps showing "Working" (Codex #12843, '
        "#15849, #33153). The rule replays the rollout with Codex's own turn-lifecycle rules, so a turn that a "
        "later task_started or a rollback finished is not reported, a late terminal record naming an earlier turn "
        "does not close the current one, and rollouts of older versions that never wrote turn markers are left "
        "alone. A rollout a process holds open, or whose newest record and last write are both from the last "
        "two minutes, may belong to a running Codex: its open turn is not judged, and the report says so. The repair appends the record Codex itself writes when a turn is stopped: an event_msg "
        "turn_aborted with reason interrupted for that turn (with the next ordinal in paginated files), after "
        "which resume treats the turn as ended."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="an appended turn_aborted is what Codex writes on Ctrl-C; history is untouched and undo restores the "
    "file while Codex has not written to it",
    detect=detect,
)
