"""Where T3 Code keeps its database (reference t3code-state.md §1.1)."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "state.sqlite"


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
    return next((p for p in candidate_paths(env) if p.is_file()), None)
