"""Pieces the Claude Code run-log rules share: where a turn is, what it was doing when its stream
stopped, and the session's transcript beside the run log."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from threaddoctor.rules.files.common import line_evidence

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem
    from threaddoctor.sources.claude.run_log import ClaudeRunLog, RunTurn


def turn_id(turn: RunTurn) -> str:
    return f"turn-{turn.index}"


def since(src: ClaudeRunLog, turn: RunTurn) -> str | None:
    """When the turn was last heard of: its newest timestamp (only user lines carry one), else
    when the run log was last written."""
    from threaddoctor.sources.t3code.vocabulary import format_time

    if turn.timestamp:
        return turn.timestamp
    try:
        return format_time(datetime.fromtimestamp(os.stat(src.path).st_mtime, UTC))
    except OSError:
        return None


def last_seen(src: ClaudeRunLog, turn: RunTurn) -> tuple[str, int]:
    """What the stream showed last in the turn, in words, and its line."""
    running = turn.open_calls
    torn = [p for p in src.reader.problems if p.line > turn.last_line]
    if turn.last_seen == "tool_use" or (running and turn.last_seen in ("assistant", "tool_use")):
        call = running[-1] if running else None
        if call is not None:
            return (
                f"a tool was running: {call.name} {call.tool_use_id} (line {call.line}) never got its result",
                call.line,
            )
    if turn.open_message is not None and turn.open_message >= turn.last_line:
        return (
            f"an assistant message was cut off mid-stream (message_start on line {turn.open_message}, no message_stop)",
            turn.open_message,
        )
    if torn:
        return f"the last line was cut off mid-write (line {torn[-1].line}: {torn[-1].what})", torn[-1].line
    if turn.last_seen == "tool_result":
        return (
            f"a tool_result (line {turn.last_line}) with no next assistant turn after it (claude-code #39700)",
            turn.last_line,
        )
    if turn.last_seen == "retry":
        r = turn.retries[-1]
        return f"an API retry ({retry_words(r)}, line {r.line}) with nothing after it", r.line
    if turn.last_seen == "assistant":
        return f"an assistant message (line {turn.last_line}), then nothing: no result", turn.last_line
    if turn.last_seen == "prompt":
        return f"the prompt (line {turn.prompt_line}), and no answer to it", turn.last_line
    if turn.last_seen in ("init", "status", ""):
        return f"the turn's start (line {turn.line}), and nothing after it", turn.line
    return f"a {turn.last_seen} line (line {turn.last_line})", turn.last_line


def retry_words(r) -> str:
    attempt = f"attempt {r.attempt} of {r.max_retries}" if r.max_retries is not None else f"attempt {r.attempt}"
    status = f"HTTP {r.error_status}" if r.error_status is not None else "no response"
    return f"{attempt}, {status}" + (f" {r.error}" if r.error else "")


def transcript_evidence(src: ClaudeRunLog, turn: RunTurn) -> tuple[str, list[EvidenceItem]]:
    """(words for the message, evidence) naming the session's transcript when it exists."""
    from threaddoctor.findings import EvidenceItem

    path = src.transcript(turn.session_id)
    if path is None:
        return "", []
    return f" (the session's transcript: {path})", [
        EvidenceItem(kind="file", description=f"the session's transcript {path}", key={"path": str(path)})
    ]


def turn_start_evidence(turn: RunTurn) -> EvidenceItem:
    if turn.prompt_line is not None:
        return line_evidence(turn.prompt_line, f"turn {turn.index}: the prompt")
    return line_evidence(turn.line, f"turn {turn.index} starts")
