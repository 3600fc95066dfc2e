"""T3013 undecodable-event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import CURSORS, EVENTS
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    start, projectors = src.startup_cursor(), src.lowest_cursor()
    src.check_range(0 if src.deep else start)
    problems = src.decode_problems
    for ev in src.events_by_sequence(sorted(problems)):
        found = problems[ev.sequence]
        crash = ev.sequence > start
        effect = (
            _crash(src, ev.sequence, start, projectors)
            if crash
            else "below every cursor: start-up skips it, but clients resuming from an older "
            "sequence, exports and new projectors fail on it"
        )
        yield RULE.finding(
            src,
            severity=Severity.error if crash else Severity.warning,
            thread_id=ev.stream_id if ev.event_type.startswith("thread.") else None,
            subject=ev.event_id,
            message=f"event {ev.sequence} ({ev.event_type}) cannot be decoded: "
            f"{'; '.join(f'{p.where}: {p.message}' for p in found)}; {effect}",
            since=ev.occurred_at,
            evidence=[
                ev.evidence(f"{p.where} fails the {src.schema.release.name} contract: {p.message}") for p in found
            ],
        )


def _crash(src: T3Source, seq: int, start: int, projectors: int) -> str:
    """What the next start does with an undecodable row above `start`, and what the user can do."""
    stops = (
        f"{src.schema.release.name} decodes every event after sequence {start} at its next start; this row fails "
        "its readFromSequence (PersistenceDecodeError), the server exits and the desktop app restarts it: a crash loop"
    )
    if seq <= projectors:
        return (
            f"{stops}. Every projector has applied it already: only the attachment-cleanup cursor ({start}) makes "
            "the start read it, and moving that cursor forward (T3016's repair) lets the start skip it"
        )
    return (
        f"{stops}. No repair can make it decodable without rewriting history, which threaddoctor never does: "
        "run a build whose decoder accepts it, or restore a backup from before this row"
    )


RULE = Rule(
    code="T3013",
    name="undecodable-event",
    source_kind="t3code",
    severity=Severity.error,
    summary="An event row does not decode under the app's event contract",
    explanation=(
        "T3 Code decodes every event it reads strictly; one row that fails stops the read, and because "
        "start-up replays the events after the lowest cursor, such a row there makes the server crash-loop "
        '(#8789 metadata origin surface "cli", #12514 a "reasoning" role, #12762 a legacy message without a '
        'turnId key; "turnId": null is valid). Stable 0.0.42 starts above the lowest of all ten projection_state '
        "rows, the nine projectors and projection.attachment-cleanup, a missing row counting as 0, so a row the "
        "projectors passed long ago stops it when the cleanup cursor is behind (T3016 moves that cursor). Below "
        "every cursor a row does not stop a start, but it breaks every other reader of the log. By default the "
        "rule decodes exactly what the app that wrote the file decodes at its next start, with that release's "
        "contract, plus every event the other rules looked at; --deep decodes the whole log. Events are never "
        "edited: the finding says what the app would hit and what the user can do."
    ),
    fix_safety=FixSafety.none,
    fix_reason="existing events are never edited by default",
    detect=detect,
    reads=(*EVENTS, *CURSORS),
    scope="log",
)
