"""Pieces the Claude Code transcript rules share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threaddoctor.rules.files.common import line_evidence

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem
    from threaddoctor.sources.claude.transcript import ClaudeTranscript


def leaf_evidence(src: ClaudeTranscript, besides: int | None = None) -> list[EvidenceItem]:
    """Where resume starts: the newest leaf of the main chain, unless it is the line `besides`
    that the finding already points at (none in an empty transcript)."""
    if src.leaf is None or src.leaf.line == besides:
        return []
    return [
        line_evidence(src.leaf.line, f"newest leaf ({src.leaf.type}): resume walks back from here", src.leaf.timestamp)
    ]
