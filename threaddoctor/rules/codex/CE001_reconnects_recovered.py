"""CE001 codex-exec-reconnect-recovered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.codex.exec_stream import CodexExecStream


def detect(src: CodexExecStream) -> Iterator[Finding]:
    for turn in src.turns:
        if not turn.reconnects or turn.state == "failed":
            continue
        if turn.state == "in_progress" and not turn.items_after_errors:
            continue  # nothing shows it recovered
        last = turn.reconnects[-1]
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            subject=f"turn-{turn.index}",
            message=f"turn {turn.index}: {len(turn.reconnects)} reconnect(s) up to {last.reconnect[0]}/"
            f'{last.reconnect[1]}, then the turn {turn.state.replace("_", " ")}: the "error" lines were '
            "transient retries, not failures",
            evidence=[line_evidence(e.line, e.message[:120]) for e in turn.reconnects]
            + ([line_evidence(turn.end_line, f"turn.{turn.state}")] if turn.end_line else []),
        )


RULE = Rule(
    code="CE001",
    name="codex-exec-reconnect-recovered",
    source_kind="codex-exec",
    severity=Severity.info,
    summary='Codex printed "Reconnecting... n/m" errors, and then the turn went on',
    explanation=(
        "`codex exec --json` prints every app-server error notification as a top-level "
        '{"type":"error"} line and drops its willRetry flag, so a transient reconnect while the model '
        "stream is retried looks exactly like a fatal error in a CI log. The rule finds turns whose "
        '"Reconnecting... n/m" lines were followed by more items or by turn.completed, and reports them as '
        'information: the agent recovered, and a log scraper that fails the build on "error" lines is wrong '
        "about this turn."
    ),
    fix_safety=FixSafety.none,
    fix_reason="nothing is broken",
    detect=detect,
)
