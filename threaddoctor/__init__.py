"""threaddoctor: find and repair stuck AI coding-agent threads.

>>> from threaddoctor import scan
>>> result = scan("~/.t3/userdata/state.sqlite")
>>> for f in result.findings: print(f.rule, f.thread_id, f.message)
"""

from threaddoctor.engine import ScanResult, scan
from threaddoctor.errors import InputError, ThreadDoctorError, UsageError
from threaddoctor.findings import EvidenceItem, Finding, FixSafety, Location, RepairPlan, Severity, Unjudged
from threaddoctor.rules import all_rules, get_rule
from threaddoctor.sources.files.liveness import LiveCheck
from threaddoctor.version import __version__

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
