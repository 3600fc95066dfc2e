"""Build the Orchestration V2 benchmark home: bench/data/v2home/userdata/statev2.sqlite (about
1M V2 events, git-ignored) beside the Stable state.sqlite it was copied from.

A template home is played through `fixtures.t3code_v2_builder.V2Builder`, so its events and
projections are what the app writes: a Stable thread copied and imported; a healthy V2 thread of
thirteen runs (user message, run, attempt, node, provider session/thread/turn, assistant reply), one
with an answered approval; two suspects, a question answerable only by a message and background
work cancelled by a restart; then a crash and the start-up reconcile. The V2 threads are replicated
with fresh ids (every id inside every column and payload rewritten), 1% of them suspects, and the
`thread-projections` cursor is set at the head. (Command receipts are copied with the
template's result_sequence; no rule reads it.)

    python bench/build_v2_db.py [--threads 5000] [--rebuild]
    python bench/scan_bench.py bench/data/v2home/userdata/statev2.sqlite
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.t3code_v2_builder import V2Builder  # noqa: E402
from threaddoctor.sources.t3code.v2.vocabulary import THREAD_PROJECTIONS, V2_THREAD_EVENTS  # noqa: E402

DEFAULT_HOME = ROOT / "bench" / "data" / "v2home"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SUSPECT_EVERY = 100  # 1% of the threads


def build_template(home: Path) -> V2Builder:
    b = V2Builder(home)
    b.stable_thread("stable", turns=2)
    b.create_thread("healthy")
    for k in range(13):
        b.start_run("healthy", f"h{k}", text="Please fix the failing test. " * 20)
        if k == 3:
            b.request("healthy", f"h{k}", f"h{k}-approval")
            b.resolve_request("healthy", f"h{k}-approval")
        b.complete_run("healthy", f"h{k}")
    b.create_thread("ask")
    b.start_run("ask", "a")
    b.request("ask", "a", "a-question", capability="message")
    b.create_thread("bg")
    b.start_run("bg", "b")
    b.background_task("bg", "b", "b-item")
    b.crash()
    b.restart()
    b.close()
    return b


def thread_rows(conn: sqlite3.Connection, thread_id: str) -> dict[str, list[tuple]]:
    """Every row of one V2 thread: its events (sequence left for the copy to assign) and projection rows."""
    out: dict[str, list[tuple]] = {}
    cols = [r[1] for r in conn.execute("PRAGMA table_info('orchestration_events')") if r[1] != "sequence"]
    out["orchestration_events"] = conn.execute(
        f"SELECT {', '.join(cols)} FROM orchestration_events WHERE {V2_THREAD_EVENTS} AND stream_id = ? ORDER BY sequence",
        (thread_id,),
    ).fetchall()
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'orchestration_v2_%'")
    ]
    for t in [*tables, "orchestration_command_receipts"]:
        names = [r[1] for r in conn.execute(f"PRAGMA table_info('{t}')")]
        key = "thread_id" if "thread_id" in names else "aggregate_id" if "aggregate_id" in names else None
        if key:
            out[t] = conn.execute(f"SELECT * FROM {t} WHERE {key} = ?", (thread_id,)).fetchall()
    return out


def replica(rows: dict[str, list[tuple]], rng: random.Random) -> dict[str, list[tuple]]:
    fresh: dict[str, str] = {}

    def new(m: re.Match[str]) -> str:
        return fresh.setdefault(m.group(0), str(uuid.UUID(int=rng.getrandbits(128), version=4)))

    return {t: [tuple(UUID.sub(new, v) if isinstance(v, str) else v for v in r) for r in rs] for t, rs in rows.items()}


def insert(conn: sqlite3.Connection, rows: dict[str, list[tuple]]) -> None:
    for table, rs in rows.items():
        if not rs:
            continue
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
        if table == "orchestration_events":
            cols = [c for c in cols if c != "sequence"]
        marks = ", ".join("?" for _ in cols)
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rs)


def build(home: Path, threads: int) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        template = build_template(Path(tmp) / "template")
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(template.home, home)
        ids = template.ids
        conn = sqlite3.connect(home / "userdata" / "statev2.sqlite", isolation_level=None)
        kinds = {k: thread_rows(conn, ids[k]) for k in ("healthy", "ask", "bg")}
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(20261)  # not the template's seed (313): its ids would come back
    suspects = {"ask": 0, "bg": 0}
    conn.execute("BEGIN")
    for i in range(threads - 3):
        kind = "healthy" if (i + 1) % SUSPECT_EVERY else ("ask", "bg")[(i // SUSPECT_EVERY) % 2]
        if kind != "healthy":
            suspects[kind] += 1
        insert(conn, replica(kinds[kind], rng))
        if i % 500 == 499:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    head = conn.execute(f"SELECT MAX(sequence) FROM orchestration_events WHERE {V2_THREAD_EVENTS}").fetchone()[0]
    conn.execute(
        "UPDATE orchestration_v2_projection_metadata SET last_sequence = ? WHERE projection_name = ?",
        (head, THREAD_PROJECTIONS),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    events = conn.execute("SELECT COUNT(*) FROM orchestration_events").fetchone()[0]
    conn.close()
    return {
        "events": events,
        "threads": threads,
        "suspects": {k: v + 1 for k, v in suspects.items()},  # the template's own
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--home", type=Path, default=DEFAULT_HOME)
    p.add_argument("--threads", type=int, default=5000)
    p.add_argument("--rebuild", action="store_true", help="build again even if the home exists")
    args = p.parse_args()
    db = args.home / "userdata" / "statev2.sqlite"
    if db.exists() and not args.rebuild:
        print(f"{db} exists (pass --rebuild to build it again)")
        return 0
    info = build(args.home, args.threads)
    (args.home.parent / "bench-v2.json").write_text(json.dumps(info, indent=2))
    print(f"built {db}: {json.dumps(info)}")
    from threaddoctor import scan

    result = scan(db)
    by_rule: dict[str, int] = {}
    for f in result.findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    print(f"scan: {by_rule} in {result.seconds:.2f}s")
    expected = {"T3102": info["suspects"]["ask"], "T3103": info["suspects"]["bg"]}
    if by_rule != expected:
        print(f"expected {expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
