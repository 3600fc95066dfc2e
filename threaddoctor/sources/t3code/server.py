"""Whether a T3 Code server holds a database: the `server-runtime.json` it keeps beside it.

The server writes `{version: 1, pid, host?, port, origin, devUrl?, startedAt}` to
`<state dir>/server-runtime.json` once it listens and removes the file on a clean shutdown
(`serverRuntimeState.ts`, read in the fork mirror at 2e1d98d98; present since 2026-04-10, #1871,
i.e. from v0.0.17 on). A server killed (SIGKILL, a crash, power loss) leaves the file behind with a
dead pid, which is what `t3 triage` calls "the state file is stale" (its own check is the same:
the pid alone). A pid another process reused reads as a live server: the side that judges and
writes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

RUNTIME_FILE = "server-runtime.json"


@dataclass(frozen=True)
class ServerState:
    runtime_file: Path
    recorded: bool  # the file exists and names a pid
    pid: int | None = None
    started_at: str | None = None
    alive: bool = False
    why: str = ""  # one phrase: what the file says about the server

    @property
    def live(self) -> bool:
        return self.recorded and self.alive


def server_state(db: Path) -> ServerState:
    runtime = db.parent / RUNTIME_FILE
    try:
        record = json.loads(runtime.read_text())
        pid = int(record["pid"])
    except FileNotFoundError:
        return ServerState(
            runtime, False, why=f"no {RUNTIME_FILE} beside it (the server quit cleanly, or this is a copy)"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return ServerState(
            runtime, False, why=f"{RUNTIME_FILE} beside it is unreadable (the app treats that as not running)"
        )
    started = record.get("startedAt") if isinstance(record.get("startedAt"), str) else None
    if pid <= 0 or not _alive(pid):
        return ServerState(
            runtime,
            True,
            pid,
            started,
            False,
            f"{RUNTIME_FILE} names pid {pid}, which is dead (the server was killed or crashed)",
        )
    return ServerState(
        runtime,
        True,
        pid,
        started,
        True,
        f"T3 Code's server runs on it (pid {pid}, started {started or 'at an unknown time'})",
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True
