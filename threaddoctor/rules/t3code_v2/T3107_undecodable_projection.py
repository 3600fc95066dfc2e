"""T3107 undecodable-projection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


_BAD = "(json_valid(payload_json) = 0 OR json_type(payload_json) != 'object')"


def _key_column(src: V2Source, table: str) -> str:
    row = src.conn.execute(f"SELECT name FROM pragma_table_info('{table}') WHERE pk = 1").fetchone()
    return row[0] if row else "rowid"


def _scope(src: V2Source, table: str) -> tuple[str, tuple[str, ...]]:
    """Which rows to check: every one with --deep; by default the threads' own rows (the app lists
    them) and every row of the threads start-up recovery reads, which is what the next start
    decodes (a full check costs about as much as reading the whole log)."""
    if src.deep or table == "orchestration_v2_projection_threads":
        return "", ()
    threads = tuple(sorted(src.recovery_threads()))
    if not threads:
        return " AND 0", ()
    return f" AND thread_id IN ({', '.join('?' for _ in threads)})", threads


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.sources.t3code.v2.source import row_evidence
    from threaddoctor.sources.t3code.v2.vocabulary import PAYLOAD_TABLES, THREAD_PROJECTIONS, V2_THREAD_EVENTS

    for table in PAYLOAD_TABLES:
        if not src.has(table):
            continue
        key = _key_column(src, table)
        scope, args = _scope(src, table)
        for r in src.rows(
            f"SELECT {key} AS k, thread_id, substr(payload_json, 1, 40) AS head FROM {table} WHERE {_BAD}{scope}", args
        ):
            yield RULE.finding(
                src,
                thread_id=r["thread_id"],
                subject=f"{table}:{r['k']}",
                message=f"{table} row {r['k']} holds a payload that does not decode ({r['head']!r}): the app "
                "counts the thread unreadable (ProjectionMaintenanceV2.verify fails) and recovery skips the row",
                evidence=[
                    row_evidence(table, {key: r["k"]}, {"payload_json": r["head"]}, "payload_json is not a JSON object")
                ],
            )
    # Events the projections have not applied yet are decoded at the app's next projection.
    cursor = src.projection_cursor()
    after = cursor["last_sequence"] if cursor else 0
    for e in src.rows(
        f"SELECT sequence, stream_id, event_type, substr(payload_json, 1, 40) AS head FROM orchestration_events "
        f"WHERE {V2_THREAD_EVENTS} AND sequence > ? AND {_BAD}",
        (after,),
    ):
        yield RULE.finding(
            src,
            thread_id=e["stream_id"],
            subject=f"event:{e['sequence']}",
            message=f"V2 event {e['sequence']} ({e['event_type']}) above the {THREAD_PROJECTIONS} cursor holds a "
            f"payload that does not decode ({e['head']!r})",
            evidence=[],
        )


RULE = Rule(
    code="T3107",
    name="undecodable-projection",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="A V2 projection row (or an unprojected V2 event) holds a payload that does not decode",
    explanation=(
        "Every V2 projection row keeps its entity in payload_json, and the app decodes it whenever it reads "
        "the thread. A payload that is not a JSON object makes the thread unreadable: "
        "ProjectionMaintenanceV2.verify reports it, and start-up recovery skips just that row (the thread's "
        "other rows are still recovered). The rule checks, with SQLite's json_valid, the payloads the next "
        "start decodes: every thread row, every row of the threads recovery reads (a run not settled, a "
        "pending request, live background work), and the V2 events above the projection cursor; a deep read "
        "(open_v2(path, ReadOptions(deep=True))) checks every projection row. It checks JSON only, not the app's full V2 schema. Report only: the payload's true content is lost, and no rewrite is established."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the original payload cannot be recovered from the database; restore the row from a backup",
    detect=detect,
)
