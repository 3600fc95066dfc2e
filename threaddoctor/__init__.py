"""threaddoctor: find and repair stuck AI coding-agent threads.

>>> from threaddoctor import scan
>>> result = scan("~/.t3/userdata/state.sqlite")
>>> for f in result.findings: print(f.rule, f.thread_id, f.message)
"""

from threaddoctor.engine import ScanResult, scan
from threaddoctor.errors import InputError, ThreadDoctorError, UsageError
from threaddoctor.findings import EvidenceItem, Finding, FixSafety, RepairPlan, Severity
from threaddoctor.rules import all_rules, get_rule

__all__ = [
    "EvidenceItem",
    "Finding",
    "FixSafety",
    "InputError",
    "RepairPlan",
    "ScanResult",
    "Severity",
    "ThreadDoctorError",
    "UsageError",
    "all_rules",
    "get_rule",
    "scan",
]
__version__ = "0.1.0"
