"""Where each agent keeps its state by default, for `threaddoctor scan` without a path.

T3 Code: $T3CODE_HOME (default ~/.t3)/userdata/state.sqlite (reference t3code-state.md §1.1).
Codex: $CODEX_HOME (default ~/.codex)/sessions/**/rollout-*.jsonl[.zst], and its SQLite state in
$CODEX_SQLITE_HOME (default: the Codex home). Claude Code: $CLAUDE_CONFIG_DIR (default ~/.claude)
/projects/**/*.jsonl, subagent transcripts included. ConnectOnion: .co/session_results.jsonl in the
current project (agent-log-formats.md §1.1, §1.6, §2.1, §3.1).
"""

from __future__ import annotations

import os
from pathlib import Path

from threaddoctor.sources.t3code.locate import default_database


def _home(env: dict[str, str], var: str, default: str) -> Path:
    value = env.get(var, "").strip()
    return Path(value).expanduser() if value else Path.home() / default


def discover(env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, list[Path]]:
    """Tool name -> the files found in its default places (empty tools left out)."""
    env = dict(os.environ) if env is None else env
    found: dict[str, list[Path]] = {}
    t3 = default_database(env)
    if t3:
        found["T3 Code"] = [t3]
    codex = _home(env, "CODEX_HOME", ".codex")
    rollouts = sorted((codex / "sessions").rglob("rollout-*.jsonl")) + sorted(
        (codex / "sessions").rglob("rollout-*.jsonl.zst")
    )
    plain = {p.with_suffix("") for p in rollouts if p.suffix == ".jsonl"}
    rollouts = [p for p in rollouts if p.suffix != ".zst" or p.with_suffix("") not in plain]  # plain wins
    sqlite_home = _home(env, "CODEX_SQLITE_HOME", ".codex") if env.get("CODEX_SQLITE_HOME") else codex
    databases = sorted(sqlite_home.glob("thread_history_*.sqlite")) + sorted(sqlite_home.glob("state_*.sqlite"))
    if rollouts or databases:
        found["Codex"] = rollouts + databases
    claude = _home(env, "CLAUDE_CONFIG_DIR", ".claude") / "projects"
    transcripts = sorted(claude.rglob("*.jsonl")) if claude.is_dir() else []
    if transcripts:
        found["Claude Code"] = transcripts
    sessions = (cwd or Path.cwd()) / ".co" / "session_results.jsonl"
    if sessions.is_file():
        found["ConnectOnion"] = [sessions]
    return found


def places(env: dict[str, str] | None = None, cwd: Path | None = None) -> list[str]:
    """Where discover() looks, for the message when nothing is found."""
    env = dict(os.environ) if env is None else env
    return [
        str(_home(env, "T3CODE_HOME", ".t3") / "userdata" / "state.sqlite"),
        str(_home(env, "CODEX_HOME", ".codex") / "sessions"),
        str(_home(env, "CLAUDE_CONFIG_DIR", ".claude") / "projects"),
        str((cwd or Path.cwd()) / ".co" / "session_results.jsonl"),
    ]
