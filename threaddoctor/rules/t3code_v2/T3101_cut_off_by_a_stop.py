"""T3101 cut-off-by-a-stop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code_v2.common import capability, cut_off, live_threads, marks
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.sources.t3code.v2.source import row_evidence
    from threaddoctor.sources.t3code.v2.vocabulary import ENDED_SESSION, LIVE_RUN, RECOVERED_RUN

    if not cut_off(src):
        return  # a live server may still be streaming all of it
    threads = live_threads(src)
    runs: dict[str, list[dict]] = {}
    # The recovery index's own predicate (LIVE_RUN), so SQLite uses it; queued runs stay queued.
    for r in src.rows(
        f"SELECT run_id, thread_id, status, requested_at FROM orchestration_v2_projection_runs "
        f"WHERE status IN ({marks(LIVE_RUN)}) ORDER BY thread_id, ordinal"
    ):
        if r["status"] in RECOVERED_RUN:
            runs.setdefault(r["thread_id"], []).append(r)
    requests: dict[str, list[dict]] = {}
    for q in src.rows(
        "SELECT runtime_request_id, thread_id, kind, created_at, payload_json "
        "FROM orchestration_v2_projection_runtime_requests WHERE status = 'pending' ORDER BY thread_id, created_at"
    ):
        if capability(src, q) != "message":  # those stay pending after recovery: T3102
            requests.setdefault(q["thread_id"], []).append(q)
    sessions: dict[str, list[dict]] = {}
    for s in src.rows(
        f"SELECT provider_session_id, thread_id, status FROM orchestration_v2_projection_provider_sessions "
        f"WHERE status NOT IN ({marks(ENDED_SESSION)}) AND thread_id IS NOT NULL ORDER BY thread_id"
    ):
        sessions.setdefault(s["thread_id"], []).append(s)
    for tid in sorted(set(runs) | set(requests) | set(sessions)):
        if tid not in threads:
            continue
        parts = []
        if runs.get(tid):
            parts.append(f"{len(runs[tid])} run(s) {'/'.join(sorted({r['status'] for r in runs[tid]}))}")
        if requests.get(tid):
            parts.append(f"{len(requests[tid])} pending request(s)")
        if sessions.get(tid):
            parts.append(
                f"{len(sessions[tid])} provider session(s) {'/'.join(sorted({s['status'] for s in sessions[tid]}))}"
            )
        last = src.thread_last_event(tid)
        evidence = [
            row_evidence(
                "orchestration_v2_projection_runs", {"run_id": r["run_id"]}, {"status": r["status"]}, "run not settled"
            )
            for r in runs.get(tid, [])
        ]
        evidence += [
            row_evidence(
                "orchestration_v2_projection_runtime_requests",
                {"runtime_request_id": q["runtime_request_id"]},
                {"status": "pending", "kind": q["kind"]},
                "request the next start expires",
            )
            for q in requests.get(tid, [])
        ]
        evidence += [
            row_evidence(
                "orchestration_v2_projection_provider_sessions",
                {"provider_session_id": s["provider_session_id"]},
                {"status": s["status"]},
                "session the next start stops",
            )
            for s in sessions.get(tid, [])
        ]
        yield RULE.finding(
            src,
            thread_id=tid,
            subject=tid,
            message=f"{', '.join(parts)} left by a server that is gone (last event {last}); T3 Code's next start "
            "clears this on its own: its recovery cancels the runs, expires the requests and stops the sessions",
            since=last,
            evidence=evidence,
        )


RULE = Rule(
    code="T3101",
    name="cut-off-by-a-stop",
    source_kind="t3code-v2",
    severity=Severity.info,
    summary="Runs, requests or sessions left live by a server that is gone; the next start settles them",
    explanation=(
        "A V2 server killed mid-run (a crash, SIGKILL, power loss) leaves its runs preparing/starting/running/"
        "waiting, approval requests pending and provider sessions running, and no server-runtime.json with a "
        "live pid. This is not stuck: at its next start T3 Code's ProviderRuntimeRecoveryService.reconcile("
        "'startup') marks those runs cancelled, expires the requests (not_resumable) and stops the sessions, "
        "in one command per thread. The rule says so at information level and proposes nothing; what "
        "recovery leaves behind is reported by T3102-T3104. With a live server nothing is judged."
    ),
    fix_safety=FixSafety.none,
    fix_reason="the app's own next start settles it; start T3 Code",
    detect=detect,
)
