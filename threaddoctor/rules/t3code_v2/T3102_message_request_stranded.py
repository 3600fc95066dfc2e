"""T3102 message-request-stranded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code_v2.common import capability, cut_off, live_threads, marks
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.v2.source import V2Source


def _sessions_ended(src: V2Source, thread_id: str) -> bool:
    from threaddoctor.sources.t3code.v2.vocabulary import ENDED_SESSION

    live = src.row(
        f"SELECT 1 FROM orchestration_v2_projection_provider_sessions WHERE thread_id = ? "
        f"AND status NOT IN ({marks(ENDED_SESSION)})",
        (thread_id,),
    )
    return live is None


def detect(src: V2Source) -> Iterator[Finding]:
    from threaddoctor.sources.t3code.v2.source import row_evidence

    threads = live_threads(src)
    for q in src.rows(
        "SELECT runtime_request_id, thread_id, kind, created_at, payload_json "
        "FROM orchestration_v2_projection_runtime_requests WHERE status = 'pending' ORDER BY thread_id, created_at"
    ):
        if q["thread_id"] not in threads or capability(src, q) != "message":
            continue
        if not (cut_off(src) or _sessions_ended(src, q["thread_id"])):
            continue  # a running session can still take the answer
        rid = q["runtime_request_id"]
        yield RULE.finding(
            src,
            thread_id=q["thread_id"],
            subject=rid,
            message=f"{q['kind']} request {rid} (asked {q['created_at']}) is still pending, answerable only by a "
            "message, but its provider session has stopped (or will at the next start); start-up recovery leaves "
            "such requests pending, so the thread keeps waiting",
            since=q["created_at"],
            evidence=[
                row_evidence(
                    "orchestration_v2_projection_runtime_requests",
                    {"runtime_request_id": rid},
                    {"status": "pending", "responseCapability.type": "message"},
                    "request recovery does not touch",
                )
            ],
        )


RULE = Rule(
    code="T3102",
    name="message-request-stranded",
    source_kind="t3code-v2",
    severity=Severity.warning,
    summary="A runtime request answerable only by a message stays pending after its session stopped",
    explanation=(
        "V2 runtime requests carry a responseCapability. Start-up recovery expires every pending request "
        "(status expired, responseCapability not_resumable) except those whose capability is 'message': "
        "they stay pending after the provider session that asked was stopped, so the thread shows a question "
        "no live provider will receive. The rule reports such a request when no live server holds the file "
        "or every provider session of the thread has stopped. It proposes no repair: the app's recovery "
        "deliberately leaves these rows, and what it would take to settle one is not established; sending a "
        "message in the thread is the app's own way on."
    ),
    fix_safety=FixSafety.none,
    fix_reason="recovery leaves these on purpose and no verified terminal write exists; send a message in the thread",
    detect=detect,
)
