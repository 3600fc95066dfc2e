"""Evidence that points at a line of a log file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem


def line_evidence(line: int, description: str, occurred_at: str | None = None) -> EvidenceItem:
    from threaddoctor.findings import EvidenceItem

    return EvidenceItem(kind="file", description=description, key={"line": line}, occurred_at=occurred_at or None)
