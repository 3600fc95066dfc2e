"""What every log-file source shares: where a finding points, and the defaults of the Source
protocol. A source mixes this in and sets `path` and `records`; it overrides what differs."""

from __future__ import annotations

from pathlib import Path

from threaddoctor.findings import Finding, Location
from threaddoctor.sources.files.liveness import Liveable


class LogSource(Liveable):
    path: Path
    records: int
    # The words of the logical location: thread/<id>/turn/<id>/<subject word>/<subject>.
    thread_word = "thread"
    subject_word = "item"

    @property
    def label(self) -> str:
        return str(self.path)

    def uncertain(self) -> str | None:
        return None

    def cannot_run(self, rule: object) -> str | None:
        return None

    def notes(self) -> list[str]:
        return []

    def read_again(self, error: Exception | None) -> None:
        return None

    def thread_title(self, thread_id: str) -> str | None:
        return None

    def events_decoded(self) -> int:
        return self.records

    def close(self) -> None:
        return None

    def locate(self, finding: Finding) -> Location:
        line = next((e.key.get("line") for e in finding.evidence if e.key and "line" in e.key), None)
        parts = [self.thread_word, finding.thread_id] if finding.thread_id else []
        if finding.turn_id:
            parts += ["turn", finding.turn_id]
        if finding.subject:
            parts += [self.subject_word, finding.subject]
        return Location(path=self.label, line=line, logical="/".join(parts) or "file")
