"""Which reader opens which format: the one door every format comes in by. Each entry names a
function `open_x(path, options: ReadOptions | None = None) -> Source`, imported only when a file
of that format is met. A new format adds its reader here (and its recognition in detect.py); the
engine never names a format."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from threaddoctor.sources.base import Source

OPENERS: dict[str, str] = {
    "t3code-db": "threaddoctor.sources.t3code.source:open_database",
    "t3code-export": "threaddoctor.sources.t3code.exported:load_export",
    "codex-rollout": "threaddoctor.sources.codex.rollout:open_rollout",
    "codex-exec": "threaddoctor.sources.codex.exec_stream:open_exec_stream",
    "codex-sqlite": "threaddoctor.sources.codex.state_db:open_state_db",
    "claude-transcript": "threaddoctor.sources.claude.transcript:open_transcript",
    "claude-run": "threaddoctor.sources.claude.run_log:open_run_log",
    "connectonion-sessions": "threaddoctor.sources.connectonion.sessions:open_sessions",
    "t3code-v2": "threaddoctor.sources.t3code.v2.source:open_v2",
    "t3code-v2-export": "threaddoctor.sources.t3code.v2.exported:load_v2_export",
}


def opener(kind: str) -> Callable[..., Source]:
    """`open_x(path, options: ReadOptions | None = None) -> Source` for a format."""
    module, name = OPENERS[kind].split(":")
    return getattr(importlib.import_module(module), name)
