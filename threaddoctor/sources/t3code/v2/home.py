"""Which of a T3 Code home's two databases the installed app uses (reference t3code-today.md §4.1).

A V2 build copies `userdata/state.sqlite` once to `userdata/statev2.sqlite` and from then on
reads and writes only the copy; a Stable (V1) build goes on using `state.sqlite`. So with both
files present the live one is told by: the V2 file's ledger (a V2 build ran on it), the server
recorded in `server-runtime.json` (a live server writes its file after its start), and which file,
`-wal` included, was written last. Only file names and modification times are read here, so
working it out costs a few `stat` calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from threaddoctor.sources.t3code.v2.vocabulary import FILE_NAME, RECOVER_V1, RUNTIME_FILE, V1_FILE_NAME


@dataclass
class Choice:
    """The file to scan, and what to tell the user about the other one."""

    path: Path
    notes: list[str] = field(default_factory=list)
    stale_v1: Path | None = None  # state.sqlite left behind while V2 is live


def last_write(db: Path) -> float:
    """The newest modification time of a database and its `-wal`."""
    times = [p.stat().st_mtime for p in (db, Path(f"{db}-wal")) if p.exists()]
    return max(times, default=0.0)


def _userdata(folder: Path) -> Path | None:
    for candidate in (folder, folder / "userdata", folder / "dev"):
        if (candidate / V1_FILE_NAME).is_file() or (candidate / FILE_NAME).is_file():
            return candidate
    return None


def _v2_ledger(db: Path) -> bool:
    from threaddoctor.sources.t3code.reader import open_readonly
    from threaddoctor.sources.t3code.v2.generation import database_is_v2

    try:
        snapshot = open_readonly(db)
    except Exception:
        return False
    try:
        return database_is_v2(snapshot.conn)
    except Exception:
        return False
    finally:
        snapshot.conn.close()


def _server_start(userdata: Path) -> float | None:
    """When the live server recorded in server-runtime.json started (None: no live server)."""
    from datetime import datetime

    from threaddoctor.fix.guard import running_server_pid

    if running_server_pid(userdata / V1_FILE_NAME) is None:
        return None
    try:
        started = json.loads((userdata / RUNTIME_FILE).read_text())["startedAt"]
        return datetime.fromisoformat(str(started).replace("Z", "+00:00")).timestamp()
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def v2_is_live(userdata: Path) -> bool:
    """True when the installed app is a V2 build using statev2.sqlite beside state.sqlite."""
    v1, v2 = userdata / V1_FILE_NAME, userdata / FILE_NAME
    if not v2.is_file() or not _v2_ledger(v2):
        return False
    if not v1.is_file():
        return True
    started = _server_start(userdata)
    v1_at, v2_at = last_write(v1), last_write(v2)
    if started is not None and (v1_at >= started) != (v2_at >= started):
        return v2_at >= started  # the live server writes the file it uses
    return v2_at >= v1_at


def choose(path: Path) -> Choice | None:
    """For a T3 home, its `userdata` folder or one of its two databases: the file the app uses.
    None when `path` is none of these (an agent's log, an export, some other folder)."""
    folder = path if path.is_dir() else path.parent
    if not path.is_dir() and path.name not in (V1_FILE_NAME, FILE_NAME):
        return None
    userdata = _userdata(folder)
    if userdata is None:
        return None
    v1, v2 = userdata / V1_FILE_NAME, userdata / FILE_NAME
    if not v2.is_file():
        return Choice(v1) if path.is_dir() else None
    live = v2_is_live(userdata)
    if not live:
        if not v1.is_file():
            return Choice(v2) if path.is_dir() else None
        target = v1 if path.is_dir() else path
        why = "it has no Orchestration V2 ledger" if not _v2_ledger(v2) else "state.sqlite was written after it"
        return Choice(target, [f"{v2} is not the file in use ({why}): the installed app is a Stable (V1) build"])
    if not v1.is_file():
        return Choice(v2)
    notes = [
        f"{v1} is the V1 file left behind: T3 Code (Orchestration V2) copied it once to {v2.name} and uses "
        f"only that; history written to it since does not reach V2 ({RECOVER_V1} recovers it)"
    ]
    if path.is_dir() or path.name == FILE_NAME:
        return Choice(v2, [f"scanning {v2}: the installed T3 Code is an Orchestration V2 build", *notes], v1)
    return Choice(path, notes, v1)


def resolve(path: Path) -> tuple[Path, list[str]]:
    """The file to scan for `path`, and the notes about its sibling (none for other files)."""
    choice = choose(Path(path).expanduser())
    return (choice.path, choice.notes) if choice else (path, [])


def stale_v1_reason(db: Path) -> str | None:
    """Why `db` must not be written: it is the V1 state.sqlite of a home whose app uses V2."""
    if db.name != V1_FILE_NAME or not v2_is_live(db.parent):
        return None
    return (
        f"{db} is the V1 file left behind: T3 Code uses {db.parent / FILE_NAME} (Orchestration V2), so a repair "
        f"here would change nothing the app reads; scan and fix {FILE_NAME} instead"
    )
