"""CE003 codex-exec-turn-unfinished."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.exec_stream import CodexExecStream


def detect(src: CodexExecStream) -> Iterator[Finding]:
    for turn in src.turns:
        if turn.state != "in_progress":
            continue
        running = list(turn.open_items.items())
        tail = f"; {len(running)} item(s) never completed" if running else ""
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            subject=f"turn-{turn.index}",
            message=f"turn {turn.index} started and the stream ended without turn.completed or turn.failed{tail}: "
            "the process was killed or interrupted (Ctrl-C prints no terminal event either)",
            evidence=[line_evidence(turn.line, "turn.started")]
            + [line_evidence(line, f"item {item_id} started, never completed") for item_id, line in running[:3]],
        )


RULE = Rule(
    code="CE003",
    name="codex-exec-turn-unfinished",
    source_kind="codex-exec",
    severity=Severity.warning,
    summary="A `codex exec` stream ends inside a turn",
    explanation=(
        "Every turn in a `codex exec --json` stream should end with turn.completed or turn.failed. A stream "
        "that stops after turn.started was cut off: the process was killed, timed out in CI, or was "
        "interrupted; an interrupted exec prints no terminal event at all, so the two look the same and the "
        "rule says both. Items still started and never completed (a command that was running) are listed. "
        "The rollout of the same thread tells more (see CX001)."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a captured stream is a log, not state",
    detect=detect,
)
