"""How bad a finding is and how safe its repair is: the two scales every rule declares.

Plain enums, apart from the pydantic models in findings.py, so that listing or explaining the
rules imports no model (start-up time: `threaddoctor rules` must not build them).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


class FixSafety(StrEnum):
    """Whether a repair may run without the user opting in (`--unsafe-fixes`)."""

    safe = "safe"
    unsafe = "unsafe"
    none = "none"  # the rule only reports; there is nothing it can repair
