"""The rule registry: every module under rules/<source kind>/ that defines RULE is a rule."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from threaddoctor.errors import UsageError
from threaddoctor.rules.base import Rule

_BUNDLES = ("t3code", "codex", "claude", "connectonion", "files")


@cache
def all_rules() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for bundle in _BUNDLES:
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
