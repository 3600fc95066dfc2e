"""Every case file under tests/cases: build its database on each release, scan with its rule
alone, and compare findings (thread, turn, severity) with the case's expectation."""

from __future__ import annotations

import pytest

from tests.case_runner import Case, build, expected, found, load_cases
from threaddoctor import all_rules

CASES = load_cases()


@pytest.mark.parametrize(
    ("case", "release"),
    [pytest.param(c, r, id=f"{c.rule}-{c.kind}-{c.name}-{r}") for c in CASES for r in c.releases],
)
def test_case(case: Case, release: str, tmp_path) -> None:
    b = build(case, release, tmp_path / "state.sqlite")
    got = found(case, b)
    want = expected(case)
    for g, w in zip(got, want, strict=False):
        if w["severity"] is None:
            g["severity"] = None
    assert got == want


def test_every_rule_has_positive_negative_and_lookalike_cases() -> None:
    kinds: dict[str, set[str]] = {}
    for c in CASES:
        kinds.setdefault(c.rule, set()).add(c.kind)
    for rule in all_rules():
        assert kinds.get(rule.code, set()) >= {"positive", "negative", "lookalike"}, rule.code
