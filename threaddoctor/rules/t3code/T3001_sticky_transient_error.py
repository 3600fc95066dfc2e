"""T3001 sticky-transient-error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import ENDS_SESSION, EVENTS, end_session, session_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.t3code.source import Event, T3Source


_PROVIDER_OUTPUT = ("thread.message-sent", "thread.activity-appended", "thread.turn-diff-completed")
# The error's own activity, and further retries, are not signs that the agent recovered.
_NOT_PROGRESS = ("runtime.error", "runtime.warning")


def _progress(ev: Event) -> bool:
    return ev.payload.get("activity", {}).get("kind") not in _NOT_PROGRESS


def detect(src: T3Source) -> Iterator[Finding]:
    from threaddoctor.findings import RepairPlan
    from threaddoctor.sources.t3code.vocabulary import is_transient_error
    from threaddoctor.timefmt import span

    for s in src.rows("SELECT * FROM projection_thread_sessions WHERE status = 'error' AND last_error IS NOT NULL"):
        if not is_transient_error(s["last_error"]):
            continue
        thread_id = s["thread_id"]
        error_set = src.latest_event(thread_id, "thread.session-set")
        if error_set is None or error_set.payload.get("session", {}).get("lastError") != s["last_error"]:
            continue  # the row disagrees with the log: the unprojected-events rule says why
        later = [
            ev
            for ev in src.thread_events(thread_id, after=error_set.sequence, types=_PROVIDER_OUTPUT, actor="provider")
            if _progress(ev)
        ]
        if not later:
            continue  # nothing after the error: the retries may really have failed
        first, last = later[0], later[-1]
        yield RULE.finding(
            src,
            thread_id=thread_id,
            turn_id=error_set.payload["session"].get("activeTurnId"),
            message=(
                f"session stuck in error {s['last_error']!r} since {error_set.occurred_at}, although the "
                f"provider produced {len(later)} more event(s) over the next "
                f"{span(error_set.occurred_at, last.occurred_at)}, until {last.occurred_at}"
            ),
            since=error_set.occurred_at,
            evidence=[
                error_set.evidence(f"session-set status error, lastError {s['last_error']!r}"),
                first.evidence("first provider event after the error"),
                *([last.evidence("last provider event after the error")] if last is not first else []),
                session_evidence(s),
            ],
            repair=RepairPlan(
                safety=FixSafety.safe,
                summary="append a thread.session-set: status ready, no active turn, lastError cleared",
                steps=end_session(src, s, "ready"),
            ),
        )


RULE = Rule(
    code="T3001",
    name="sticky-transient-error",
    source_kind="t3code",
    severity=Severity.error,
    summary="A transient provider reconnect left the session in error although the agent recovered",
    explanation=(
        'A provider reported a retryable condition such as "Reconnecting... 1/5" and T3 Code persisted it '
        "as a thread.session-set with status error (Codex before v0.0.10, issue #313). The provider kept "
        "streaming messages, activities or turn diffs for the thread afterwards, so the agent recovered, but "
        "nothing wrote a new session state: the thread shows a hard error and its banner forever. The rule "
        "looks at sessions in error whose lastError is a transient text and reports them only when provider "
        "events follow the newest session-set; an error that a later session-set cleared, or one after which "
        "the provider fell silent, is left alone. The repair appends the app's own corrective event, a "
        "thread.session-set with status ready, no active turn and lastError null."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="an appended session-set is what the app writes itself when a turn completes; every release "
    "projects it, cached clients replay it, and undo deletes it before the app next starts",
    detect=detect,
    reads=(*EVENTS, *ENDS_SESSION),
)
