"""T3012 unprojected-events."""

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
    from threaddoctor.findings import EvidenceItem
    from threaddoctor.sources.t3code.vocabulary import PROJECTORS

    head = src.max_sequence()
    cursors = src.cursors()
    behind = {p: cursors.get(p, 0) for p in PROJECTORS if cursors.get(p, 0) < head}
    if not behind:
        return
    lowest = min(behind.values())
    first = next(
        src.events_by_sequence(
            [
                s[0]
                for s in src.conn.execute(
                    "SELECT sequence FROM orchestration_events WHERE sequence > ? ORDER BY sequence LIMIT 1",
                    (lowest,),
                )
            ]
        ),
        None,
    )
    threads = [
        r[0]
        for r in src.conn.execute(
            "SELECT DISTINCT stream_id FROM orchestration_events WHERE sequence > ? AND aggregate_kind = 'thread' "
            "LIMIT 50",
            (lowest,),
        )
    ]
    evidence = [
        EvidenceItem(
            kind="row",
            table="projection_state",
            key={"projector": p},
            values={"last_applied_sequence": seq if p in cursors else None},
            description=f"{p} is at {seq if p in cursors else 'no row (replays from 0)'}",
        )
        for p, seq in behind.items()
    ]
    if first is not None:
        evidence.insert(0, first.evidence("first event not yet projected"))
    yield RULE.finding(
        src,
        thread_id=threads[0] if len(threads) == 1 else None,
        subject="projector-cursors",
        message=(
            f"{head - lowest} event(s) after sequence {lowest} are not in the projections "
            f"({len(behind)} projector(s) behind the log head {head}; threads: "
            f"{', '.join(threads[:5])}{' ...' if len(threads) > 5 else ''})"
        ),
        since=first.occurred_at if first else None,
        evidence=evidence,
    )


RULE = Rule(
    code="T3012",
    name="unprojected-events",
    source_kind="t3code",
    severity=Severity.warning,
    summary="Projector cursors are behind the event log: some events are not reflected in the tables",
    explanation=(
        "Each projector records in projection_state the last event sequence it applied. The app appends an "
        "event and projects it in one transaction, so in a database the app wrote, every cursor equals the "
        "newest sequence. A cursor behind it means events were added another way (often a row inserted by "
        "hand while the server ran, which the projectors then skip forever) or a projector is new. Until "
        "they are projected, the tables the app reads disagree with the log, and any repair planned from the "
        "tables would be wrong. The app replays these events at its next start if it is stopped now; "
        "threaddoctor does not repair this and leaves the affected threads alone when it plans repairs."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the app's own start-up catch-up is the repair; planning from lagging tables is refused",
    detect=detect,
    reads=(*EVENTS, *CURSORS),
)
