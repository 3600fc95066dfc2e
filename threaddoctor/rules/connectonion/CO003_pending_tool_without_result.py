"""CO003 connectonion-pending-tool-without-result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.connectonion.sessions import ConnectOnionSessions, OpenCall, Session


def detect(src: ConnectOnionSessions) -> Iterator[Finding]:
    from threaddoctor.sources.connectonion.sessions import UNFINISHED, iso

    for s in src.sessions.values():
        if s.latest.status not in UNFINISHED:
            continue
        for call in s.latest.open_calls:
            if _may_be_answered(src, s, call):
                continue
            yield RULE.finding(
                src,
                severity=Severity.error if call.in_messages else Severity.warning,
                thread_id=s.session_id,
                subject=call.tool_id,
                message=f"{call.name} ({call.tool_id}) has no result in the {s.latest.status} session: "
                + _where(call)
                + f"; {_ran(s, call)}. Reusing the session sends this history to the model again, and no code "
                "was found that adds a synthetic tool result on reuse, so the session cannot be resumed cleanly",
                since=iso(s.latest.at),
                evidence=[line_evidence(s.latest.line, _evidence(s, call))],
            )


def _may_be_answered(src: ConnectOnionSessions, s: Session, call: OpenCall) -> bool:
    """A recent approval checkpoint may still get its answer (CO001's judgement): left unjudged."""
    from threaddoctor.sources.connectonion.sessions import APPROVAL_ORPHANED_AFTER, young_approval

    idle = src.idle_seconds(s)
    if s.latest.status != "waiting_approval":
        return False
    if idle is None:
        return True  # no time to judge by
    return idle < APPROVAL_ORPHANED_AFTER and src.left_unjudged(
        RULE.code, "call", s.session_id, call.tool_id, s.latest.line, young=young_approval(idle)
    )


def _where(call: OpenCall) -> str:
    parts = []
    if call.in_trace:
        parts.append("its trace tool_call has no tool_result")
    if call.in_messages:
        parts.append('the assistant tool_calls message has no role:"tool" reply')
    return " and ".join(parts)


def _evidence(s: Session, call: OpenCall) -> str:
    tail = "; its turn has no turn_result" if s.latest.open_turn else ""
    return f"newest record ({s.latest.status}, revision {s.latest.revision}): {_where(call)}{tail}"


def _ran(s: Session, call: OpenCall) -> str:
    if s.latest.pending_tool and s.latest.pending_tool[0] == call.tool_id:
        return "it was waiting for approval, so it never ran"
    return "whether it ran, and what it did, is unknown"


RULE = Rule(
    code="CO003",
    name="connectonion-pending-tool-without-result",
    source_kind="connectonion-sessions",
    severity=Severity.error,
    summary="A stopped ConnectOnion session ends with a tool call that has no result",
    explanation=(
        "ConnectOnion appends the assistant's tool_calls message and a trace tool_call before a tool runs, and "
        'the role:"tool" reply and tool_result after. A session whose newest record is interrupted, failed or '
        "an orphaned waiting_approval checkpoint keeps the call without its result: the tool waited for an "
        "approval that never came, or the host died while it ran. When the session is reused its messages go "
        "back to the model, and OpenAI-format APIs reject an assistant tool_calls message without a tool reply; "
        "no code was found in ConnectOnion that adds a synthetic result on reuse (a grep-level check). A call "
        "missing its reply in the messages is an error; one missing only from the trace, which is not sent to "
        "the model, a warning. Approval checkpoints younger than 10 minutes are left alone. A repair would "
        'append a newer record of the session with status "interrupted" whose messages and trace close the '
        "call with an explicit result saying it did not run."
    ),
    fix_safety=FixSafety.none,
    fix_reason="repairs of ConnectOnion session files (an appended newer record) are not applied yet",
    detect=detect,
)
