"""What every source offers the engine, whatever the format behind it.

Rules are written for one kind of source (they read its own vocabulary); the engine only needs
these few things from any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from threaddoctor.findings import Finding, Location

if TYPE_CHECKING:
    from threaddoctor.rules.base import Rule


Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass(frozen=True)
class ReadOptions:
    """How a scan reads a source: `deep` reads everything (not only what the app reads next), and
    `progress` hears how far a long read is. Sources that always read all of a file ignore both."""

    deep: bool = False
    progress: Progress | None = None


class Source(Protocol):
    kinds: tuple[str, ...]  # the rule bundles that apply, most specific first: ("codex-rollout", "jsonl")
    label: str  # the file it was read from
    description: str  # one line: what was recognised ("Codex rollout, cli 0.104.0")

    def uncertain(self) -> str | None:
        """Why the tool cannot be sure what the state means (nothing may be written), or None."""
        ...

    def cannot_run(self, rule: Rule) -> str | None:
        """Asked only when uncertain(): why this state rule cannot run here (what it reads is not
        there as it expects), or None when it can run all the same."""
        ...

    def notes(self) -> list[str]:
        """What the reader should know about this source beyond the findings."""
        ...

    def read_again(self, error: Exception | None) -> Source | None:
        """After the rules ran and the source was closed (`error`: what a read raised, or None): a
        fresh source to run them on again when this read may have missed a writer that started
        meanwhile, else None. Raises ThreadDoctorError when `error` means the input is bad."""
        ...

    def locate(self, finding: Finding) -> Location: ...

    def thread_title(self, thread_id: str) -> str | None: ...

    def events_decoded(self) -> int: ...

    def close(self) -> None: ...
