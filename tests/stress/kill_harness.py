"""SIGKILL `threaddoctor fix` at uniformly random instants and judge what it leaves.

Each kill runs on a fresh copy of a small input. The fix is the library's, which `threaddoctor fix`
calls, run in a child forked from this process (it inherits the imports, so a kill costs no
interpreter start, and the child does every read, write, fsync and rename a `threaddoctor fix`
process does). The child is
killed after a delay drawn uniformly from [0, the longest of several unkilled runs x 1.2), so kills
land anywhere in the run, start to exit; a child that finished first is judged too but not counted
as a kill. After each kill:

- a database passes `PRAGMA integrity_check`;
- the target is exactly its pre-fix content, or the post-fix content (ids and times the repair
  generates normalised);
- every backup is complete (the pre-fix content) and mode 0600; every journal entry parses;
  only files under the temporary suffix may be incomplete, and the next `fix` removes them;
- the journal agrees with the target: for a log, the newest live entry's hash is the file's when
  it is post-fix, and no entry claims a pre-fix file; `undo` then restores the pre-fix content
  exactly or says there is nothing to undo (every other kill), and a second `fix` completes the
  repair (every kill), after which `undo` gives the pre-fix content back.

Anything else is counted as `other`, with what was wrong, and fails the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from threaddoctor.errors import ThreadDoctorError
from threaddoctor.fix import journal

ROOT = Path(__file__).resolve().parents[2]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TODAY = datetime.now(UTC).strftime("%Y-%m-%d")
_NOW = re.compile(re.escape(_TODAY) + r"T\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_EPOCH = re.compile(r"\b1[7-9]\d{8}(?:\.\d+)?\b")  # seconds since 1970, as some logs write times
_OLD = 3600  # seconds: copies are dated back, or the file repair takes them for a live agent's


def db_content(db: Path) -> dict[str, list[str]]:
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


def _appended(text: bytes) -> str:
    """Records a repair appended, with the ids and times it generates normalised."""
    return _EPOCH.sub("<t>", _NOW.sub("<now>", _UUID.sub("<id>", text.decode("utf-8", "replace"))))


@dataclass
class Scenario:
    """One repair to kill: how to make its input in a folder, and where the target is."""

    name: str
    make: Callable[[Path], Path]  # builds the input in a folder, returns the target
    database: bool

    def fresh(self, template: Path, folder: Path) -> Path:
        shutil.copytree(template, folder)
        target = folder / self.target_name
        if not self.database:
            os.utime(target, (time.time() - _OLD, time.time() - _OLD))
        return target

    target_name: str = ""


@dataclass
class Counts:
    kills: int = 0
    finished: int = 0  # the child ended before its kill: judged, not counted as a kill
    pre: int = 0
    post: int = 0
    other: int = 0
    temporaries: int = 0  # kills that left a file under the temporary suffix (removed by the next fix)
    problems: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"{name}: kills {self.kills}, pre {self.pre}, post {self.post}, other {self.other} "
            f"(finished before the kill {self.finished}; temporaries left {self.temporaries})"
        )


def t3_database(mode: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        from fixtures.t3code_scenarios import add_healthy_threads, issue_313

        db = folder / "state.sqlite"
        b = issue_313(db, release="main-2026-08")
        add_healthy_threads(b, 2)
        b.close()
        conn = sqlite3.connect(db)
        assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0].lower() == mode.lower()
        conn.close()
        return db

    return make


def recorded_log(relative: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        source = ROOT / "fixtures" / relative
        target = folder / source.name
        shutil.copyfile(source, target)
        return target

    return make


SCENARIOS = [
    Scenario("t3code-wal", t3_database("WAL"), True),
    Scenario("t3code-rollback-journal", t3_database("DELETE"), True),
    Scenario(
        "claude-transcript",
        recorded_log("claude/recorded/kill_during_tool/dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"),
        False,
    ),
    Scenario(
        "codex-rollout",
        recorded_log(
            "codex/recorded/killed_during_stream/rollout/2026/11/21/"
            "rollout-2026-11-21T06-32-27-01a1fcce-6680-7fd3-bdac-b9c0ce29e5c8.jsonl"
        ),
        False,
    ),
    Scenario(
        "connectonion-sessions",
        recorded_log("connectonion/recorded/d_host_killed_then_restarted/session_results.before_restart.jsonl"),
        False,
    ),
]


def _child(scenario: Scenario, target: Path, breaker: Callable[[], None] | None) -> None:
    """The forked child: the library's fix, as `threaddoctor fix TARGET` calls it."""
    code = 0
    try:
        if breaker is not None:
            breaker()
        _library_fix(scenario, target)
    except ThreadDoctorError:
        code = 2
    except BaseException:
        code = 3
    os._exit(code)


def _run_child(
    scenario: Scenario, target: Path, delay: float | None, breaker: Callable[[], None] | None
) -> tuple[bool, float, int]:
    """(killed, seconds, exit status) of one child, killed after `delay` (None: never)."""
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(scenario, target, breaker)
    if delay is not None:
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # gone already: reaped below
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - started
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return killed, seconds, os.waitstatus_to_exitcode(status)


class Judge:
    """What a scenario's pre-fix and post-fix states are, and which one a killed run left."""

    def __init__(self, scenario: Scenario, template: Path, reference: Path) -> None:
        self.scenario = scenario
        original = template / scenario.target_name
        self.original_bytes = original.read_bytes()
        if scenario.database:
            self.pre_db, self.post_db = db_content(original), db_content(reference)
            assert self.post_db != self.pre_db, "the reference fix changed nothing"
        else:
            repaired = reference.read_bytes()
            assert repaired.startswith(self.original_bytes) and len(repaired) > len(self.original_bytes)
            self.post_tail = _appended(repaired[len(self.original_bytes) :])

    def state(self, target: Path) -> str:
        if self.scenario.database:
            content = db_content(target)
            return "pre" if content == self.pre_db else "post" if content == self.post_db else "other"
        data = target.read_bytes()
        if data == self.original_bytes:
            return "pre"
        if data.startswith(self.original_bytes) and _appended(data[len(self.original_bytes) :]) == self.post_tail:
            return "post"
        return "other"

    def backup_ok(self, backup: Path) -> bool:
        if stat.S_IMODE(backup.stat().st_mode) != 0o600:
            return False
        if self.scenario.database:
            conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
            try:
                ok = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            finally:
                conn.close()
            return ok and db_content(backup) == self.pre_db
        return backup.read_bytes() == self.original_bytes


def _traces(scenario: Scenario, target: Path, home: Path) -> Path:
    """The folder the repair keeps its backups and journal in."""
    if scenario.database:
        return target.parent / f"{target.name}.threaddoctor"
    from threaddoctor.fix.files import state_folder

    os.environ["THREADDOCTOR_HOME"] = str(home)
    return state_folder(target)


def _check_traces(judge: Judge, target: Path, traces: Path, state: str) -> tuple[list[str], bool]:
    """Problems with the backups and journal a kill left, and whether it left temporaries."""
    problems, temporaries = [], False
    for path in sorted(traces.rglob("*")) if traces.is_dir() else []:
        if path.is_dir():
            continue
        if journal.TEMPORARY in path.name:
            temporaries = True
        elif path.name.startswith("backup-"):
            if not judge.backup_ok(path):
                problems.append(f"backup {path.name} incomplete, not the pre-fix content, or not mode 0600")
        elif path.parent.name == "journal" and path.suffix == ".json":
            try:
                json.loads(path.read_text())
            except ValueError:
                problems.append(f"journal entry {path.name} is half-written")
        elif not path.name.endswith(("-wal", "-shm", "-journal")):
            problems.append(f"unexpected file {path}")
    for stray in target.parent.glob(f".{target.name}*"):
        if stray.name.endswith(journal.TEMPORARY):
            temporaries = True
        else:
            problems.append(f"unexpected file {stray.name} beside the target")
    if not judge.scenario.database:
        problems += _file_journal_agrees(target, traces, state)
    return problems, temporaries


def _file_journal_agrees(target: Path, traces: Path, state: str) -> list[str]:
    from threaddoctor.fix.files import FileJournal, _sha256

    entries = sorted(
        (FileJournal.model_validate_json(p.read_text()) for p in (traces / "journal").glob("*.json")),
        key=lambda e: e.repair_id,
    )
    now = _sha256(target)
    if state == "post" and not (entries and entries[-1].after_sha256 == now):
        return ["the file is repaired but no journal entry records it"]
    if state == "pre" and any(e.after_sha256 == now for e in entries):
        return ["a journal entry claims a repair the file does not have"]
    return []


def _library_fix(scenario: Scenario, target: Path) -> None:
    if scenario.database:
        from threaddoctor.fix import run as fix_run

        fix_run.fix(target)
    else:
        from threaddoctor.fix.files import repair_file
        from threaddoctor.sources.detect import kind_of

        report = repair_file(target, kind_of(target))
        if report.problems:
            raise AssertionError(f"second fix: {report.problems}")


def _library_undo(scenario: Scenario, target: Path) -> None:
    if scenario.database:
        from threaddoctor.fix import run as fix_run

        fix_run.undo(target)
    else:
        from threaddoctor.fix.files import undo_file

        undo_file(target)


_NOTHING_TO_UNDO = ("no repair to undo", "nothing to undo")


def _afterwards(
    judge: Judge, scenario: Scenario, target: Path, traces: Path, state: str, undo_first: bool
) -> list[str]:
    """Undo (every other kill) then a second fix, then undo: each must do what the state says."""
    problems = []
    if undo_first:
        try:
            _library_undo(scenario, target)
            if state == "pre":
                problems.append("undo did something although the repair had not landed")
        except ThreadDoctorError as e:
            if state == "post" or not any(s in str(e) for s in _NOTHING_TO_UNDO):
                problems.append(f"undo refused: {e}")
        if judge.state(target) != "pre":
            problems.append("after undo the target is not the pre-fix content")
        state = "pre"
    if not scenario.database:  # two minutes on, as a person runs it again: not a file being written
        os.utime(target, (time.time() - _OLD, time.time() - _OLD))
    try:
        _library_fix(scenario, target)
    except ThreadDoctorError as e:
        return [*problems, f"a second fix refused: {e}"]
    if judge.state(target) != "post":
        return [*problems, "a second fix did not complete the repair"]
    if any(journal.TEMPORARY in p.name for p in traces.rglob("*")) or any(target.parent.glob(f".{target.name}*")):
        problems.append("the second fix left temporary files")
    try:
        _library_undo(scenario, target)
    except ThreadDoctorError as e:
        return [*problems, f"undo after the second fix refused: {e}"]
    if judge.state(target) != "pre":
        problems.append("undo after the second fix did not restore the pre-fix content")
    return problems


def run_scenario(
    scenario: Scenario,
    work: Path,
    kills: int,
    seed: int = 20261204,
    breaker: Callable[[], None] | None = None,
    max_attempts: int | None = None,
) -> Counts:
    """Kill the scenario's fix until `kills` kills landed (or `max_attempts` runs), judging each."""
    template = work / f"{scenario.name}-template"
    template.mkdir(parents=True)
    scenario.target_name = scenario.make(template).name
    rng = random.Random(seed)
    # Warm this process's caches (rules, contracts) as a running `threaddoctor` has them, so the
    # children's runs are all alike; then the kill window: the longest of several unkilled runs.
    warm = scenario.fresh(template, work / f"{scenario.name}-warm")
    _traces(scenario, warm, work / f"{scenario.name}-home-warm")
    _library_fix(scenario, warm)
    _library_undo(scenario, warm)
    durations, reference = [], None
    for k in range(4):
        target = scenario.fresh(template, work / f"{scenario.name}-reference{k}")
        _traces(scenario, target, work / f"{scenario.name}-home-reference{k}")
        killed, seconds, status = _run_child(scenario, target, None, None)
        assert not killed and status in (0, 1), f"{scenario.name}: an unkilled fix exited {status}"
        durations.append(seconds)
        reference = target
    window = max(durations) * 1.2
    judge = Judge(scenario, template, reference)
    counts = Counts()
    attempts = 0
    while counts.kills < kills and (max_attempts is None or attempts < max_attempts):
        attempts += 1
        folder = work / f"{scenario.name}-run"
        home = work / f"{scenario.name}-home"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        target = scenario.fresh(template, folder)
        traces = _traces(scenario, target, home)
        killed, _, _ = _run_child(scenario, target, rng.uniform(0, window), breaker)
        if killed:
            counts.kills += 1
        else:
            counts.finished += 1
        problems = []
        if scenario.database:
            conn = sqlite3.connect(target)  # recovers a hot journal or the WAL, as the app's next open would
            try:
                if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                    problems.append("integrity_check failed")
            finally:
                conn.close()
        state = judge.state(target)
        trace_problems, temporaries = _check_traces(judge, target, traces, state)
        problems += trace_problems
        counts.temporaries += temporaries
        if state != "other" and not problems:
            try:
                problems += _afterwards(judge, scenario, target, traces, state, undo_first=attempts % 2 == 0)
            except (ThreadDoctorError, AssertionError) as e:
                problems.append(f"after the kill ({'undo, then fix' if attempts % 2 == 0 else 'fix'}): {e}")
        if state == "other" or problems:
            counts.other += 1
            counts.problems.append(f"run {attempts} ({state}): " + "; ".join(problems or ["neither pre nor post"]))
        elif killed:
            setattr(counts, state, getattr(counts, state) + 1)
    return counts
