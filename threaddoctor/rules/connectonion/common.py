"""The repair the ConnectOnion host itself makes at start-up: a newer record marking the session
interrupted (its reconcile_interrupted, seen in connectonion 1.9.2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from threaddoctor.severity import FixSafety

if TYPE_CHECKING:
    from threaddoctor.findings import RepairPlan
    from threaddoctor.sources.connectonion.sessions import ConnectOnionSessions


def interrupted(src: ConnectOnionSessions, line: int) -> RepairPlan:
    """The session's newest record, as the host's reconcile rewrites it: status interrupted, the
    revision counted up, updated_at now; everything else (messages, trace, pending tool) kept."""
    from threaddoctor.findings import AppendRecord, RepairPlan

    record = src.reader.record(line)
    record["status"] = "interrupted"
    record["updated_at"] = time.time()
    if isinstance(record.get("revision"), int):
        record["revision"] += 1
    return RepairPlan(
        safety=FixSafety.safe,
        summary="append a newer record of the session with status interrupted, as the host's start-up reconcile "
        "writes it, so the session accepts prompts again",
        steps=[AppendRecord(record=record)],
    )
