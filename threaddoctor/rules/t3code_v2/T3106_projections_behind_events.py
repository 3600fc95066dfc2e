"""T3106 projections-behind-events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


_WAY_OUT = (
    "T3 Code starts without replaying or rebuilding projection history, so a restart will not fix this; keep a "
    "copy of statev2.sqlite and report it upstream"
)


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.findings import EvidenceItem
    from threaddoctor.sources.t3code.v2.source import row_evidence
    from threaddoctor.sources.t3code.v2.vocabulary import THREAD_PROJECTIONS, V2_THREAD_EVENTS

    cursor = src.projection_cursor()
    head = src.latest_v2_sequence()
    if cursor is None:
        yield RULE.finding(
            src,
            subject=THREAD_PROJECTIONS,
            message=f"orchestration_v2_projection_metadata has no {THREAD_PROJECTIONS!r} row: the app's "
            f"ProjectionMaintenanceV2.verify fails; {_WAY_OUT}",
            evidence=[
                EvidenceItem(
                    kind="row",
                    table="orchestration_v2_projection_metadata",
                    key={"projection_name": THREAD_PROJECTIONS},
                    description="missing",
                )
            ],
        )
    elif cursor["last_sequence"] < head:
        behind = src.conn.execute(
            f"SELECT COUNT(*), MIN(sequence) FROM orchestration_events WHERE {V2_THREAD_EVENTS} AND sequence > ?",
            (cursor["last_sequence"],),
        ).fetchone()
        yield RULE.finding(
            src,
            subject=THREAD_PROJECTIONS,
            message=f"the thread projections stop at sequence {cursor['last_sequence']} but V2 events go on to "
            f"{head}: {behind[0]} event(s) from sequence {behind[1]} are not projected; {_WAY_OUT}",
            since=cursor["updated_at"],
            evidence=[
                row_evidence(
                    "orchestration_v2_projection_metadata",
                    {"projection_name": THREAD_PROJECTIONS},
                    {"last_sequence": cursor["last_sequence"]},
                    "projection cursor",
                ),
                EvidenceItem(kind="event", sequence=head, description="newest V2 thread event"),
            ],
        )
    created = {
        r[0]
        for r in src.conn.execute(
            f"SELECT DISTINCT stream_id FROM orchestration_events "
            f"{src.indexed_by('orchestration_events_v2_created_threads_idx')} "
            f"WHERE {V2_THREAD_EVENTS} AND event_type = 'thread.created'"
        )
    }
    projected = {r[0] for r in src.conn.execute("SELECT thread_id FROM orchestration_v2_projection_threads")}
    for tid in sorted(created - projected):
        yield RULE.finding(
            src,
            thread_id=tid,
            subject=tid,
            message=f"thread {tid} has a V2 thread.created event but no projection row: the app does "
            f"not list it; {_WAY_OUT}",
            evidence=[
                EvidenceItem(
                    kind="row",
                    table="orchestration_v2_projection_threads",
                    key={"thread_id": tid},
                    description="missing",
                )
            ],
        )
    for tid in sorted(projected - created):
        yield RULE.finding(
            src,
            thread_id=tid,
            subject=tid,
            message=f"thread {tid} has a projection row but no V2 thread.created event: a "
            f"projection rebuild would drop it; {_WAY_OUT}",
            evidence=[
                row_evidence(
                    "orchestration_v2_projection_threads", {"thread_id": tid}, {}, "projected thread without its event"
                )
            ],
        )


RULE = Rule(
    code="T3106",
    name="projections-behind-events",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="V2 thread projections are behind their events, or list threads their events do not",
    explanation=(
        "The app's own integrity check, ProjectionMaintenanceV2.verify, requires the 'thread-projections' "
        "cursor in orchestration_v2_projection_metadata to equal the event store's latest sequence and the "
        "projected threads to be exactly the V2 thread.created streams. V2 starts without replaying event "
        "history, so events committed beyond the cursor stay invisible and threads missing from the "
        "projection are not listed. The rule runs the same checks read-only (the latest sequence taken as "
        "the newest V2 thread event, an assumption said in the source). There is no repair: the cursor must "
        "never be moved by hand, and a rebuild is the app's own (ProjectionMaintenanceV2.rebuild, not known "
        "to be reachable from its CLI)."
    ),
    fix_safety=FixSafety.none,
    fix_reason="moving the projection cursor by hand hides events for good; only the app's rebuild may fix it",
    detect=detect,
)
