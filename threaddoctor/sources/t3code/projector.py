"""T3 Code's projectors, re-stated: how each event changes the projection tables.

Follows reference t3code-state.md §4.2 (August main) with the per-release differences of §4.2
and §9.3 switched on `Release`. Used to build fixtures whose projections agree with their log,
and by repairs, which must leave projections as the app's own projector would.
Rows are written only with the columns the database has, so one projector serves every schema.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from threaddoctor.sources.t3code.releases import Release
from threaddoctor.sources.t3code.vocabulary import (
    PROJECTORS,
    is_stale_approval_failure,
    is_stale_user_input_failure,
)

_TERMINAL_DELETES_PENDING = {"error", "stopped", "interrupted"}
_SETTLED_STATE = {"ready": "completed", "idle": "completed", "error": "error"}


@dataclass
class EventRow:
    """One orchestration_events row with its JSON decoded."""

    sequence: int
    event_type: str
    stream_id: str
    occurred_at: str
    payload: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    aggregate_kind: str = "thread"


class Projector:
    def __init__(self, conn: sqlite3.Connection, release: Release) -> None:
        self.conn = conn
        self.release = release
        self._columns: dict[str, list[str]] = {}

    # ---- helpers -------------------------------------------------------------------------
    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            rows = self.conn.execute(f"PRAGMA table_info({table})").fetchall()
            self._columns[table] = [r[1] for r in rows]
        return self._columns[table]

    def _upsert(self, table: str, values: dict[str, Any], key: list[str]) -> None:
        cols = [c for c in values if c in self.columns(table)]
        updates = [c for c in cols if c not in key]
        sql = (
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
            f"ON CONFLICT ({', '.join(key)}) DO "
            + (f"UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updates)}" if updates else "NOTHING")
        )
        self.conn.execute(sql, [values[c] for c in cols])

    def _update(self, table: str, values: dict[str, Any], where: str, args: list[Any]) -> None:
        cols = [c for c in values if c in self.columns(table)]
        if cols:
            sets = ", ".join(f"{c} = ?" for c in cols)
            self.conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", [values[c] for c in cols] + args)

    def _one(self, sql: str, args: list[Any]) -> sqlite3.Row | None:
        cur = self.conn.execute(sql, args)
        cur.row_factory = sqlite3.Row
        return cur.fetchone()

    # ---- entry point ---------------------------------------------------------------------
    def apply(self, ev: EventRow) -> None:
        handler = getattr(self, "_on_" + ev.event_type.replace(".", "_").replace("-", "_"), None)
        if handler is not None:
            handler(ev, ev.payload)
        if ev.event_type.startswith("thread.") and ev.event_type in _THREAD_SUMMARY_EVENTS:
            self._touch_thread(ev)
        for name in PROJECTORS:
            self.conn.execute(
                "INSERT INTO projection_state (projector, last_applied_sequence, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (projector) DO UPDATE SET "
                "last_applied_sequence = excluded.last_applied_sequence, updated_at = excluded.updated_at",
                (name, ev.sequence, ev.occurred_at),
            )

    # ---- projects ------------------------------------------------------------------------
    def _on_project_created(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._upsert(
            "projection_projects",
            {
                "project_id": p["projectId"],
                "title": p["title"],
                "workspace_root": p["workspaceRoot"],
                "default_model": p.get("defaultModel"),
                "scripts_json": json.dumps(p.get("scripts", [])),
                "created_at": p["createdAt"],
                "updated_at": p["updatedAt"],
                "deleted_at": None,
                "default_model_selection_json": _json_or_none(p.get("defaultModelSelection")),
            },
            ["project_id"],
        )

    # ---- threads -------------------------------------------------------------------------
    def _on_thread_created(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._upsert(
            "projection_threads",
            {
                "thread_id": p["threadId"],
                "project_id": p["projectId"],
                "title": p["title"],
                "model": p.get("model", ""),
                "branch": p.get("branch"),
                "worktree_path": p.get("worktreePath"),
                "latest_turn_id": None,
                "created_at": p["createdAt"],
                "updated_at": p["updatedAt"],
                "deleted_at": None,
                "runtime_mode": p.get("runtimeMode", "full-access"),
                "interaction_mode": p.get("interactionMode", "default"),
                "model_selection_json": _json_or_none(p.get("modelSelection")),
            },
            ["thread_id"],
        )

    def _on_thread_deleted(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._update(
            "projection_threads",
            {"deleted_at": p["deletedAt"], "updated_at": p["deletedAt"]},
            "thread_id = ?",
            [p["threadId"]],
        )

    def _on_thread_archived(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._update(
            "projection_threads",
            {"archived_at": p["archivedAt"], "updated_at": p["updatedAt"]},
            "thread_id = ?",
            [p["threadId"]],
        )

    def _on_thread_unarchived(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._update(
            "projection_threads",
            {"archived_at": None, "updated_at": p["updatedAt"]},
            "thread_id = ?",
            [p["threadId"]],
        )

    def _touch_thread(self, ev: EventRow) -> None:
        thread_id = ev.payload.get("threadId", ev.stream_id)
        self._update("projection_threads", {"updated_at": ev.occurred_at}, "thread_id = ?", [thread_id])
        self._recompute_summary(thread_id)

    def _recompute_summary(self, thread_id: str) -> None:
        if "pending_approval_count" not in self.columns("projection_threads"):
            return  # the shell summary arrived with migration 023
        q = self.conn.execute
        latest_user = q(
            "SELECT MAX(created_at) FROM projection_thread_messages WHERE thread_id = ? AND role = 'user'",
            (thread_id,),
        ).fetchone()[0]
        approvals = q(
            "SELECT COUNT(*) FROM projection_pending_approvals WHERE thread_id = ? AND status = 'pending'",
            (thread_id,),
        ).fetchone()[0]
        plan = q(
            "SELECT COUNT(*) FROM projection_thread_proposed_plans WHERE thread_id = ? AND implemented_at IS NULL",
            (thread_id,),
        ).fetchone()[0]
        self._update(
            "projection_threads",
            {
                "latest_user_message_at": latest_user,
                "pending_approval_count": approvals,
                "pending_user_input_count": open_user_input_count(self.conn, thread_id),
                "has_actionable_proposed_plan": 1 if plan else 0,
            },
            "thread_id = ?",
            [thread_id],
        )

    # ---- messages ------------------------------------------------------------------------
    def _on_thread_message_sent(self, ev: EventRow, p: dict[str, Any]) -> None:
        old = self._one(
            "SELECT text, created_at FROM projection_thread_messages WHERE message_id = ?",
            [p["messageId"]],
        )
        text = p["text"]
        if old is not None and p["streaming"]:
            text = old["text"] + text
        elif old is not None and not p["streaming"] and text == "":
            text = old["text"]
        self._upsert(
            "projection_thread_messages",
            {
                "message_id": p["messageId"],
                "thread_id": p["threadId"],
                "turn_id": p.get("turnId"),
                "role": p["role"],
                "text": text,
                "is_streaming": 1 if p["streaming"] else 0,
                "created_at": old["created_at"] if old is not None else p["createdAt"],
                "updated_at": p["updatedAt"],
                "attachments_json": _json_or_none(p.get("attachments")),
            },
            ["message_id"],
        )
        if p["role"] == "assistant" and p.get("turnId"):
            self._assistant_message_on_turn(p)

    def _assistant_message_on_turn(self, p: dict[str, Any]) -> None:
        thread_id, turn_id = p["threadId"], p["turnId"]
        self._update(
            "projection_turns",
            {"assistant_message_id": p["messageId"]},
            "thread_id = ? AND turn_id = ?",
            [thread_id, turn_id],
        )
        if p["streaming"]:
            return
        if self.release.settles_turns_on_session_set and self._session_runs(thread_id, turn_id):
            return
        self.conn.execute(
            "UPDATE projection_turns SET state = 'completed', completed_at = COALESCE(completed_at, ?) "
            "WHERE thread_id = ? AND turn_id = ? AND state = 'running'",
            (p["updatedAt"], thread_id, turn_id),
        )

    def _session_runs(self, thread_id: str, turn_id: str) -> bool:
        row = self._one(
            "SELECT status, active_turn_id FROM projection_thread_sessions WHERE thread_id = ?",
            [thread_id],
        )
        return row is not None and row["status"] == "running" and row["active_turn_id"] == turn_id

    # ---- plans and activities ------------------------------------------------------------
    def _on_thread_proposed_plan_upserted(self, ev: EventRow, p: dict[str, Any]) -> None:
        plan = p["proposedPlan"]
        self._upsert(
            "projection_thread_proposed_plans",
            {
                "plan_id": plan["id"],
                "thread_id": p["threadId"],
                "turn_id": plan.get("turnId"),
                "plan_markdown": plan["planMarkdown"],
                "created_at": plan["createdAt"],
                "updated_at": plan["updatedAt"],
                "implemented_at": plan.get("implementedAt"),
                "implementation_thread_id": plan.get("implementationThreadId"),
            },
            ["plan_id"],
        )

    def _on_thread_activity_appended(self, ev: EventRow, p: dict[str, Any]) -> None:
        a = p["activity"]
        self._upsert(
            "projection_thread_activities",
            {
                "activity_id": a["id"],
                "thread_id": p["threadId"],
                "turn_id": a.get("turnId"),
                "tone": a["tone"],
                "kind": a["kind"],
                "summary": a["summary"],
                "payload_json": json.dumps(a.get("payload")),
                "created_at": a["createdAt"],
                "sequence": a.get("sequence"),
            },
            ["activity_id"],
        )
        self._approval_from_activity(ev, p["threadId"], a)

    def _approval_from_activity(self, ev: EventRow, thread_id: str, a: dict[str, Any]) -> None:
        payload = a.get("payload") if isinstance(a.get("payload"), dict) else {}
        request_id = payload.get("requestId") or ev.metadata.get("requestId")
        if not isinstance(request_id, str):
            return
        kind = a["kind"]
        opens = kind == "approval.requested" or (
            self.release.any_request_id_opens_approval and kind != "approval.resolved"
        )
        if kind == "approval.resolved":
            self._resolve_approval(request_id, payload.get("decision"), a["createdAt"])
        elif kind == "provider.approval.respond.failed" and is_stale_approval_failure(payload.get("detail")):
            self._resolve_approval(request_id, None, a["createdAt"])
        elif opens:
            self.conn.execute(
                "INSERT INTO projection_pending_approvals (request_id, thread_id, turn_id, status, decision, "
                "created_at, resolved_at) VALUES (?, ?, ?, 'pending', NULL, ?, NULL) "
                "ON CONFLICT (request_id) DO NOTHING",
                (request_id, thread_id, a.get("turnId"), a["createdAt"]),
            )

    def _resolve_approval(self, request_id: str, decision: str | None, at: str) -> None:
        self.conn.execute(
            "UPDATE projection_pending_approvals SET status = 'resolved', decision = ?, resolved_at = ? "
            "WHERE request_id = ?",
            (decision, at, request_id),
        )

    def _on_thread_approval_response_requested(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._resolve_approval(p["requestId"], p["decision"], p["createdAt"])

    # ---- sessions and turns --------------------------------------------------------------
    def _on_thread_session_set(self, ev: EventRow, p: dict[str, Any]) -> None:
        s, thread_id = p["session"], p["threadId"]
        self._upsert(
            "projection_thread_sessions",
            {
                "thread_id": thread_id,
                "status": s["status"],
                "provider_name": s.get("providerName"),
                "provider_session_id": None,
                "provider_thread_id": None,
                "active_turn_id": s.get("activeTurnId"),
                "last_error": s.get("lastError"),
                "updated_at": s["updatedAt"],
                "runtime_mode": s.get("runtimeMode", "full-access"),
                "provider_instance_id": s.get("providerInstanceId"),
            },
            ["thread_id"],
        )
        self._turns_on_session_set(thread_id, s)
        active = s.get("activeTurnId")
        if active is not None or not self.release.null_active_turn_keeps_latest_turn:
            self._update("projection_threads", {"latest_turn_id": active}, "thread_id = ?", [thread_id])
        self._recompute_summary(thread_id)

    def _turns_on_session_set(self, thread_id: str, s: dict[str, Any]) -> None:
        status, active, at = s["status"], s.get("activeTurnId"), s["updatedAt"]
        if status == "running" and active:
            self._promote_pending(thread_id, active, at)
            if self.release.settles_turns_on_session_set:
                self.conn.execute(
                    "UPDATE projection_turns SET state = 'completed', completed_at = ? "
                    "WHERE thread_id = ? AND state = 'running' AND turn_id IS NOT ? ",
                    (at, thread_id, active),
                )
            return
        if self.release.terminal_session_set_deletes_pending and status in _TERMINAL_DELETES_PENDING:
            self._delete_pending(thread_id)
        if self.release.settles_turns_on_session_set and status not in ("starting", "running"):
            self.conn.execute(
                "UPDATE projection_turns SET state = ?, completed_at = ? WHERE thread_id = ? AND state = 'running'",
                (_SETTLED_STATE.get(status, "interrupted"), at, thread_id),
            )

    def _promote_pending(self, thread_id: str, turn_id: str, at: str) -> None:
        pending = self._one(
            "SELECT * FROM projection_turns WHERE thread_id = ? AND turn_id IS NULL AND state = 'pending' "
            "ORDER BY requested_at DESC, row_id DESC LIMIT 1",
            [thread_id],
        )
        existing = self._one(
            "SELECT row_id FROM projection_turns WHERE thread_id = ? AND turn_id = ?",
            [thread_id, turn_id],
        )
        values: dict[str, Any] = {"state": "running"}
        if pending is not None:
            values.update(
                pending_message_id=pending["pending_message_id"],
                requested_at=pending["requested_at"],
                started_at=pending["requested_at"],
                source_proposed_plan_thread_id=_get(pending, "source_proposed_plan_thread_id"),
                source_proposed_plan_id=_get(pending, "source_proposed_plan_id"),
            )
        if existing is not None:
            values.pop("requested_at", None)
            values.pop("started_at", None)
            self._update("projection_turns", values, "row_id = ?", [existing["row_id"]])
        else:
            values.setdefault("requested_at", at)
            values.setdefault("started_at", at)
            self._insert_turn(thread_id, turn_id, values)
        self._delete_pending(thread_id)

    def _insert_turn(self, thread_id: str, turn_id: str | None, values: dict[str, Any]) -> None:
        row = {
            "thread_id": thread_id,
            "turn_id": turn_id,
            "pending_message_id": None,
            "assistant_message_id": None,
            "state": "running",
            "requested_at": None,
            "started_at": None,
            "completed_at": None,
            "checkpoint_turn_count": None,
            "checkpoint_ref": None,
            "checkpoint_status": None,
            "checkpoint_files_json": "[]",
            "source_proposed_plan_thread_id": None,
            "source_proposed_plan_id": None,
        } | values
        cols = [c for c in row if c in self.columns("projection_turns")]
        self.conn.execute(
            f"INSERT INTO projection_turns ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )

    def _delete_pending(self, thread_id: str) -> None:
        self.conn.execute(
            "DELETE FROM projection_turns WHERE thread_id = ? AND turn_id IS NULL AND state = 'pending' "
            "AND checkpoint_turn_count IS NULL",
            (thread_id,),
        )

    def _on_thread_turn_start_requested(self, ev: EventRow, p: dict[str, Any]) -> None:
        self._delete_pending(p["threadId"])
        plan = p.get("sourceProposedPlan") or {}
        self._insert_turn(
            p["threadId"],
            None,
            {
                "pending_message_id": p["messageId"],
                "state": "pending",
                "requested_at": p["createdAt"],
                "source_proposed_plan_thread_id": plan.get("threadId"),
                "source_proposed_plan_id": plan.get("planId"),
            },
        )

    def _on_thread_turn_interrupt_requested(self, ev: EventRow, p: dict[str, Any]) -> None:
        if p.get("turnId"):
            self.conn.execute(
                "UPDATE projection_turns SET state = 'interrupted', completed_at = COALESCE(completed_at, ?) "
                "WHERE thread_id = ? AND turn_id = ?",
                (p["createdAt"], p["threadId"], p["turnId"]),
            )

    def _on_thread_turn_diff_completed(self, ev: EventRow, p: dict[str, Any]) -> None:
        thread_id, turn_id, count = p["threadId"], p["turnId"], p["checkpointTurnCount"]
        self.conn.execute(
            "UPDATE projection_turns SET checkpoint_turn_count = NULL, checkpoint_ref = NULL, "
            "checkpoint_status = NULL, checkpoint_files_json = '[]' "
            "WHERE thread_id = ? AND checkpoint_turn_count = ? AND turn_id IS NOT ?",
            (thread_id, count, turn_id),
        )
        values: dict[str, Any] = {
            "checkpoint_turn_count": count,
            "checkpoint_ref": p["checkpointRef"],
            "checkpoint_status": p["status"],
            "checkpoint_files_json": json.dumps(p.get("files", [])),
            "assistant_message_id": p.get("assistantMessageId"),
        }
        keep_state = self.release.settles_turns_on_session_set and self._session_runs(thread_id, turn_id)
        if not keep_state:
            values["state"] = "error" if p["status"] == "error" else "completed"
            values["completed_at"] = p["completedAt"]
        if self._one(
            "SELECT 1 FROM projection_turns WHERE thread_id = ? AND turn_id = ?",
            [thread_id, turn_id],
        ):
            self._update("projection_turns", values, "thread_id = ? AND turn_id = ?", [thread_id, turn_id])
        else:
            values.setdefault("state", "running")
            self._insert_turn(
                thread_id,
                turn_id,
                values | {"requested_at": p["completedAt"], "started_at": p["completedAt"]},
            )
        self._update("projection_threads", {"latest_turn_id": turn_id}, "thread_id = ?", [thread_id])

    def _on_thread_reverted(self, ev: EventRow, p: dict[str, Any]) -> None:
        thread_id, count = p["threadId"], p["turnCount"]
        self.conn.execute(
            "DELETE FROM projection_turns WHERE thread_id = ? AND (turn_id IS NULL OR checkpoint_turn_count IS NULL "
            "OR checkpoint_turn_count > ?)",
            (thread_id, count),
        )
        kept = "SELECT turn_id FROM projection_turns WHERE thread_id = ?"
        for table in (
            "projection_thread_messages",
            "projection_thread_activities",
            "projection_thread_proposed_plans",
        ):
            self.conn.execute(
                f"DELETE FROM {table} WHERE thread_id = ? AND turn_id IS NOT NULL AND turn_id NOT IN ({kept})",
                (thread_id, thread_id),
            )
        latest = self.conn.execute(
            "SELECT turn_id FROM projection_turns WHERE thread_id = ? ORDER BY checkpoint_turn_count DESC LIMIT 1",
            (thread_id,),
        ).fetchone()
        self._update(
            "projection_threads",
            {"latest_turn_id": latest[0] if latest else None},
            "thread_id = ?",
            [thread_id],
        )


_THREAD_SUMMARY_EVENTS = {
    "thread.message-sent",
    "thread.proposed-plan-upserted",
    "thread.activity-appended",
    "thread.approval-response-requested",
    "thread.user-input-response-requested",
}


def open_user_input_count(conn: sqlite3.Connection, thread_id: str) -> int:
    """User-input requests opened by an activity and not closed by a later one (reference §4.2)."""
    open_ids: set[str] = set()
    rows = conn.execute(
        "SELECT kind, payload_json FROM projection_thread_activities WHERE thread_id = ? AND kind IN "
        "('user-input.requested', 'user-input.resolved', 'provider.user-input.respond.failed') "
        "ORDER BY created_at, activity_id",
        (thread_id,),
    )
    for kind, payload_json in rows:
        payload = json.loads(payload_json) if payload_json else {}
        request_id = payload.get("requestId") if isinstance(payload, dict) else None
        if not isinstance(request_id, str):
            continue
        if kind == "user-input.requested":
            open_ids.add(request_id)
        elif kind == "user-input.resolved" or is_stale_user_input_failure(payload.get("detail")):
            open_ids.discard(request_id)
    return len(open_ids)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _get(row: sqlite3.Row, col: str) -> Any:
    names = row.keys()  # a Row is not a mapping: `in row` would test its values
    return row[col] if col in names else None
