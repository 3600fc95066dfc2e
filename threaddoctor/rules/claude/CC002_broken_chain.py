"""CC002 claude-broken-chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude.common import leaf_evidence
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.claude.transcript import BrokenLink, ClaudeTranscript


def detect(src: ClaudeTranscript) -> Iterator[Finding]:
    for link in src.broken:
        entry = link.entry
        yield RULE.finding(
            src,
            severity=_severity(link),
            thread_id=src.session_id,
            subject=entry.uuid,
            message=_message(src, link),
            since=entry.timestamp,
            evidence=[
                line_evidence(entry.line, _what(link), entry.timestamp),
                *leaf_evidence(src, entry.line),
            ],
        )


def _severity(link: BrokenLink) -> Severity:
    # A lost compaction parent costs only the pre-compaction history, which the summary stands in for.
    if link.on_chain and link.entry.parent is not None:
        return Severity.error
    return Severity.warning


def _what(link: BrokenLink) -> str:
    if link.loop:
        return f"{link.entry.link_field} {link.target} points back into its own chain (a loop)"
    return f"{link.entry.link_field} {link.target} was never written"


def _message(src: ClaudeTranscript, link: BrokenLink) -> str:
    entry = link.entry
    head = f"line {entry.line} ({entry.type}): {_what(link)}"
    leaf = src.leaf.line if src.leaf else "?"
    if link.on_chain and entry.parent is None:
        return (
            f"{head}; resume walks back from the newest leaf (line {leaf}) and stops at this compaction, so "
            f"{link.cut_off} earlier conversation line(s) are unreachable and only its summary stands in for them"
        )
    if link.on_chain:
        return (
            f"{head}; resume walks back from the newest leaf (line {leaf}) and stops here, so {link.cut_off} "
            "earlier conversation line(s) are lost to it"
        )
    return f"{head}; the {link.cut_off} conversation line(s) hanging from it are unreachable from the newest leaf (line {leaf})"


RULE = Rule(
    code="CC002",
    name="claude-broken-chain",
    source_kind="claude-transcript",
    severity=Severity.error,
    summary="A Claude Code transcript line names a parent uuid that was never written, cutting the chain",
    explanation=(
        "Claude Code resumes a session by walking parentUuid back from the newest leaf; a compact_boundary, "
        "whose parentUuid is null, continues through its logicalParentUuid. When a line names a parent that was "
        "never written to the file (#22526; write-side causes in #22107, a compaction parent in #46603), the walk "
        "stops there and everything before it silently disappears from the resumed conversation: reports "
        "describe only the last message surviving (#24304) or 5 % of a file reachable (#58554). The rule "
        "reports each such link with the number of conversation lines it cuts off from the newest leaf. A root "
        "(the first prompt, parentUuid null), a compact boundary whose logical parent exists, links that point "
        "forward to a line written later in the file, sidechain (subagent) lines, and dead branches left by a "
        "resume or a rewind are all normal and not reported. A broken compaction link is a warning: the "
        "compaction summary still carries the earlier context."
    ),
    fix_safety=FixSafety.none,
    fix_reason="which line the parent should have been is a guess; re-linking is a decision for a person",
    detect=detect,
)
