"""`--select` / `--ignore`: match rules by code, code prefix or name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from threaddoctor.errors import UsageError
from threaddoctor.rules.base import Rule


def _matches(rule: Rule, pattern: str) -> bool:
    p = pattern.strip()
    if p.upper() == "ALL":
        return True
    return rule.code.upper().startswith(p.upper()) or rule.name == p.lower()


def _check_known(rules: Sequence[Rule], patterns: Iterable[str]) -> None:
    for p in patterns:
        if not any(_matches(r, p) for r in rules):
            raise UsageError(f"no rule matches {p!r}; 'threaddoctor rules' lists them")


def split_patterns(values: Iterable[str] | None) -> list[str]:
    """Accept both repeated options and comma-separated lists."""
    return [p for v in values or [] for p in v.split(",") if p.strip()]


def select_rules(
    rules: Sequence[Rule], select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
) -> list[Rule]:
    sel, ign = split_patterns(select), split_patterns(ignore)
    _check_known(rules, sel + ign)
    chosen = [r for r in rules if not sel or any(_matches(r, p) for p in sel)]
    return [r for r in chosen if not any(_matches(r, p) for p in ign)]
