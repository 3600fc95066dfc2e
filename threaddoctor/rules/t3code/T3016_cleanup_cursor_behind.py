"""T3016 cleanup-cursor-behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import CURSORS, EVENTS, MESSAGES
from threaddoctor.severity import FixSafety, Severity
from threaddoctor.sources.t3code.vocabulary import ATTACHMENT_CLEANUP_CURSOR, PROJECTORS

if TYPE_CHECKING:
    from threaddoctor.findings import EvidenceItem, Finding, RepairPlan
    from threaddoctor.sources.t3code.source import T3Source

# The cleanup cursor moves only at a start (live traffic moves the nine projectors), so it lags by
# one session's events in a healthy database; beyond this many, the next start is a long read.
FAR_BEHIND = 10_000


def detect(src: T3Source) -> Iterator[Finding]:
    if not src.has_cleanup_cursor:
        return
    cursors = src.cursors()
    cleanup = cursors.get(ATTACHMENT_CLEANUP_CURSOR)
    start, lowest = cleanup or 0, src.lowest_cursor()
    if start >= lowest or (cleanup and lowest - start < FAR_BEHIND):
        return
    count, size = src.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(length(payload_json) + length(metadata_json)), 0) FROM orchestration_events "
        "WHERE sequence > ?",
        (start,),
    ).fetchone()
    skipped = src.rows(
        "SELECT sequence, event_type, stream_id, occurred_at FROM orchestration_events WHERE sequence > ? AND "
        "sequence <= ? AND aggregate_kind = 'thread' AND event_type IN ('thread.reverted', 'thread.deleted') "
        "ORDER BY sequence",
        (start, lowest),
    )
    where = "has no row" if cleanup is None else f"is at {cleanup}"
    yield RULE.finding(
        src,
        severity=Severity.warning if cleanup is None or lowest - start >= FAR_BEHIND else Severity.info,
        subject="attachment-cleanup-cursor",
        message=(
            f"{ATTACHMENT_CLEANUP_CURSOR} {where} while the lowest projector cursor is at {lowest}: the next start "
            f"decodes all {count} event(s) after sequence {start} ({_mb(size)} of event JSON, each page decoded "
            "twice), not just the new ones; on large logs that start runs out of memory (#10774, #11182), and any "
            "old row that no longer decodes stops it (T3013)"
        ),
        evidence=[_cursor_evidence(p, cursors) for p in (ATTACHMENT_CLEANUP_CURSOR, *PROJECTORS)],
        repair=_repair(src, cleanup, lowest, skipped),
    )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


def _cursor_evidence(projector: str, cursors: dict[str, int]) -> EvidenceItem:
    from threaddoctor.findings import EvidenceItem

    at = cursors.get(projector)
    return EvidenceItem(
        kind="row",
        table="projection_state",
        key={"projector": projector},
        values={"last_applied_sequence": at},
        description=f"{projector} is at {at}" if at is not None else f"{projector} has no row (counts as 0)",
    )


def _repair(src: T3Source, cleanup: int | None, lowest: int, skipped: list[dict]) -> RepairPlan:
    """Move only the cleanup cursor, forward, to the lowest projector cursor: every event up to it
    is applied (reference t3code-today.md §5, rule 6), and the start then reads only what is new."""
    from threaddoctor.findings import RepairPlan, RowChange

    anchor = src.row(
        "SELECT updated_at FROM projection_state WHERE last_applied_sequence = ? AND projector <> ?",
        (lowest, ATTACHMENT_CLEANUP_CURSOR),
    )
    after = {"last_applied_sequence": lowest, "updated_at": anchor["updated_at"] if anchor else None}
    key = {"projector": ATTACHMENT_CLEANUP_CURSOR}
    step = (
        RowChange(action="insert-row", table="projection_state", key=key, after=after)
        if cleanup is None
        else RowChange(
            action="update-row",
            table="projection_state",
            key=key,
            before={"last_applied_sequence": cleanup},
            after=after,
        )
    )
    move = f"move {ATTACHMENT_CLEANUP_CURSOR} forward to {lowest}, the lowest projector cursor (projectors untouched)"
    if not skipped:
        return RepairPlan(safety=FixSafety.safe, summary=move, steps=[step])
    return RepairPlan(safety=FixSafety.unsafe, summary=f"{move}; {_left_behind(src, skipped)}", steps=[step])


def _left_behind(src: T3Source, skipped: list[dict]) -> str:
    """Which attachments the cleanup pass would then never delete: those of the threads deleted,
    and of the messages removed by reverts, in the skipped range."""
    parts = []
    for ev in skipped:
        ids = _attachments(src, ev["stream_id"], ev["sequence"], reverted=ev["event_type"] == "thread.reverted")
        what = "deleted" if ev["event_type"] == "thread.deleted" else "reverted"
        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "") if ids else "none recorded"
        parts.append(f"thread {ev['stream_id']} {what} at event {ev['sequence']} (attachments: {shown})")
    return "the cleanup pass would skip " + "; ".join(parts) + ", so their attachment files would stay on disk"


def _attachments(src: T3Source, thread_id: str, before: int, reverted: bool) -> list[str]:
    kept = (
        {
            r["message_id"]
            for r in src.rows("SELECT message_id FROM projection_thread_messages WHERE thread_id = ?", (thread_id,))
        }
        if reverted
        else set()
    )
    ids: list[str] = []
    for ev in src.thread_events(thread_id, types=("thread.message-sent",)):
        if ev.sequence >= before or ev.payload.get("messageId") in kept:
            continue
        for a in ev.payload.get("attachments") or []:
            if isinstance(a, dict) and isinstance(a.get("id"), str) and a["id"] not in ids:
                ids.append(a["id"])
    return ids


RULE = Rule(
    code="T3016",
    name="cleanup-cursor-behind",
    source_kind="t3code",
    severity=Severity.warning,
    summary="Stable 0.0.42's attachment-cleanup cursor is missing or far behind: the next start decodes the whole log",
    explanation=(
        "Stable 0.0.42 keeps a tenth projection_state row, projection.attachment-cleanup, and at every start "
        "decodes every event above the lowest of all ten rows (a missing row counts as 0), though the cleanup "
        "pass uses only thread.deleted and thread.reverted. Live traffic never moves that cursor, and a release "
        "that brings it starts it at 0, so after an upgrade, or when a deletion keeps failing, the next start "
        "reads the whole log: it runs out of memory on large databases (#10774, #10872, #11182, #11183), and "
        "one old row that no longer decodes stops it (#12762). The rule says how many events that start will "
        "decode and how much JSON that is. The repair moves only that cursor forward to the lowest projector "
        "cursor, the workaround users apply by hand; the projectors are untouched. It is safe when no "
        "thread.deleted or thread.reverted lies in the range it skips; otherwise the cleanup of those threads' "
        "attachment files would be skipped, so it is unsafe and says which."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="it moves one cursor forward over events every projector has applied; unsafe when that would skip "
    "an attachment cleanup",
    detect=detect,
    reads=(*EVENTS, *CURSORS, *MESSAGES),
)
