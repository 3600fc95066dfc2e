"""T3013 undecodable-event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    lowest = src.lowest_cursor()
    src.check_range(0 if src.deep else lowest)
    problems = src.decode_problems
    for ev in src.events_by_sequence(sorted(problems)):
        found = problems[ev.sequence]
        crash = ev.sequence > lowest
        effect = (
            "the app reads it at its next start and will crash-loop"
            if crash
            else "below every projector cursor: start-up skips it, but clients resuming from an older "
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


RULE = Rule(
    code="T3013",
    name="undecodable-event",
    source_kind="t3code",
    severity=Severity.error,
    summary="An event row does not decode under the app's event contract",
    explanation=(
        "T3 Code decodes every event it reads strictly; one row that fails stops the read, and because "
        "start-up replays the events after the lowest projector cursor, such a row there makes the server "
        'crash-loop (#8789 metadata origin surface "cli", #12514 a "reasoning" role, #12762 a legacy '
        "message without turnId). Below every cursor it does not stop a start, but it breaks every other "
        "reader of the log. By default the rule decodes what the app would read at its next start plus every "
        "event the other rules looked at; --deep decodes the whole log. Events are never edited: the finding "
        "says what is wrong so that a lossless rewrite, as the app's own migrations do, can be judged."
    ),
    fix_safety=FixSafety.none,
    fix_reason="existing events are never edited by default",
    detect=detect,
    scope="log",
)
