"""Words T3 Code itself writes and recognises: projector names, known error texts, formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime

PROJECTORS: tuple[str, ...] = (
    "projection.projects",
    "projection.thread-messages",
    "projection.thread-proposed-plans",
    "projection.thread-activities",
    "projection.thread-sessions",
    "projection.thread-turns",
    "projection.checkpoints",
    "projection.pending-approvals",
    "projection.threads",
)

# Stable 0.0.42's tenth cursor row: not a projector; its start-up decodes every event above the
# lowest of all ten rows (reference t3code-today.md §2.1).
ATTACHMENT_CLEANUP_CURSOR = "projection.attachment-cleanup"

# What the startup reconcile (#7719) writes: benign, the app's own recovery.
STARTUP_RECONCILE_ERROR = "Provider session did not survive a server restart. Send a new message to continue."

# Provider messages that announce a retry rather than a failure. Codex prints
# "Reconnecting... 1/5" (issue #313, #940); the others are the same idea from other providers'
# transports and are matched conservatively (a count, or an explicit retry wording).
TRANSIENT_ERROR = re.compile(
    r"^\s*(?:Reconnecting\.{3}\s*\d+/\d+"
    r"|Re-?connecting to (?:the )?(?:provider|server|stream)\b"
    r"|Retrying(?: request)?(?: in \d+(?:\.\d+)?\s*m?s)?\.{0,3}\s*(?:\(?\d+/\d+\)?)?\s*$"
    r"|stream disconnected before completion\b.*retrying)",
    re.IGNORECASE,
)

STALE_APPROVAL_DETAILS = (
    "stale pending approval request",
    "unknown pending approval request",
    "unknown pending permission request",
)
STALE_USER_INPUT_DETAILS = (
    "stale pending user-input request",
    "unknown pending user-input request",
    "unknown pending user input request",
    "unknown pending codex user input request",
)
NO_SESSION_DETAIL = "No active provider session is bound to this thread."


def stale_approval_detail(request_id: str) -> str:
    return (
        f"Stale pending approval request: {request_id}. Provider callback state does not survive "
        "app restarts or recovered sessions. Restart the turn to continue."
    )


def stale_user_input_detail(request_id: str) -> str:
    return (
        f"Stale pending user-input request: {request_id}. Provider callback state does not survive "
        "app restarts or recovered sessions. Restart the turn to continue."
    )


def is_transient_error(text: str | None) -> bool:
    return bool(text) and TRANSIENT_ERROR.match(text) is not None


def _contains_any(detail: object, needles: tuple[str, ...]) -> bool:
    return isinstance(detail, str) and any(n in detail.lower() for n in needles)


def is_stale_approval_failure(detail: object) -> bool:
    return _contains_any(detail, STALE_APPROVAL_DETAILS)


def is_stale_user_input_failure(detail: object) -> bool:
    return _contains_any(detail, STALE_USER_INPUT_DETAILS)


def iso_now() -> str:
    """The app's timestamp format: ISO-8601 UTC with milliseconds and a Z."""
    return format_time(datetime.now(UTC))


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
