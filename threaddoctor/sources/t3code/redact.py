"""Redaction for exports: user content becomes a stable placeholder of the same length.

A placeholder is built from the value's SHA-256, so equal values stay equal (a lastError in an
event and in its session row still match) and length limits still hold. Blank strings stay as
they are, so a row the app cannot decode stays undecodable. Kept as is: ids, enums, timestamps,
numbers, and the app's own vocabulary that rules recognise (transient-error texts, the start-up
reconcile message, stale-request details). Everything a person typed or a tool printed goes:
message text, titles, paths, branches, tool input and output, plans, answers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from threaddoctor.sources.t3code.v2.vocabulary import REQUEST_RESTART_REASON
from threaddoctor.sources.t3code.vocabulary import (
    NO_SESSION_DETAIL,
    STARTUP_RECONCILE_ERROR,
    is_stale_approval_failure,
    is_stale_user_input_failure,
    is_transient_error,
)

# Keys inside activity and runtime payloads whose values are identifiers or enums, not content.
KEEP_KEYS = frozenset(
    {
        "requestId",
        "requestKind",
        "requestType",
        "decision",
        "itemType",
        "status",
        "activeTurnId",
        "lastRuntimeEvent",
        "turnId",
        "threadId",
        "messageId",
        "kind",
        "tone",
    }
)


def mask(value: str) -> str:
    """Same length, stable, revealing nothing but the length and a hash prefix."""
    if not value.strip():
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    n = len(value)
    if n < 12:
        return digest[:n]
    tag = f"<r:{digest[:8]}>"
    return tag + "x" * (n - len(tag))


def is_vocabulary(value: str) -> bool:
    return (
        is_transient_error(value)
        or value in (STARTUP_RECONCILE_ERROR, NO_SESSION_DETAIL, REQUEST_RESTART_REASON)
        or is_stale_approval_failure(value)
        or is_stale_user_input_failure(value)
    )


def mask_text(value: Any) -> Any:
    """Mask a string unless it is the app's own vocabulary."""
    return mask(value) if isinstance(value, str) and not is_vocabulary(value) else value


def mask_tree(value: Any) -> Any:
    """Mask every string in a JSON value, except under identifier keys and vocabulary texts."""
    if isinstance(value, dict):
        return {k: (v if k in KEEP_KEYS and not isinstance(v, dict | list) else mask_tree(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_tree(v) for v in value]
    return mask_text(value)


def _fields(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: (mask_text(v) if k in names else v) for k, v in d.items()}


def redact_payload(event_type: str, p: Any) -> Any:
    if not isinstance(p, dict):
        return p
    if event_type in ("project.created", "project.meta-updated"):
        p = _fields(p, "title", "workspaceRoot", "faviconPath")
        if isinstance(p.get("scripts"), list):
            p["scripts"] = [
                _fields(s, "name", "command", "previewUrl") if isinstance(s, dict) else s for s in p["scripts"]
            ]
        return p
    if event_type in ("thread.created", "thread.meta-updated"):
        return _fields(p, "title", "previousTitle", "branch", "worktreePath")
    if event_type == "thread.message-sent":
        p = _fields(p, "text")
        if isinstance(p.get("attachments"), list):
            p["attachments"] = [_fields(a, "name") if isinstance(a, dict) else a for a in p["attachments"]]
        return p
    if event_type == "thread.turn-start-requested":
        return _fields(p, "titleSeed")
    if event_type == "thread.user-input-response-requested":
        return {**p, "answers": mask_tree(p.get("answers"))} if "answers" in p else p
    if event_type == "thread.proposed-plan-upserted" and isinstance(p.get("proposedPlan"), dict):
        return {**p, "proposedPlan": _fields(p["proposedPlan"], "planMarkdown")}
    if event_type == "thread.turn-diff-completed" and isinstance(p.get("files"), list):
        return {**p, "files": [_fields(f, "path") if isinstance(f, dict) else f for f in p["files"]]}
    if event_type == "thread.activity-appended" and isinstance(p.get("activity"), dict):
        a = p["activity"]
        return {
            **p,
            "activity": {**_fields(a, "summary"), **({"payload": mask_tree(a["payload"])} if "payload" in a else {})},
        }
    if event_type == "thread.session-set" and isinstance(p.get("session"), dict):
        return {**p, "session": _fields(p["session"], "lastError")}
    return p


def _json_column(text: Any, transform) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.dumps(transform(json.loads(text)), ensure_ascii=False)
    except ValueError:
        return mask(text)


def redact_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "projection_threads":
        return _fields(row, "title", "branch", "worktree_path")
    if table == "projection_thread_messages":
        row = _fields(row, "text")
        return (
            {**row, "attachments_json": _json_column(row.get("attachments_json"), mask_tree)}
            if row.get("attachments_json")
            else row
        )
    if table == "projection_thread_activities":
        row = _fields(row, "summary")
        return {**row, "payload_json": _json_column(row.get("payload_json"), mask_tree)}
    if table == "projection_thread_sessions":
        return _fields(row, "last_error")
    if table == "projection_turns":
        return {**row, "checkpoint_files_json": _json_column(row.get("checkpoint_files_json"), mask_tree)}
    if table == "provider_session_runtime":
        return {
            **row,
            "resume_cursor_json": _json_column(row.get("resume_cursor_json"), mask_tree),
            "runtime_payload_json": _json_column(row.get("runtime_payload_json"), mask_tree),
        }
    return row


# Orchestration V2 keeps each entity whole in payload_json: everything but identifiers, enums,
# timestamps, counters and the app's own recovery wording is content.
V2_KEEP_KEYS = frozenset(
    {
        "status",
        "type",
        "kind",
        "role",
        "origin",
        "provider",
        "driver",
        "runtimeMode",
        "interactionMode",
        "historyOrigin",
        "createdBy",
        "creationSource",
        "model",
        "strategy",
        "restartCancelledBackgroundWork",
        "pendingBackgroundTasks",
    }
)


def _v2_keeps(key: str) -> bool:
    return key in KEEP_KEYS or key in V2_KEEP_KEYS or key.endswith(("Id", "Ids", "At"))


def redact_v2(value: Any) -> Any:
    """A V2 payload with its content masked (ids, statuses and times kept, so the rules still read it)."""
    if isinstance(value, dict):
        return {k: (v if _v2_keeps(k) and not isinstance(v, dict) else redact_v2(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_v2(v) for v in value]
    return mask_text(value)


def redact_v2_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if not table.startswith("orchestration_v2_"):
        return redact_row(table, row)
    row = _fields(row, "title", "last_error", "worktree_path", "branch")
    return {**row, "payload_json": _json_column(row["payload_json"], redact_v2)} if "payload_json" in row else row
