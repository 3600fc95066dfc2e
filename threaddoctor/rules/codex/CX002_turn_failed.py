"""CX002 codex-turn-failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.rollout import CodexRollout


def detect(src: CodexRollout) -> Iterator[Finding]:
    for turn in src.thread_turns():
        if turn.state != "failed":
            continue
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            turn_id=turn.turn_id,
            message=f"turn started at {turn.started_at} ended with an error: {turn.end_detail}",
            since=turn.started_at or None,
            evidence=[
                line_evidence(turn.line, "task_started", turn.started_at),
                line_evidence(turn.end_line or turn.line, f"error that ends the turn: {turn.end_detail}"),
            ],
        )


RULE = Rule(
    code="CX002",
    name="codex-turn-failed",
    source_kind="codex-rollout",
    severity=Severity.warning,
    summary="A Codex turn ended because of an error",
    explanation=(
        "Codex ends a turn on an error whose kind affects the turn (everything but a failed rollback or a "
        "turn that cannot be steered). Recent versions (seen in cli 0.169) close such a turn with an ordinary "
        "task_complete record that carries the error and no last message; rollouts written with extended "
        "history may instead keep the error event itself. Either way the turn's terminal record is a failure, "
        "not a completion. The rule reports each turn that ended that way, with the error's message, so that "
        "a failed turn (retries exhausted, say) is not mistaken for a finished one."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a failed turn is history; there is nothing to repair",
    detect=detect,
)
