"""CR002 claude-run-result-failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude_run.common import retry_words, transcript_evidence, turn_id, turn_start_evidence
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.run_log import ClaudeRunLog, Result, RunTurn

# terminal_reason values that are failures (reference claude-stream-json.md §1); "completed" and the
# cooperative interrupts are not, and a value this list does not know is judged by is_error alone.
FAILED = {
    "max_turns": "the turn limit (max_turns) was reached",
    "api_error": "the API kept failing",
    "malformed_tool_use_exhausted": "the model kept producing malformed tool calls",
    "budget_exhausted": "the spending budget (max_budget_usd) was used up",
    "structured_output_retry_exhausted": "no valid structured output after every retry",
    "tool_deferred_unavailable": "a deferred tool was unavailable",
    "turn_setup_failed": "the turn could not be set up",
}


def failed(result: Result) -> bool:
    """Whether the result reports a failure. A cooperative interrupt ends its turn on purpose,
    with is_error true and subtype error_during_execution (recorded: session_interrupt)."""
    if result.interrupted:
        return False
    return (
        result.is_error
        or result.subtype.startswith("error")
        or result.api_error_status is not None
        or result.terminal_reason in FAILED
    )


def detect(src: ClaudeRunLog) -> Iterator[Finding]:
    for turn in src.turns:
        if turn.result is None or not failed(turn.result):
            continue
        named, evidence = transcript_evidence(src, turn)
        retry = turn.retries[-1] if turn.retries else None
        yield RULE.finding(
            src,
            thread_id=turn.session_id,
            turn_id=turn_id(turn),
            message=_message(turn, turn.result) + named,
            since=turn.timestamp,
            evidence=[
                turn_start_evidence(turn),
                *([line_evidence(retry.line, f"the last api_retry: {retry_words(retry)}")] if retry else []),
                line_evidence(turn.result.line, f"result {turn.result.subtype}, is_error {turn.result.is_error}"),
                *evidence,
            ],
        )


def _message(turn: RunTurn, r: Result) -> str:
    why = [FAILED[r.terminal_reason]] if r.terminal_reason in FAILED else []
    if r.api_error_status is not None:
        why.append(f"API status {r.api_error_status}")
    if turn.assistant_error:
        why.append(f"API error {turn.assistant_error}")
    head = f"turn {turn.index} failed: result {r.subtype}"
    if r.subtype == "success" and r.is_error:
        head += " with is_error true (the subtype says success; the run did not succeed)"
    if why:
        head += f" ({', '.join(why)})"
    if turn.retries:
        last = turn.retries[-1]
        exhausted = last.max_retries is not None and last.attempt is not None and last.attempt >= last.max_retries
        head += (
            f"; retries exhausted after {len(turn.retries)} api_retry line(s), the last {retry_words(last)}"
            if exhausted
            else f"; after {len(turn.retries)} api_retry line(s), the last {retry_words(last)}"
        )
    detail = r.text or "; ".join(r.errors)
    return f"{head}: {detail[:200]}" if detail else head


RULE = Rule(
    code="CR002",
    name="claude-run-result-failed",
    source_kind="claude-run",
    severity=Severity.error,
    summary="A Claude Code run's `result` reports a failure (including `success` with is_error true)",
    explanation=(
        "A `result` line ends each turn, and its subtype alone is not to be trusted: when the API keeps failing, "
        'Claude Code reports `subtype:"success"` with `is_error:true`, the API error prose in `result` and, in '
        'newer versions, `api_error_status` and `terminal_reason:"api_error"` (recorded with 2.1.197 after '
        "repeated 529s; claude-code-action #1495). The rule reports a result with is_error true whatever its "
        "subtype, an error subtype (error_max_turns, error_max_budget_usd, error_during_execution, ...), an "
        "api_error_status, or a terminal_reason that is a failure (api_error, max_turns, budget_exhausted, retry "
        "exhaustion). When api_retry lines came before it, it says so, with the last attempt and the error status: "
        "the retries were exhausted. A cooperative interrupt (terminal_reason aborted_streaming or aborted_tools, "
        "with the CLI's synthetic tool results) ended the turn on purpose and is not reported."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a failed turn is history; there is nothing to repair",
    detect=detect,
)
