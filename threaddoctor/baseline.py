"""Baselines: accept the findings a project already knows, so only new ones fail.

Findings are matched by rule and entity (thread, turn and the broken thing's own id), never by
a line or a row number, so a baseline survives re-exports and unrelated changes."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from threaddoctor.engine import ScanResult
from threaddoctor.errors import InputError
from threaddoctor.findings import Finding
from threaddoctor.version import __version__

FORMAT_VERSION = 1


class Entry(BaseModel):
    rule: str
    entity: str
    fingerprint: str
    thread_id: str | None = None
    message: str = ""


class Baseline(BaseModel):
    format_version: int = FORMAT_VERSION
    tool: str = f"threaddoctor {__version__}"
    findings: list[Entry]

    @property
    def entities(self) -> set[str]:
        return {e.entity for e in self.findings}


def from_results(results: list[ScanResult]) -> Baseline:
    seen: dict[str, Finding] = {}
    for r in results:
        for f in r.findings:
            seen.setdefault(f.entity, f)
    return Baseline(
        findings=[
            Entry(rule=f.rule, entity=f.entity, fingerprint=f.fingerprint, thread_id=f.thread_id, message=f.message)
            for f in sorted(seen.values(), key=lambda f: f.entity)
        ]
    )


def write(path: Path, baseline: Baseline) -> None:
    path.write_text(baseline.model_dump_json(indent=2) + "\n")


def read(path: Path) -> Baseline:
    try:
        doc = json.loads(path.read_text())
        baseline = Baseline.model_validate(doc)
    except OSError as e:
        raise InputError(f"{path}: cannot read the baseline ({e.strerror})") from None
    except (ValueError, ValidationError):
        raise InputError(f"{path}: not a threaddoctor baseline") from None
    if baseline.format_version != FORMAT_VERSION:
        raise InputError(f"{path}: baseline format {baseline.format_version} is not supported")
    return baseline


def apply(results: list[ScanResult], baseline: Baseline) -> list[ScanResult]:
    """The results without the findings the baseline accepts; each notes how many it hid."""
    known = baseline.entities
    out = []
    for r in results:
        kept = [f for f in r.findings if f.entity not in known]
        hidden = len(r.findings) - len(kept)
        notes = r.notes + ([f"{hidden} known finding(s) hidden by the baseline"] if hidden else [])
        out.append(r.model_copy(update={"findings": kept, "notes": notes}))
    return out


def override_severity(results: list[ScanResult], overrides: dict[str, str]) -> list[ScanResult]:
    """Severity overrides from the config, by rule code or name."""
    if not overrides:
        return results
    out = []
    for r in results:
        findings = [
            f.model_copy(update={"severity": overrides.get(f.rule, overrides.get(f.name, f.severity))})
            for f in r.findings
        ]
        out.append(r.model_copy(update={"findings": findings}))
    return out
