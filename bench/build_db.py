"""Build the benchmark database: a realistic T3 Code state.sqlite with a million events.

One healthy template thread (~200 events: user messages, session states, streaming assistant
deltas, tool activities with realistic payloads, an approval, turn diffs) is played through
`T3Builder`, so its log and projections are exactly what the app writes. It is then replicated
with fresh ids and shifted timestamps (threads of a group of four run concurrently, so their
events interleave in the log), projector cursors are set to the head, and a few suspect
threads get a broken tail appended through `T3Builder` on the big database itself. A clean
shutdown marks every provider binding stopped. Finally the scan must report findings on the
suspect threads only, and the deep scan no undecodable event.

    python bench/build_db.py [--rebuild] [--threads 5000] [--suspects 50]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/build_db.py` from anywhere

from fixtures.t3code_builder import T3Builder  # noqa: E402
from threaddoctor.engine import scan  # noqa: E402
from threaddoctor.sources.t3code.ddl import migrate  # noqa: E402
from threaddoctor.sources.t3code.vocabulary import PROJECTORS  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "data" / "bench.sqlite"
MIGRATION = 41  # main-2026-08
RELEASE = "main-2026-08"
TEMPLATE_START = "2026-03-01T08:00:00.000Z"
REPLICA_START = "2026-03-01T09:00:00.000Z"
SEED = 2026  # the build is deterministic: same seed, same database
GROUP = 4  # threads running concurrently
STAGGER_MS = 7 * 60_000  # between the starts of threads in a group
GROUP_GAP_MS = 15 * 60_000  # between the end of a group and the next one
TITLE_MARKER = "@@TITLE@@"
TOOL_PAIRS = (6, 6, 5, 6, 5)  # tool started/completed pairs per turn: 200 events per thread
DELTAS = 10  # streaming deltas per assistant message

TITLES = (
    "Fix the flaky session store test",
    "Add retry to the provider client",
    "Refactor checkpoint diffs",
    "Migrate settings to the new schema",
    "Speed up the thread list",
    "Investigate the memory leak",
    "Add dark mode to the sidebar",
    "Write docs for the CLI",
    "Upgrade to Effect 3.12",
    "Split orchestration into modules",
    "Handle reconnects in the websocket",
    "Port the tests to vitest",
    "Clean up unused exports",
    "Add keyboard shortcuts",
    "Fix the Windows path bug",
    "Review the approval flow",
    "Make the build reproducible",
    "Add telemetry opt-out",
)

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
_TOKEN = re.compile(f"(?P<uuid>{_UUID})|(?P<time>{_TIME})|(?P<title>{re.escape(TITLE_MARKER)})")
_EPOCH = datetime(1970, 1, 1)


# ---- time -----------------------------------------------------------------------------------
def to_ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def from_ms(ms: int) -> str:
    """The app's format, YYYY-MM-DDTHH:MM:SS.mmmZ."""
    return f"{_EPOCH + timedelta(milliseconds=ms):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


# ---- the template thread --------------------------------------------------------------------
_PROSE = (
    "the session store keeps every thread in memory and flushes it to sqlite after each turn so "
    "the projector can replay events from the last cursor when the server restarts provider "
    "runtime binding reconnect checkpoint diff test suite fails because the mock clock never "
    "advances past the debounce window we should inject the clock and await the flush before "
    "asserting on the rows"
)


class Words:
    """Deterministic, realistic-looking text of a given size."""

    VOCAB = tuple(_PROSE.split())
    FILES = (
        "src/store.ts",
        "src/session/runtime.ts",
        "src/orchestration/projector.ts",
        "test/store.test.ts",
        "packages/contracts/src/orchestration.ts",
        "apps/web/src/Thread.tsx",
    )

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self, size: int) -> str:
        out: list[str] = []
        while sum(len(w) + 1 for w in out) < size:
            out.append(self.rng.choice(self.VOCAB))
        sentence = " ".join(out)
        return sentence[0].upper() + sentence[1:] + ". "

    def path(self) -> str:
        return self.rng.choice(self.FILES)

    def output(self, size: int) -> str:
        lines = [
            f"  {'✓' if self.rng.random() < 0.9 else '✗'} {self.text(self.rng.randint(30, 70))}"
            for _ in range(size // 60)
        ]
        return "\n".join(["> vitest run", *lines, f"Tests  {len(lines)} passed"])


def tool_payloads(w: Words, i: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(summary, started payload, completed payload) of a command or a file edit."""
    if i % 2:
        path = w.path()
        diff = "\n".join(f"+  {w.text(40)}" for _ in range(w.rng.randint(3, 8)))
        item = {"itemType": "file_change", "itemId": f"item_{i}", "title": f"Edit {path}"}
        return (
            f"Edit {path}",
            item | {"status": "inProgress", "changes": [{"path": path, "kind": "update"}]},
            item | {"status": "completed", "changes": [{"path": path, "kind": "update", "diff": diff}]},
        )
    command = f"pnpm vitest run {w.path()} --reporter=dot"
    item = {"itemType": "command_execution", "itemId": f"item_{i}", "title": "Ran command", "detail": command}
    started = item | {
        "status": "inProgress",
        "data": {"command": ["bash", "-lc", command], "cwd": "/home/dev/demo", "source": "agent"},
    }
    completed = item | {
        "status": "completed",
        "data": {
            "exitCode": 0,
            "durationMs": w.rng.randint(300, 9000),
            "aggregatedOutput": w.output(w.rng.randint(300, 900)),
        },
    }
    return "Ran command", started, completed


def play_reply(b: T3Builder, w: Words, turn: str, message: str) -> None:
    for _ in range(DELTAS):
        b.tick(w.rng.randint(40, 400))
        b.assistant_delta("t", turn, message, w.text(w.rng.randint(30, 220)))
    b.assistant_complete("t", turn, message)


def play_turn(b: T3Builder, w: Words, k: int) -> None:
    turn = f"turn-{k}"
    b.tick(w.rng.randint(60_000, 600_000))  # the user reads and types
    b.send_message("t", f"{turn}-user", w.text(1500 if k == 0 else w.rng.randint(120, 600)))
    b.session("t", "starting", None, origin="server", tag="turn-start")
    b.turn_started("t", turn)
    play_reply(b, w, turn, f"{turn}-reply-a")
    for i in range(TOOL_PAIRS[k]):
        summary, started, completed = tool_payloads(w, i)
        b.activity("t", turn, "tool.started", summary=summary, payload=started)
        b.tick(w.rng.randint(500, 20_000))
        b.activity("t", turn, "tool.completed", summary=summary, payload=completed)
    if k == 2:
        b.request_approval("t", turn, f"{turn}-approval")
        b.tick(w.rng.randint(2_000, 30_000))
        b.respond_approval("t", f"{turn}-approval", "accept")
        b.activity(
            "t",
            turn,
            "approval.resolved",
            tone="approval",
            summary="Approval resolved",
            payload={"decision": "accept"},
            request=f"{turn}-approval",
        )
    play_reply(b, w, turn, f"{turn}-reply-b")
    b.turn_completed("t", turn)
    b.turn_diff("t", turn, f"{turn}-reply-b")


@dataclass
class TemplateDb:
    path: Path
    thread_id: str
    project_id: str


def build_template(directory: Path) -> TemplateDb:
    b = T3Builder(directory / "template.sqlite", RELEASE, start=TEMPLATE_START, seed=SEED)
    project_id = b.create_project("t3code", "/home/dev/t3code")
    b.at(REPLICA_START)
    thread_id = b.create_thread("t", TITLE_MARKER)
    w = Words(SEED)
    for k in range(len(TOOL_PAIRS)):
        play_turn(b, w, k)
    b.stop_all()
    return TemplateDb(b.close(), thread_id, project_id)


# ---- templating rows ------------------------------------------------------------------------
@dataclass
class Slots:
    """Every uuid, timestamp and the title found in the template, each with a format key."""

    keep: set[str]
    uuids: dict[str, str] = field(default_factory=dict)  # template uuid -> key
    times: dict[str, int] = field(default_factory=dict)  # key -> template ms

    def key(self, m: re.Match[str]) -> str | None:
        text = m.group()
        if m.lastgroup == "title":
            return "title"
        if m.lastgroup == "time":
            k = f"t{to_ms(text)}"
            self.times.setdefault(k, to_ms(text))
            return k
        if text in self.keep:
            return None
        return self.uuids.setdefault(text, f"u{len(self.uuids)}")

    def values(self, rng: random.Random, shift_ms: int, title: str) -> dict[str, str]:
        """One replica's values: fresh (seeded v4) uuids, shifted timestamps, its title."""
        out = {k: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for k in self.uuids.values()}
        out.update((k, from_ms(ms + shift_ms)) for k, ms in self.times.items())
        out["title"] = title
        return out


@dataclass(frozen=True)
class RowTemplate:
    values: tuple[Any, ...]  # literal values, format strings at `slotted`
    slotted: tuple[int, ...]

    def render(self, values: dict[str, str]) -> list[Any]:
        out = list(self.values)
        for i in self.slotted:
            out[i] = out[i].format_map(values)
        return out


def templatize(row: tuple[Any, ...], slots: Slots) -> RowTemplate:
    out: list[Any] = []
    slotted: list[int] = []
    for i, value in enumerate(row):
        fmt = _format_string(value, slots) if isinstance(value, str) else None
        if fmt is None:
            out.append(value)
        else:
            out.append(fmt)
            slotted.append(i)
    return RowTemplate(tuple(out), tuple(slotted))


def _format_string(text: str, slots: Slots) -> str | None:
    parts: list[str] = []
    last, found = 0, False
    for m in _TOKEN.finditer(text):
        key = slots.key(m)
        if key is None:
            continue
        parts += [_escape(text[last : m.start()]), "{" + key + "}"]
        last, found = m.end(), True
    return "".join([*parts, _escape(text[last:])]) if found else None


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[RowTemplate]

    def sql(self, first: str | None = None, last: str | None = None) -> str:
        cols = [c for c in (first, *self.columns, last) if c]
        return f"INSERT INTO {self.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


@dataclass
class Template:
    head: dict[str, list[tuple[Any, ...]]]  # table -> rows copied as they are (the project)
    events: Table  # without `sequence`
    event_ms: list[int]  # occurred_at of each event, in ms
    receipts: Table  # without `result_sequence`
    receipt_event: list[int]  # the event (index into events) each receipt names
    tables: list[Table]  # the thread's projection and runtime rows
    slots: Slots
    thread_key: str  # format key of the thread id
    project_id: str
    start_ms: int
    span_ms: int


_SKIP_COLUMNS = {
    "orchestration_events": "sequence",
    "orchestration_command_receipts": "result_sequence",
    "projection_turns": "row_id",
}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    skip = _SKIP_COLUMNS.get(table)
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != skip]


def _table(conn: sqlite3.Connection, name: str, where: str, arg: str, slots: Slots) -> Table:
    cols = _columns(conn, name)
    rows = conn.execute(f"SELECT {', '.join(cols)} FROM {name} WHERE {where} ORDER BY rowid", (arg,))
    return Table(name, cols, [templatize(r, slots) for r in rows])


def _thread_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables with per-thread rows besides the log, the receipts and the thread row itself."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [
        n
        for n in names
        if n.startswith(("projection_thread_", "projection_turns", "projection_pending", "provider_", "checkpoint_"))
    ]


def load_template(db: TemplateDb) -> Template:
    conn = sqlite3.connect(db.path)
    slots = Slots(keep={db.project_id})
    head = {
        t: conn.execute(f"SELECT * FROM {t} WHERE {w}").fetchall()
        for t, w in (
            ("orchestration_events", "aggregate_kind = 'project'"),
            ("orchestration_command_receipts", "aggregate_kind = 'project'"),
            ("projection_projects", "1"),
        )
    }
    in_thread = "aggregate_kind = 'thread' AND stream_id = ?"
    events = _table(conn, "orchestration_events", in_thread, db.thread_id, slots)
    seq_ms = conn.execute(
        f"SELECT sequence, occurred_at FROM orchestration_events WHERE {in_thread} ORDER BY sequence", (db.thread_id,)
    ).fetchall()
    index = {seq: i for i, (seq, _) in enumerate(seq_ms)}
    receipts = _table(
        conn, "orchestration_command_receipts", "aggregate_kind = 'thread' AND aggregate_id = ?", db.thread_id, slots
    )
    receipt_event = [
        index[r[0]]
        for r in conn.execute(
            "SELECT result_sequence FROM orchestration_command_receipts WHERE aggregate_kind = 'thread' "
            "AND aggregate_id = ? ORDER BY rowid",
            (db.thread_id,),
        )
    ]
    tables = [
        _table(conn, t, "thread_id = ?", db.thread_id, slots) for t in ["projection_threads", *_thread_tables(conn)]
    ]
    conn.close()
    event_ms = [to_ms(at) for _, at in seq_ms]
    return Template(
        head,
        events,
        event_ms,
        receipts,
        receipt_event,
        [t for t in tables if t.rows],
        slots,
        slots.uuids[db.thread_id],
        db.project_id,
        event_ms[0],
        max(slots.times.values()) - event_ms[0],
    )


# ---- replication ----------------------------------------------------------------------------
@dataclass
class Replicator:
    conn: sqlite3.Connection
    template: Template
    next_sequence: int
    rng: random.Random = field(default_factory=lambda: random.Random(SEED + 2))
    thread_ids: list[str] = field(default_factory=list)
    last_at: str = ""
    _orders: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def run(self, threads: int, progress: Callable[[int], None]) -> None:
        t = self.template
        period = t.span_ms + (GROUP - 1) * STAGGER_MS + GROUP_GAP_MS
        base = to_ms(REPLICA_START) - t.start_ms
        for g, first in enumerate(range(0, threads, GROUP)):
            shifts = [base + g * period + j * STAGGER_MS for j in range(min(GROUP, threads - first))]
            self.group([t.slots.values(self.rng, s, _title(first + j)) for j, s in enumerate(shifts)])
            progress(first + len(shifts))

    def order(self, size: int) -> list[tuple[int, int]]:
        """(replica in group, template event) in log order when `size` staggered threads interleave."""
        if size not in self._orders:
            keys = sorted(
                (ms + j * STAGGER_MS, j, k) for j in range(size) for k, ms in enumerate(self.template.event_ms)
            )
            self._orders[size] = [(j, k) for _, j, k in keys]
        return self._orders[size]

    def group(self, replicas: list[dict[str, str]]) -> None:
        t = self.template
        rendered = [[row.render(v) for row in t.events.rows] for v in replicas]
        sequences = [[0] * len(t.events.rows) for _ in replicas]
        rows: list[tuple[Any, ...]] = []
        for seq, (j, k) in enumerate(self.order(len(replicas)), start=self.next_sequence):
            sequences[j][k] = seq
            rows.append((seq, *rendered[j][k]))
        self.next_sequence += len(rows)
        at = 1 + t.events.columns.index("occurred_at")  # after `sequence`
        self.last_at = max(self.last_at, rows[-1][at])
        self.conn.executemany(t.events.sql(first="sequence"), rows)
        receipts = [
            (*r.render(v), sequences[j][t.receipt_event[i]])
            for j, v in enumerate(replicas)
            for i, r in enumerate(t.receipts.rows)
        ]
        self.conn.executemany(t.receipts.sql(last="result_sequence"), receipts)
        for table in t.tables:
            self.conn.executemany(table.sql(), [row.render(v) for v in replicas for row in table.rows])
        self.thread_ids += [v[t.thread_key] for v in replicas]


def _title(i: int) -> str:
    return f"{TITLES[i % len(TITLES)]} #{i // len(TITLES) + 1}"


def copy_head(conn: sqlite3.Connection, template: Template) -> int:
    """The project's rows, as the template has them; returns the next free sequence."""
    for table, rows in template.head.items():
        for row in rows:
            conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in row)})", row)
    return 1 + max(r[0] for r in template.head["orchestration_events"])


def set_cursors(conn: sqlite3.Connection, sequence: int, at: str) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO projection_state (projector, last_applied_sequence, updated_at) VALUES (?, ?, ?)",
        [(p, sequence, at) for p in PROJECTORS],
    )


def replicate(path: Path, template: Template, threads: int) -> Replicator:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATION)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN")
    rep = Replicator(conn, template, copy_head(conn, template))
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 500 == 0 or done == threads:
            print(
                f"  {done:>6} threads, {rep.next_sequence - 1:>9} events, {time.perf_counter() - started:6.1f}s",
                flush=True,
            )

    rep.run(threads, progress)
    set_cursors(conn, rep.next_sequence - 1, rep.last_at)
    conn.execute("COMMIT")
    conn.close()
    return rep


# ---- suspect threads ------------------------------------------------------------------------
def _start_turn(b: T3Builder, t: str) -> str:
    turn = f"{t}-turn"
    b.tick(random.Random(t).randint(60_000, 3_600_000))
    b.send_message(t, f"{turn}-user", "Split the session store into modules and keep the tests green.")
    b.session(t, "starting", None, origin="server", tag="turn-start")
    b.turn_started(t, turn)
    b.assistant_delta(t, turn, f"{turn}-reply", "Looking at the store. ")
    return turn


def sticky_reconnect(b: T3Builder, t: str) -> None:
    """#313: "Reconnecting... 1/5" persisted as an error; the provider keeps working on the turn,
    and the follow-up message's pending turn is never promoted."""
    turn = _start_turn(b, t)
    b.assistant_complete(t, turn, f"{turn}-reply")
    b.activity(t, turn, "tool.started", summary="Edit src/store.ts")
    b.runtime_error(t, turn, "Reconnecting... 1/5")
    for i in range(3):
        b.tick(30_000)
        b.activity(t, turn, "tool.completed", summary=f"Edit module {i}")
        b.assistant_delta(t, turn, f"{turn}-reply-{i}", f"Moved part {i}. ")
        b.assistant_complete(t, turn, f"{turn}-reply-{i}")
    b.send_message(t, f"{t}-follow-up", "Also add tests for the new modules.")
    b.activity(t, turn, "tool.started", summary="Run the tests")


def running_without_provider(b: T3Builder, t: str) -> None:
    """A turn still running when the server shut down: the binding stops, the session does not."""
    _start_turn(b, t)


def approval_on_stopped_session(b: T3Builder, t: str) -> None:
    turn = _start_turn(b, t)
    b.assistant_complete(t, turn, f"{turn}-reply")
    b.request_approval(t, turn, f"{t}-approval")
    b.session(t, "stopped", None, origin="server", tag="session-stop")


def user_input_on_interrupted_session(b: T3Builder, t: str) -> None:
    turn = _start_turn(b, t)
    b.assistant_complete(t, turn, f"{turn}-reply")
    b.request_user_input(t, turn, f"{t}-question")
    b.interrupt(t, turn)
    b.session(t, "interrupted", None)


SUSPECTS: dict[str, Callable[[T3Builder, str], None]] = {
    "sticky-reconnect": sticky_reconnect,
    "running-without-provider": running_without_provider,
    "approval-on-stopped-session": approval_on_stopped_session,
    "user-input-on-interrupted-session": user_input_on_interrupted_session,
}


def add_suspects(path: Path, rep: Replicator, count: int) -> dict[str, str]:
    """Append a broken tail to `count` threads spread over the log; then a clean shutdown."""
    start = from_ms(to_ms(rep.last_at) + 86_400_000)
    b = T3Builder(path, RELEASE, start=start, seed=SEED + 1)  # other ids than the template's
    b.project_id = rep.template.project_id
    kinds = list(SUSPECTS)
    step = max(len(rep.thread_ids) // max(count, 1), 1)
    chosen: dict[str, str] = {}
    for n, i in enumerate(range(step // 2, len(rep.thread_ids), step)[:count]):
        alias, kind = f"suspect-{n}", kinds[n % len(kinds)]
        b.ids[alias] = rep.thread_ids[i]
        SUSPECTS[kind](b, alias)
        chosen[rep.thread_ids[i]] = kind
    b.tick(600_000)
    b.stop_all()
    b.close()
    return chosen


# ---- verification ---------------------------------------------------------------------------
def verify(path: Path, suspects: dict[str, str]) -> bool:
    ok = True
    for deep in (False, True):
        started = time.perf_counter()
        result = scan(path, deep=deep)
        seconds = time.perf_counter() - started
        by_rule = Counter(f.rule for f in result.findings)
        flagged = {f.thread_id for f in result.findings}
        stray = flagged - set(suspects)
        missed = set(suspects) - flagged
        print(
            f"scan(deep={deep}): {seconds:.1f}s, {result.events_decoded} events decoded, "
            f"{len(result.findings)} findings on {len(flagged)} threads: {dict(sorted(by_rule.items()))}"
        )
        for kind in SUSPECTS:
            rules = Counter(f.rule for f in result.findings if suspects.get(f.thread_id or "") == kind)
            print(f"    {kind:<34} {dict(sorted(rules.items()))}")
        problems = [
            (f"{len(stray)} finding thread(s) outside the suspects", bool(stray)),
            (f"{len(missed)} suspect(s) without a finding", bool(missed)),
            (f"{by_rule['T3013']} undecodable event(s)", by_rule["T3013"] > 0),
        ]
        for text, bad in problems:
            if bad:
                print(f"  FAIL: {text}")
                ok = False
    return ok


# ---- main -----------------------------------------------------------------------------------
def _remove(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)


def count_rows(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in (
                "orchestration_events",
                "projection_threads",
                "projection_thread_messages",
                "projection_thread_activities",
                "projection_turns",
            )
        }
    finally:
        conn.close()


def build(out: Path, threads: int, suspects: int) -> dict[str, Any]:
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    _remove(tmp)
    with tempfile.TemporaryDirectory() as scratch:
        template = load_template(build_template(Path(scratch)))
    print(
        f"template thread: {len(template.events.rows)} events, {len(template.slots.uuids)} ids, "
        f"{len(template.slots.times)} timestamps, span {template.span_ms / 60_000:.0f} min"
    )
    rep = replicate(tmp, template, threads)
    chosen = add_suspects(tmp, rep, suspects)
    _remove(out)
    tmp.rename(out)
    manifest = {
        "path": str(out),
        "threads": threads,
        "rows": count_rows(out),
        "suspects": chosen,
        "size_bytes": out.stat().st_size,
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="database to write (default: %(default)s)")
    p.add_argument("--threads", type=int, default=5000, help="threads (x 200 events; default %(default)s)")
    p.add_argument("--suspects", type=int, default=50, help="threads given a broken tail (default %(default)s)")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if the database exists")
    p.add_argument("--no-verify", action="store_true", help="skip the scan checks after building")
    p.add_argument("--verify", action="store_true", help="run the scan checks on an existing database")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    manifest_path = out.with_suffix(".json")
    if out.exists() and manifest_path.exists() and not args.rebuild:
        manifest = json.loads(manifest_path.read_text())
        print(
            f"{out} exists ({manifest['rows']['orchestration_events']} events, built in "
            f"{manifest['build_seconds']}s); use --rebuild to build it again"
        )
        return 0 if not args.verify or verify(out, manifest["suspects"]) else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = build(out, args.threads, args.suspects)
    print(f"built {out}: {manifest['rows']}, {manifest['size_bytes'] / 2**20:.0f} MiB, {manifest['build_seconds']}s")
    return 0 if args.no_verify or verify(out, manifest["suspects"]) else 1


if __name__ == "__main__":
    sys.exit(main())
