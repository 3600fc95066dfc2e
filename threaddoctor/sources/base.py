"""What every source offers the engine, whatever the format behind it.

Rules are written for one kind of source (they read its own vocabulary); the engine only needs
these few things from any of them."""

from __future__ import annotations

from typing import Protocol

from threaddoctor.findings import Finding, Location


class Source(Protocol):
    kinds: tuple[str, ...]  # the rule bundles that apply, most specific first: ("codex-rollout", "jsonl")
    label: str  # the file it was read from
    description: str  # one line: what was recognised ("Codex rollout, cli 0.104.0")

    def uncertain(self) -> str | None:
        """Why the state rules must not run (and nothing may be written), or None."""
        ...

    def locate(self, finding: Finding) -> Location: ...

    def thread_title(self, thread_id: str) -> str | None: ...

    def events_decoded(self) -> int: ...

    def close(self) -> None: ...
