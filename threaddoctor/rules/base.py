"""The shape of a rule: identity, documentation, severity, detection and repair safety."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding


@dataclass(frozen=True)
class Rule:
    code: str  # stable, never reused: "T3001"
    name: str  # kebab-case: "sticky-transient-error"
    source_kind: str  # which kind of source it reads: "t3code"
    severity: Severity
    summary: str  # one line
    explanation: str  # one paragraph: what, why it matters, what the repair does
    fix_safety: FixSafety
    fix_reason: str  # why the repair is classed safe or unsafe
    detect: Callable[[Any], Iterable[Finding]]
    # "schema": runs first and always; "state": needs a schema the tool is sure of;
    # "log": runs after the state rules (it reports what they read).
    scope: str = "state"
    # What the rule reads, as "table" or "table.column": on a ledger threaddoctor does not know
    # (a fork's own migrations, a newer build) the rule still runs when all of it is there.
    reads: tuple[str, ...] = ()

    def finding(self, ctx: Any, **fields: Any) -> Finding:
        """Build a finding of this rule for the source `ctx` reads."""
        # Imported here: listing the rules imports every rule module, and must not build the models.
        from threaddoctor.findings import Finding

        fields.setdefault("severity", self.severity)
        return Finding(rule=self.code, name=self.name, source=ctx.label, **fields)
