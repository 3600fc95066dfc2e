"""threaddoctor: find and repair stuck AI coding-agent threads.

>>> from threaddoctor import scan
>>> result = scan("~/.t3/userdata/state.sqlite")
>>> for f in result.findings: print(f.rule, f.thread_id, f.message)
"""

from __future__ import annotations

from importlib import import_module

from threaddoctor.version import __version__

# Not typing.TYPE_CHECKING: `threaddoctor --version` would import typing for it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from threaddoctor.engine import ScanResult, scan
    from threaddoctor.errors import InputError, ThreadDoctorError, UsageError
    from threaddoctor.findings import EvidenceItem, Finding, FixSafety, Location, RepairPlan, Severity, Unjudged
    from threaddoctor.rules import all_rules, get_rule
    from threaddoctor.sources.files.liveness import LiveCheck

# The public names and the modules that hold them, imported on first use: every command of the
# CLI imports this package, and `--version` or `rules` must not pay for the engine and its models.
_HOMES = {
    "ScanResult": "threaddoctor.engine",
    "scan": "threaddoctor.engine",
    "InputError": "threaddoctor.errors",
    "ThreadDoctorError": "threaddoctor.errors",
    "UsageError": "threaddoctor.errors",
    "EvidenceItem": "threaddoctor.findings",
    "Finding": "threaddoctor.findings",
    "FixSafety": "threaddoctor.findings",
    "Location": "threaddoctor.findings",
    "RepairPlan": "threaddoctor.findings",
    "Severity": "threaddoctor.findings",
    "Unjudged": "threaddoctor.findings",
    "all_rules": "threaddoctor.rules",
    "get_rule": "threaddoctor.rules",
    "LiveCheck": "threaddoctor.sources.files.liveness",
}

__all__ = [
    "EvidenceItem",
    "Finding",
    "FixSafety",
    "InputError",
    "LiveCheck",
    "Location",
    "RepairPlan",
    "ScanResult",
    "Severity",
    "ThreadDoctorError",
    "Unjudged",
    "UsageError",
    "__version__",
    "all_rules",
    "get_rule",
    "scan",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'threaddoctor' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
