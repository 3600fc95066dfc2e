"""Where T3 Code keeps its database (reference t3code-state.md §1.1)."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "state.sqlite"
V2_DB_NAME = "statev2.sqlite"  # Orchestration V2 (reference t3code-today.md §4.1)


def base_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    home = env.get("T3CODE_HOME", "").strip()
    return Path(home).expanduser().resolve() if home else Path.home() / ".t3"


def candidate_paths(env: dict[str, str] | None = None) -> list[Path]:
    """Where to look, most likely first: `userdata`, then the dev state dir, then the
    pre-#826 `T3CODE_STATE_DIR` override."""
    env = dict(os.environ) if env is None else env
    base = base_dir(env)
    paths = [base / "userdata" / DB_NAME, base / "dev" / DB_NAME]
    legacy = env.get("T3CODE_STATE_DIR", "").strip()
    if legacy:
        paths.insert(0, Path(legacy).expanduser().resolve() / DB_NAME)
    return paths


def default_database(env: dict[str, str] | None = None) -> Path | None:
    """The database the installed app uses: `statev2.sqlite` beside `state.sqlite` when an
    Orchestration V2 build uses it (v2/home.py tells), else `state.sqlite`."""
    from threaddoctor.sources.t3code.v2.home import choose

    for p in candidate_paths(env):
        if p.is_file() or p.with_name(V2_DB_NAME).is_file():
            choice = choose(p.parent)
            return choice.path if choice else p
    return None
