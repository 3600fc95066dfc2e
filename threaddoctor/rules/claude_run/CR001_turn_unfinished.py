"""CR001 claude-run-turn-unfinished."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude_run.common import last_seen, since, transcript_evidence, turn_id, turn_start_evidence
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.run_log import ClaudeRunLog


def detect(src: ClaudeRunLog) -> Iterator[Finding]:
    turn = src.turns[-1] if src.turns else None
    if turn is None or turn.ended or turn.superseded_at is not None:
        return  # a turn the stream went on from is CR005's
    if src.left_unjudged(RULE.code, "turn", turn.session_id, turn_id(turn), turn.line):
        return  # the CLI may still be writing this turn
    what, line = last_seen(src, turn)
    named, evidence = transcript_evidence(src, turn)
    yield RULE.finding(
        src,
        thread_id=turn.session_id,
        turn_id=turn_id(turn),
        message=f"turn {turn.index} has no result: the stream ended while the turn ran (the process was killed, "
        f"timed out, or its output was cut off). Last seen: {what}{named}",
        since=since(src, turn),
        evidence=[turn_start_evidence(turn), line_evidence(line, f"last seen: {what}"), *evidence],
    )


RULE = Rule(
    code="CR001",
    name="claude-run-turn-unfinished",
    source_kind="claude-run",
    severity=Severity.warning,
    summary="A Claude Code run log ends inside a turn, with no `result`",
    explanation=(
        "Every turn of `claude -p --output-format stream-json` ends with one `result` line, and a long-lived "
        "process fed prompts on stdin writes one per turn. A stream that stops without it was cut off: the "
        "process was killed (SIGKILL, a CI timeout, a cancelled job; since 2.1.236 SIGTERM records nothing "
        "either), or the CLI lost its output (truncated stream-json when piping large responses, fixed in "
        "2.1.208). The rule says what the stream showed last: a tool still running, a tool_result with no next "
        "assistant turn (claude-code #39700), an assistant message cut off mid-stream, or a retry with nothing "
        "after it, and since when (the newest timestamp in the turn, or when the file was last written). A run "
        "log held open by a process (the CLI writing its stdout), or whose newest record and last write are "
        "both recent (within two minutes, ten while a tool runs), may belong to a running CLI: its current turn "
        "is not judged, and the report says so. The session's transcript, when it is found "
        "beside the log or under the Claude config's projects folder, is named: CC001 judges it."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a captured stream is a log, not state; the session's transcript is what can be repaired (CC001)",
    detect=detect,
)
