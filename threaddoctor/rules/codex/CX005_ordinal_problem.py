"""CX005 codex-ordinal-problem."""

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
    for p in src.ordinal_problems:
        yield RULE.finding(
            src,
            thread_id=src.thread_id,
            subject=f"line-{p.line}",
            message=f"line {p.line}: {p.what} in a paginated rollout",
            evidence=[line_evidence(p.line, p.what)],
        )


RULE = Rule(
    code="CX005",
    name="codex-ordinal-problem",
    source_kind="codex-rollout",
    severity=Severity.error,
    summary="A paginated Codex rollout reuses or lacks record ordinals",
    explanation=(
        'In paginated rollouts (history_mode "paginated") every record carries an ordinal counting up by '
        "one, and a continuation file starts where its base ended. Codex has been seen to reuse ordinals "
        '(#35746) and to write a final record without one, after which resume fails with "final paginated '
        'rollout record … is missing an ordinal" (#45150). The rule checks the sequence record by record. '
        "A continuation file that shares its base's thread id is normal (the false positive of codex doctor, "
        "#31433) and is not reported."
    ),
    fix_safety=FixSafety.none,
    fix_reason="renumbering history is not done automatically",
    detect=detect,
)
