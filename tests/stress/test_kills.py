"""Over a thousand SIGKILLs of `fix` at random instants: every one leaves the pre-fix or the
post-fix state (tests/stress/kill_harness.py says what is checked after each)."""

from __future__ import annotations

import os
import sys

import pytest

from tests.stress.kill_harness import SCENARIOS, Scenario, run_scenario

pytestmark = [
    pytest.mark.stress,
    pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork and SIGKILL"),
]

# Kills per scenario; THREADDOCTOR_KILLS sets the total (default 1,000 across the five scenarios,
# the databases' repairs, which cost the most, killed a little less often than the logs').
TOTAL = int(os.environ.get("THREADDOCTOR_KILLS", "1000"))
SHARE = {"t3code-wal": 0.15, "t3code-rollback-journal": 0.15}
FILE_SHARE = (1 - sum(SHARE.values())) / (len(SCENARIOS) - len(SHARE))


def _kills(scenario: Scenario) -> int:
    return max(1, round(TOTAL * SHARE.get(scenario.name, FILE_SHARE)) + 1)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_kills_leave_pre_or_post(scenario, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("THREADDOCTOR_HOME", str(tmp_path / "home"))
    counts = run_scenario(scenario, tmp_path, kills=_kills(scenario))
    print("\n" + counts.line(scenario.name))
    assert counts.other == 0, "\n".join(counts.problems[:10])
    assert counts.kills == counts.pre + counts.post >= _kills(scenario)
    # Kills land before the swap or commit, the runs that finished first after it: both sides judged.
    assert counts.pre and counts.post + counts.finished, counts.line(scenario.name)


def _append_in_place() -> None:
    """A broken repair: the records appended to the log itself, a few bytes at a time, no journal."""
    import threaddoctor.fix.files as files

    def swap(path, tmp, report):
        data = tmp.read_bytes()[path.stat().st_size :]
        with path.open("ab") as f:
            for i in range(0, len(data), 16):
                f.write(data[i : i + 16])
                f.flush()
                os.fsync(f.fileno())
        return report

    files._swap = swap


def test_the_harness_fails_a_repair_that_is_not_atomic(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("THREADDOCTOR_HOME", str(tmp_path / "home"))
    claude = next(s for s in SCENARIOS if s.name == "claude-transcript")
    counts = run_scenario(claude, tmp_path, kills=40, breaker=_append_in_place, max_attempts=60)
    print("\n" + counts.line("broken claude-transcript repair"))
    assert counts.other > 0
    assert any("neither pre nor post" in p or "no journal entry" in p for p in counts.problems)
