"""CR004 claude-run-tool-use-without-result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude_run.common import since, transcript_evidence, turn_id
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.run_log import ClaudeRunLog


def detect(src: ClaudeRunLog) -> Iterator[Finding]:
    current = src.turns[-1] if src.turns and not src.turns[-1].ended else None
    for turn in src.turns:
        for call in turn.open_calls:
            if turn is current and src.left_unjudged(RULE.code, "call", turn.session_id, call.tool_use_id, call.line):
                continue  # the tool may still be running
            named, evidence = transcript_evidence(src, turn)
            state = (
                "the turn ended without it"
                if turn.ended
                else "the stream went on into another turn"
                if turn.superseded_at
                else "the stream ended while it ran"
            )
            yield RULE.finding(
                src,
                thread_id=turn.session_id,
                turn_id=turn_id(turn),
                subject=call.tool_use_id,
                message=f"{call.name} tool_use {call.tool_use_id} (line {call.line}) in turn {turn.index} has no "
                f"tool_result, and {state}: whether the tool ran, and what it did, is unknown{named}",
                since=since(src, turn),
                evidence=[
                    line_evidence(call.line, f"{call.name} tool_use {call.tool_use_id} without a tool_result"),
                    *evidence,
                ],
            )


RULE = Rule(
    code="CR004",
    name="claude-run-tool-use-without-result",
    source_kind="claude-run",
    severity=Severity.warning,
    summary="A tool_use in a Claude Code run log never got its tool_result",
    explanation=(
        "Claude Code answers every tool_use with a tool_result in a user message, even when the tool is denied "
        "or interrupted (the CLI writes a synthetic error result then). A tool_use with no tool_result in a "
        "stream that ended means the process stopped while the tool ran: a command may have run halfway, and "
        "the session's transcript ends on the same orphan call (CC001 judges and repairs it). In a log that may "
        "still be written the current turn's calls are not judged, and the report says so. Calls of subagents (messages with "
        "parent_tool_use_id) are paired the same way."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a captured stream is a log, not state; the transcript's orphan is repaired by CC001",
    detect=detect,
)
