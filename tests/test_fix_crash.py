"""Killing `fix` at random points leaves exactly the pre-fix or the post-fix database."""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.t3code_scenarios import add_healthy_threads, issue_313
from threaddoctor.fix import run as fix_run

RUNS = 100
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_NOW = re.compile(re.escape(datetime.now(UTC).strftime("%Y-%m-%d")) + r"T\d\d:\d\d:\d\d\.\d{3}Z")


def content(db: Path) -> dict[str, list[str]]:
    """Every table's rows; what a repair generates afresh each time (ids, now) is normalised."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for t in tables:
            rows = []
            for r in conn.execute(f"SELECT * FROM {t}"):
                text = _NOW.sub("<now>", repr(r))
                rows.append(_UUID.sub("<id>", text) if "server:threaddoctor:" in text else text)
            out[t] = sorted(rows)
        return out
    finally:
        conn.close()


def _fix(path: str) -> None:
    fix_run.fix(Path(path))
    os._exit(0)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_sigkill_at_random_points(tmp_path) -> None:
    template = tmp_path / "template.sqlite"
    b = issue_313(template, release="main-2026-08")
    add_healthy_threads(b, 6)
    b.close()
    pre = content(template)
    ctx = multiprocessing.get_context("fork")
    # The kill window is how long a whole child run takes, measured on unkilled children.
    timings = []
    for k in range(3):
        reference = tmp_path / f"reference{k}" / "state.sqlite"
        reference.parent.mkdir()
        shutil.copy(template, reference)
        started = time.perf_counter()
        child = ctx.Process(target=_fix, args=(str(reference),))
        child.start()
        child.join()
        timings.append(time.perf_counter() - started)
    duration = max(timings)
    post = content(reference)
    assert post != pre

    rng = random.Random(20261121)
    seen = {"pre": 0, "post": 0}
    for i in range(RUNS):
        db = tmp_path / f"run{i}" / "state.sqlite"
        db.parent.mkdir()
        shutil.copy(template, db)
        child = ctx.Process(target=_fix, args=(str(db),))
        child.start()
        time.sleep(rng.uniform(0, duration * 1.3))
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
        child.join()
        conn = sqlite3.connect(db)  # recovers the WAL like the app's next open would
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"run {i}"
        conn.close()
        state = content(db)
        assert state in (pre, post), f"run {i}: neither the pre-fix nor the post-fix state"
        seen["pre" if state == pre else "post"] += 1
        shutil.rmtree(db.parent)
    assert seen["pre"] and seen["post"], seen  # kill points landed on both sides of the commit
