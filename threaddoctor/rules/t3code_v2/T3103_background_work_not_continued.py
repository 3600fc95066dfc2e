"""T3103 background-work-not-continued."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code_v2.common import live_threads
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.sources.t3code.v2.source import row_evidence
    from threaddoctor.sources.t3code.v2.vocabulary import RESTART_CONTINUATION

    threads = live_threads(src)
    # The latest run of each thread (by ordinal): the one recovery notes the cancelled work on.
    # Each thread's latest run through the (thread_id, ordinal) index; only those whose payload
    # names the note are decoded.
    latest = src.rows(
        "SELECT r.run_id, r.thread_id, r.status, r.completed_at, r.payload_json "
        "FROM orchestration_v2_projection_threads t JOIN orchestration_v2_projection_runs r ON r.run_id = "
        "(SELECT run_id FROM orchestration_v2_projection_runs WHERE thread_id = t.thread_id ORDER BY ordinal DESC "
        "LIMIT 1) WHERE instr(r.payload_json, '\"restartCancelledBackgroundWork\"') > 0 ORDER BY r.thread_id"
    )
    for run in latest:
        if run["thread_id"] not in threads:
            continue
        # UNVERIFIED where the note is kept: run.background-work-cancelled carries
        # {runId, restartCancelledBackgroundWork}, taken here as folded into the run's payload.
        work = src.payload(run).get("restartCancelledBackgroundWork") or []
        if not work:
            continue
        effect = src.row(
            "SELECT status FROM orchestration_v2_effect_outbox WHERE effect_id = ? AND effect_type = ?",
            (f"effect:restart-continuation:{run['run_id']}", RESTART_CONTINUATION),
        )
        if effect is not None and effect["status"] != "cancelled":
            continue  # a continuation is queued (or ran)
        yield RULE.finding(
            src,
            thread_id=run["thread_id"],
            subject=run["run_id"],
            message=f"{len(work)} background task(s) cancelled by a restart are waiting for a continuation that "
            "was never queued (the project's continueThreadsAfterServerUpdate setting is off): the thread waits "
            "until a message is sent in it (#15358)",
            since=run["completed_at"],
            evidence=[
                row_evidence(
                    "orchestration_v2_projection_runs",
                    {"run_id": run["run_id"]},
                    {"restartCancelledBackgroundWork": work, "status": run["status"]},
                    "background work cancelled by the restart",
                ),
                row_evidence(
                    "orchestration_v2_effect_outbox",
                    {"effect_id": f"effect:restart-continuation:{run['run_id']}"},
                    {"status": effect["status"] if effect else None},
                    "no live provider-runtime.continue effect",
                ),
            ],
        )


RULE = Rule(
    code="T3103",
    name="background-work-not-continued",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="Background work cancelled by a restart waits for a continuation that is never queued",
    explanation=(
        "When a V2 server restarts while a provider thread still has background tasks (a command left "
        "running, a dynamic tool), start-up recovery cancels them and notes them on the thread's latest run "
        "(run.background-work-cancelled, restartCancelledBackgroundWork). It queues the outbox effect that "
        "resumes them (effect:restart-continuation:<runId>, provider-runtime.continue) only when the project "
        "setting continueThreadsAfterServerUpdate is on; otherwise the thread sits idle until the user sends "
        "a message (#15358). The rule reports a latest run carrying that note with no live continuation effect. "
        "No repair is proposed: queuing the effect is the app's decision and its payload beyond type and "
        "sourceRunId is not established."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the continuation effect's full shape is not verified; send a message in the thread or turn on "
    "continueThreadsAfterServerUpdate",
    detect=detect,
)
