"""CX003 codex-tool-call-without-output."""

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
    current = src.open_turn()
    for call, turn in src.thread_calls(src.unanswered_calls()):
        running = turn is not None and turn is current
        if running and src.left_unjudged(RULE.code, "call", src.thread_id, call.call_id, call.line):
            continue  # a tool Codex may still be running
        later = src.completed_after(call.line)
        head = f"{call.kind} {call.name} ({call.call_id}) has no output"
        evidence = [line_evidence(call.line, f"{call.kind} without a matching output")]
        if later is not None:
            evidence.append(line_evidence(later.line, "a later turn that completed", later.started_at))
        yield RULE.finding(
            src,
            severity=Severity.info if later is not None else RULE.severity,
            thread_id=src.thread_id,
            turn_id=turn.turn_id if turn else None,
            subject=call.call_id,
            message=f"{head}; the thread went on and the turn at line {later.line} completed, so this is history: "
            'Codex answered the call with a synthetic "aborted" result on resume'
            if later is not None
            else f'{head}; on resume Codex substitutes an "aborted" result, so the command\'s effect is unknown',
            evidence=evidence,
        )


RULE = Rule(
    code="CX003",
    name="codex-tool-call-without-output",
    source_kind="codex-rollout",
    severity=Severity.warning,
    summary="A Codex tool call has no recorded output",
    explanation=(
        "Every function_call, custom_tool_call, local_shell_call or tool_search_call in a rollout should be "
        "followed by its output with the same call_id. One without is the trace of a turn cut short while the "
        "tool ran: a kill, a crash, a dropped exec-server session. Codex tolerates it (it substitutes an "
        '"aborted" output when it rebuilds the prompt), so unlike in Claude Code it does not block resume, '
        "but whatever the command did, or did not do, is no longer known to the model. A call that a later "
        "turn went past (a thread resumed after a kill: Codex appends the new turn to the same file, and that "
        "turn completed) is history, reported as information that never fails a check. Tool calls of a turn "
        "Codex may still be running are not judged, and the report says so."
    ),
    fix_safety=FixSafety.none,
    fix_reason="Codex supplies the missing output itself on resume",
    detect=detect,
)
