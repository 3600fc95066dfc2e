"""LOG001 malformed-line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding


def detect(src) -> Iterator[Finding]:
    for p in src.reader.all_problems():
        tail = "; nothing after it could be read" if p.stops else "; the line is skipped"
        yield RULE.finding(
            src,
            severity=Severity.warning if p.what == "byte order mark" else Severity.error,
            subject=f"{'stream' if p.stops else 'line'}-{p.line}",
            message=f"line {p.line}: {p.what}" + (f" ({p.detail})" if p.detail else "") + tail,
            evidence=[line_evidence(p.line, p.what)],
        )


RULE = Rule(
    code="LOG001",
    name="malformed-line",
    source_kind="jsonl",
    severity=Severity.error,
    summary="A line of an agent's log is damaged: torn, NUL-padded, not UTF-8, or behind a BOM",
    explanation=(
        "Agents append their logs line by line, and a process that dies mid-write leaves damage behind: a "
        "partial record, sometimes followed by a full copy on the same line (Codex #24425), NUL padding from an "
        "interrupted append (Claude Code #49876, Codex #24369), a record that is not valid UTF-8 (Codex #36802), "
        "or a byte order mark that breaks the reader (Codex #28139). Depending on the agent, one such line makes "
        "the whole thread unreadable or silently truncates what it resumes from. threaddoctor reports each "
        "damaged line with its number and reads the rest of the file around it; a line nested deeper than "
        "Python's JSON parser goes (about 990 levels) is reported too, as unread. A compressed log (.gz, .zst) "
        "that is truncated, corrupt or needs another dictionary is read up to the damage, and the line and byte "
        "where reading stopped are reported; one of which nothing at all can be read is refused as bad input."
    ),
    fix_safety=FixSafety.none,
    fix_reason="a damaged line is evidence; removing it is a decision for a person",
    detect=detect,
)
