"""CO001 connectonion-waiting-approval-orphaned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.connectonion.common import interrupted
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.connectonion.sessions import ConnectOnionSessions, Session


def detect(src: ConnectOnionSessions) -> Iterator[Finding]:
    from threaddoctor.sources.connectonion.sessions import (
        APPROVAL_ORPHANED_AFTER,
        HOST_FORGETS_AFTER,
        duration,
        iso,
        young_approval,
    )

    for s in src.sessions.values():
        idle = src.idle_seconds(s)
        if s.latest.status != "waiting_approval" or idle is None:
            continue
        rec = s.latest
        tool_id, name = rec.pending_tool or ("", "a tool")
        if idle < APPROVAL_ORPHANED_AFTER and src.left_unjudged(
            RULE.code, "approval", s.session_id, tool_id or None, rec.line, young=young_approval(idle)
        ):
            continue  # written recently enough that someone may still answer it
        yield RULE.finding(
            src,
            severity=Severity.error if idle >= HOST_FORGETS_AFTER else Severity.warning,
            thread_id=s.session_id,
            subject=tool_id or None,
            message=f"waiting {duration(idle)} for approval to run {name}"
            + (f" ({tool_id})" if tool_id else "")
            + "; nobody can answer it once the client that saw the request is gone (#119, #553), and "
            + _refusal(src, s, idle)
            + "; the file cannot tell whether the host still runs, so it is only stuck if no host is waiting on it",
            since=iso(rec.at),
            evidence=[
                line_evidence(rec.line, f"newest record: waiting_approval checkpoint for {name}", iso(rec.at)),
                line_evidence(s.first_line, f"first record of the session ({s.statuses[0]})"),
            ],
            repair=interrupted(src, rec.line),
        )


def _refusal(src: ConnectOnionSessions, s: Session, idle: float) -> str:
    from threaddoctor.sources.connectonion.sessions import HOST_FORGETS_AFTER, iso

    if src.expired(s):
        return f"its checkpoint expired at {iso(s.latest.expires)}, yet session lists still show it waiting"
    tail = f"new prompts to it are refused while the host runs, until it expires at {iso(s.latest.expires)}"
    if idle >= HOST_FORGETS_AFTER:
        tail += (
            "; a live host drops sessions idle for 1 h from its registry, so a reconnect likely cannot reach it either"
        )
    return tail


RULE = Rule(
    code="CO001",
    name="connectonion-waiting-approval-orphaned",
    source_kind="connectonion-sessions",
    severity=Severity.error,
    summary="A ConnectOnion session waits for an approval that nobody is left to give",
    explanation=(
        "Before a tool that needs approval runs, the ConnectOnion host checkpoints the session as "
        "waiting_approval and blocks its agent thread until an answer arrives over the client's connection; "
        "there is no timeout, and the approval request itself is never persisted. When that client is gone "
        "(a refreshed page, a script that raised ApprovalPendingError, a dropped socket: #119) nobody can "
        'answer, new prompts to the session are refused ("Session is busy", or RUNTIME_INPUT_REJECTED) until the '
        "checkpoint expires 24 h later, and session lists show it as waiting for the user (#553 found them 52 h "
        "old). The file cannot tell whether the host process lives, so the rule judges by age, measured on the "
        "host's own timestamps and the file's last write: a checkpoint idle for 10 minutes is reported as a "
        "warning (a client that reconnects can still answer it), one idle for an hour, after which a live host "
        "has dropped the session from its registry, as an error. A repair would append a newer record of the "
        'session with status "interrupted", as the host does itself at startup since #554.'
    ),
    fix_safety=FixSafety.safe,
    fix_reason="a newer interrupted record is what the host writes for such sessions when it restarts; the "
    "file is append-only, last entry wins, and undo restores it while the host has not written since",
    detect=detect,
)
