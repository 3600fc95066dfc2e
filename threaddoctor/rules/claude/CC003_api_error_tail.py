"""CC003 claude-api-error-tail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.transcript import ClaudeTranscript, Entry


def last_message(src: ClaudeTranscript) -> Entry | None:
    """The last user or assistant line of the active chain (system and attachment lines may follow it)."""
    return next((e for e in reversed(src.chain) if e.type in ("user", "assistant")), None)


def detect(src: ClaudeTranscript) -> Iterator[Finding]:
    last = last_message(src)
    if last is None or last.api_error is None:
        return
    if src.left_unjudged(RULE.code, "request", src.session_id, last.uuid, last.line):
        return  # a live session may be about to retry or take the next prompt
    prompt_at = src.last_prompt_index()
    evidence = [line_evidence(last.line, f"isApiErrorMessage ({last.api_error})", last.timestamp)]
    tail = ""
    if prompt_at >= 0:
        prompt = src.chain[prompt_at]
        evidence.append(line_evidence(prompt.line, "the prompt of the failed turn", prompt.timestamp))
        tail = f"; the turn begun by the prompt at line {prompt.line} never finished"
    yield RULE.finding(
        src,
        thread_id=src.session_id,
        subject=last.uuid,
        message=f"the session's last request failed with API error {last.api_error} (line {last.line}){tail}",
        since=last.timestamp,
        evidence=evidence,
    )


RULE = Rule(
    code="CC003",
    name="claude-api-error-tail",
    source_kind="claude-transcript",
    severity=Severity.warning,
    summary="A Claude Code session's active chain ends in an API error: its last request failed",
    explanation=(
        "When a request fails for good (overloaded 529, rate limit, server error, once retries are exhausted "
        "or disabled), Claude Code writes a synthetic assistant line with isApiErrorMessage true, the error and "
        "apiErrorStatus, and the turn ends there with the prompt unanswered. Retries that succeed leave no trace "
        "in the transcript. The session is not stuck: on resume, Claude Code 2.1.197 leaves the error line out "
        "of the request and continues, so the finding says that the last piece of work was never done rather "
        "than that the session is broken. Only the end of the active chain is judged, after any system lines; "
        "an API error earlier in the conversation was followed by more work. A transcript whose newest line "
        "and last write are from the last two minutes may belong to a running session: it is not judged, and "
        "the report says so."
    ),
    fix_safety=FixSafety.none,
    fix_reason="nothing is broken in the file; the prompt has to be sent again",
    detect=detect,
)
