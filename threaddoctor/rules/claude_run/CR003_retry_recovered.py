"""CR003 claude-run-retry-recovered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude_run.common import retry_words, turn_id
from threaddoctor.rules.claude_run.CR002_result_failed import failed
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.run_log import ClaudeRunLog


def detect(src: ClaudeRunLog) -> Iterator[Finding]:
    for turn in src.turns:
        if not turn.retries or not turn.output_after_retry:
            continue  # no retry, or nothing shows the request went through
        if turn.result is not None and failed(turn.result):
            continue  # CR002's
        last = turn.retries[-1]
        end = "a successful result" if turn.result is not None else "more output"
        yield RULE.finding(
            src,
            thread_id=turn.session_id,
            turn_id=turn_id(turn),
            message=f"turn {turn.index}: {len(turn.retries)} API retry line(s), the last {retry_words(last)}, then "
            f"normal output and {end}: the retries recovered",
            evidence=[line_evidence(r.line, f"api_retry {retry_words(r)}") for r in turn.retries[-3:]]
            + ([line_evidence(turn.result.line, "result")] if turn.result is not None else []),
        )


RULE = Rule(
    code="CR003",
    name="claude-run-retry-recovered",
    source_kind="claude-run",
    severity=Severity.info,
    summary="Claude Code retried an API request (api_retry), and the turn went on",
    explanation=(
        "When the API answers 429, 529 or 5xx, Claude Code waits and retries by itself, writing a "
        "`system/api_retry` line per attempt (attempt, max_retries, retry_delay_ms, error_status, error) to "
        "stream-json only: the transcript shows nothing of it. Retries followed by normal assistant output and "
        "a successful result recovered; the rule reports them as information, so that a log scraper that "
        "treats every error-looking line as a failure can be told this turn was fine. It never fails a check."
    ),
    fix_safety=FixSafety.none,
    fix_reason="nothing is broken",
    detect=detect,
)
