"""The rule registry: every module under rules/<source kind>/ that defines RULE is a rule.

`threaddoctor rules` and `explain` import every rule module, so a rule module imports at module
level only what RULE needs (rules.base, threaddoctor.severity, the standard library, its bundle's
helpers, which follow the same rule); the finding models and the readers are imported inside the
functions that use them, and for annotations under TYPE_CHECKING (tests/test_startup.py).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from threaddoctor.errors import UsageError
from threaddoctor.rules.base import Rule

_BUNDLES = ("t3code", "t3code_ledger", "t3code_v2", "codex", "claude", "claude_run", "connectonion", "files")
# The folders whose rules can apply to a source kind: a scan of one agent's log imports only
# those (T3 Code's rules bring its event contract, a tenth of a second to import).
_BUNDLES_FOR = {
    "codex-rollout": ("codex", "files"),
    "codex-exec": ("codex", "files"),
    "codex-sqlite": ("codex",),
    "claude-transcript": ("claude", "files"),
    "claude-run": ("claude_run", "files"),
    "connectonion-sessions": ("connectonion", "files"),
    "t3code-v2": ("t3code_ledger", "t3code_v2"),
    "t3code-v2-export": ("t3code_ledger", "t3code_v2"),
}


def all_rules() -> tuple[Rule, ...]:
    return _rules_in(_BUNDLES)


def rules_for(kind: str) -> tuple[Rule, ...]:
    """The rules that can apply to a source of this kind (all of them for a kind not listed)."""
    return _rules_in(_BUNDLES_FOR.get(kind, _BUNDLES))


@cache
def _rules_in(bundles: tuple[str, ...]) -> tuple[Rule, ...]:
    found: list[Rule] = []
    for bundle in bundles:
        package = importlib.import_module(f"threaddoctor.rules.{bundle}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            rule = getattr(module, "RULE", None)
            if isinstance(rule, Rule):
                found.append(rule)
    found.sort(key=lambda r: r.code)
    codes = [r.code for r in found]
    names = [r.name for r in found]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names), "duplicate rule code or name"
    return tuple(found)


def get_rule(code_or_name: str) -> Rule:
    key = code_or_name.strip()
    for r in all_rules():
        if r.code.upper() == key.upper() or r.name == key.lower():
            return r
    raise UsageError(f"no rule {code_or_name!r}; 'threaddoctor rules' lists them")
