"""CX004 codex-tool-transport-dropped."""

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
    for call, turn in src.thread_calls(src.dropped_calls()):
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            turn_id=turn.turn_id if turn else None,
            subject=call.call_id,
            message=f"{call.kind} {call.name} ({call.call_id}) failed because its transport dropped "
            f"({call.transport!r}), not because of the agent",
            evidence=[
                line_evidence(call.line, f"{call.kind}"),
                line_evidence(call.output_line or call.line, f"output reports: {call.transport}"),
            ],
        )


RULE = Rule(
    code="CX004",
    name="codex-tool-transport-dropped",
    source_kind="codex-rollout",
    severity=Severity.warning,
    summary="A Codex tool call failed because the connection to its executor dropped",
    explanation=(
        "When Codex runs tools through a remote exec-server or an MCP stdio server, a dropped websocket or a "
        "closed transport fails the tool call (Codex PR #23867: existing processes fail through the disconnect "
        "path; before PR #28512 sessions were not resumed). The output then reads like the agent's command "
        "failed, and the turn looks like an agent failure although the infrastructure failed. The rule "
        "reports tool outputs that open with the transport's error (closed, disconnected, reset by peer), so CI "
        "can tell infrastructure failures from agent failures; a phrase deep inside a command's own output is "
        "what the command printed, and is not counted."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the failure already happened; the finding classifies it",
    detect=detect,
)
