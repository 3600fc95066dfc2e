"""T3105 stable-history-not-in-v2."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.severity import FixSafety, Severity
from threaddoctor.sources.t3code.v2.vocabulary import RECOVER_V1

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


_THREADS = "SELECT thread_id, title, updated_at FROM projection_threads WHERE deleted_at IS NULL"
_COUNTS = (
    "SELECT thread_id, COUNT(*) FROM projection_thread_messages WHERE role IN ('user', 'assistant') GROUP BY thread_id"
)


def _v1_view(conn: sqlite3.Connection) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
    threads = {r[0]: (r[1], r[2]) for r in conn.execute(_THREADS)}
    return threads, {r[0]: r[1] for r in conn.execute(_COUNTS)}


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.findings import EvidenceItem
    from threaddoctor.sources.t3code.reader import open_readonly
    from threaddoctor.sources.t3code.v2.source import row_evidence

    stable = src.stable_file()
    if stable is None or not src.has("projection_threads") or not src.has("projection_thread_messages"):
        return
    try:
        snapshot = open_readonly(stable)
    except Exception:
        return  # an unreadable V1 file says nothing about V2
    try:
        now_threads, now_counts = _v1_view(snapshot.conn)
    except sqlite3.DatabaseError:
        return
    finally:
        snapshot.conn.close()
    copied_threads, copied_counts = _v1_view(src.conn)  # the frozen copy inside statev2.sqlite
    for tid, (title, updated) in sorted(now_threads.items(), key=lambda kv: kv[1][1]):
        if tid not in copied_threads:
            what = f"thread {title!r} was created in Stable after the copy"
        elif now_counts.get(tid, 0) > copied_counts.get(tid, 0):
            what = (
                f"{now_counts[tid] - copied_counts.get(tid, 0)} message(s) were written to it in Stable after the copy"
            )
        else:
            continue
        yield RULE.finding(
            src,
            thread_id=tid,
            subject=tid,
            message=f"{what} (last change {updated}); V2 copied state.sqlite once and never again, so this history "
            f"is only in {stable}: `{RECOVER_V1} --output NEW.sqlite` recovers it into a new V2 database (#15261)",
            since=updated,
            evidence=[
                EvidenceItem(kind="file", description=f"V1 file written after the copy: {stable}"),
                row_evidence(
                    "projection_threads",
                    {"thread_id": tid},
                    {
                        "in_copy": tid in copied_threads,
                        "messages_in_v1": now_counts.get(tid, 0),
                        "messages_in_copy": copied_counts.get(tid, 0),
                    },
                    "Stable's thread against its copy in statev2.sqlite",
                ),
            ],
        )


RULE = Rule(
    code="T3105",
    name="stable-history-not-in-v2",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="Stable (V1) history written to state.sqlite after V2's one-time copy never reaches V2",
    explanation=(
        "On its first start a V2 build copies state.sqlite to statev2.sqlite with SQLite's backup API, and "
        "never again (the copy exists). Threads and messages a Stable build writes to state.sqlite after that "
        "(switching back and forth between channels) are invisible in V2 (#15261). The rule compares "
        "state.sqlite's thread projections with the frozen V1 copy inside statev2.sqlite: threads created, "
        "and user/assistant messages added, since. The app's own way out is `t3 threads recover-v1`, which "
        "writes a new V2 database (--output) without touching either file; threaddoctor does not write this "
        "itself (re-copying or deleting statev2.sqlite would lose V2-only history)."
    ),
    fix_safety=FixSafety.none,
    fix_reason=f"the app's own recovery is `{RECOVER_V1} --output NEW.sqlite`; never re-copy or delete statev2.sqlite",
    detect=detect,
)
