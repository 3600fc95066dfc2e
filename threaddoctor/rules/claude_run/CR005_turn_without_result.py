"""CR005 claude-run-turn-without-result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude_run.common import last_seen, transcript_evidence, turn_id, turn_start_evidence
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.run_log import ClaudeRunLog


def detect(src: ClaudeRunLog) -> Iterator[Finding]:
    for turn in src.turns:
        if turn.ended or turn.superseded_at is None:
            continue
        what, line = last_seen(src, turn)
        named, evidence = transcript_evidence(src, turn)
        yield RULE.finding(
            src,
            thread_id=turn.session_id,
            turn_id=turn_id(turn),
            message=f"turn {turn.index} never got its result, yet the stream went on: a new turn started on line "
            f"{turn.superseded_at}. A consumer that waits for each turn's result (a console keeping the process "
            f"alive between prompts) waits for this one forever. Last seen in it: {what}{named}",
            since=turn.timestamp,
            evidence=[
                turn_start_evidence(turn),
                line_evidence(line, f"last seen: {what}"),
                line_evidence(turn.superseded_at, "the next turn starts (system/init) without a result before it"),
                *evidence,
            ],
        )


RULE = Rule(
    code="CR005",
    name="claude-run-turn-without-result",
    source_kind="claude-run",
    severity=Severity.warning,
    summary="In a long-lived Claude Code session, a turn never got its `result` though the stream went on",
    explanation=(
        "A Claude process kept alive between prompts (`--input-format stream-json`, as consoles, warm pools and "
        "the Agent SDK run it) ends each turn with its own `result`, and clients settle the turn on it. Claude "
        "Code 2.1.197 starts each turn of such a session with a `system/init` line; when a new one comes while "
        "the previous turn has had no `result`, that turn was abandoned, and a client waiting for its result "
        'hangs (claude-code #30333, closed as not planned; consoles stuck "RECONNECTING"). Each turn is judged '
        "on its own: earlier turns that ended cleanly stay clean, and the last turn of a stream that stopped is "
        "CR001's."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a captured stream is a log, not state",
    detect=detect,
)
