"""CE002 codex-exec-retries-exhausted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.exec_stream import CodexExecStream


def _reused(src: CodexExecStream, turn) -> bool:
    """The stream remembers the last error and reuses it as a later turn's failure reason."""
    if not turn.failure or any(turn.failure in e.message for e in turn.errors):
        return False
    return any(turn.failure in e.message for t in src.turns[: turn.index - 1] for e in t.errors)


def detect(src: CodexExecStream) -> Iterator[Finding]:
    for turn in src.turns:
        if turn.state != "failed":
            continue
        stale = " (this reason is an earlier turn's error, which the stream reuses)" if _reused(src, turn) else ""
        reconnects = turn.reconnects
        exhausted = bool(reconnects) and reconnects[-1].reconnect[0] >= reconnects[-1].reconnect[1]
        why = (
            f"retries exhausted after {len(reconnects)} reconnect(s)"
            if exhausted
            else f"after {len(reconnects)} reconnect(s)"
            if reconnects
            else "without reconnecting"
        )
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            subject=f"turn-{turn.index}",
            message=f"turn {turn.index} failed, {why}: {turn.failure or 'no message'}{stale}",
            evidence=[line_evidence(turn.line, "turn.started")]
            + [line_evidence(e.line, e.message[:120]) for e in turn.errors[-2:]]
            + [line_evidence(turn.end_line or turn.line, f"turn.failed: {turn.failure[:100]}")],
        )


RULE = Rule(
    code="CE002",
    name="codex-exec-turn-failed",
    source_kind="codex-exec",
    severity=Severity.error,
    summary="A `codex exec` turn failed; says whether its retries were exhausted",
    explanation=(
        "A turn that ends with turn.failed did fail. When the model stream kept dropping, Codex prints "
        '"Reconnecting... 1/5" up to "5/5" and then the final error; the rule says so, which separates an '
        "infrastructure outage (retries exhausted) from a failure the agent itself reported. It also guards "
        "against a known confusion in the stream: the last error text is remembered and can be reused as the "
        "failure reason of a later turn, so the reason printed is checked against the turn's own errors."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a failed turn is history; there is nothing to repair",
    detect=detect,
)
