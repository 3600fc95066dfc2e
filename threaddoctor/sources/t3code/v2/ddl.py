"""The schema of `statev2.sqlite`: migrations 42-61 on top of the V1 file it was copied from.

055 OrchestrationV2 is restated statement by statement from upstream's
`Migrations/055_OrchestrationV2.ts` and `Migrations/OrchestrationV2/*.ts` (reference
t3code-today.md §1.2, read at znoraka/t3code a7266df): its twelve steps in their order, column
order and CHECKs exact. 42-54 and 56-61 follow the reference's table (§1.1). As in ddl.py, the data
rewrites (044, 046, 050's backfill, 055's copies of the private V2 log and project re-baseline)
are left out: these schemas are created empty, and the fixture builder writes the re-baseline
events itself.
"""

from __future__ import annotations

import sqlite3

from threaddoctor.sources.t3code.ddl import MIGRATIONS_TABLE, migrate
from threaddoctor.sources.t3code.releases import MIGRATIONS

# id -> name recorded in effect_sql_migrations (reference §1.1, upstream numbering).
LEDGER: dict[int, str] = {i: n for i, n in MIGRATIONS.items() if i > 41}

V2_MIGRATION = 55


def _add(table: str, *columns: str) -> list[str]:
    return [f"ALTER TABLE {table} ADD COLUMN {c}" for c in columns]


def _v2(name: str, columns: str) -> str:
    return f"CREATE TABLE orchestration_v2_{name} (\n  {columns}\n)"


_BASE = [
    _v2(
        "events",
        "sequence INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, command_id TEXT, "
        "thread_id TEXT NOT NULL, run_id TEXT, node_id TEXT, provider TEXT, raw_event_id TEXT, "
        "event_type TEXT NOT NULL, occurred_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_events_command_idx ON orchestration_v2_events(command_id, sequence)",
    "CREATE INDEX orchestration_v2_events_thread_sequence_idx ON orchestration_v2_events(thread_id, sequence)",
    "CREATE INDEX orchestration_v2_events_thread_type_sequence_idx "
    "ON orchestration_v2_events(thread_id, event_type, sequence)",
    "CREATE INDEX orchestration_v2_events_run_sequence_idx ON orchestration_v2_events(run_id, sequence)",
    "CREATE INDEX orchestration_v2_events_node_sequence_idx ON orchestration_v2_events(node_id, sequence)",
    "CREATE INDEX orchestration_v2_events_raw_event_idx ON orchestration_v2_events(raw_event_id)",
    _v2(
        "command_receipts",
        "command_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, command_type TEXT NOT NULL, "
        "accepted_at TEXT NOT NULL, result_sequence INTEGER NOT NULL, status TEXT NOT NULL, error TEXT",
    ),
    "CREATE INDEX orchestration_v2_command_receipts_thread_sequence_idx "
    "ON orchestration_v2_command_receipts(thread_id, result_sequence)",
    _v2(
        "projection_threads",
        "thread_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, title TEXT NOT NULL, default_provider TEXT NOT NULL, "
        "runtime_mode TEXT NOT NULL, interaction_mode TEXT NOT NULL, active_provider_thread_id TEXT, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, archived_at TEXT, deleted_at TEXT, "
        "payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_threads_project_updated_idx "
    "ON orchestration_v2_projection_threads(project_id, updated_at)",
    _v2(
        "projection_runs",
        "run_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, ordinal INTEGER NOT NULL, provider TEXT NOT NULL, "
        "provider_thread_id TEXT, status TEXT NOT NULL, requested_at TEXT NOT NULL, completed_at TEXT, "
        "payload_json TEXT NOT NULL",
    ),
    "CREATE UNIQUE INDEX orchestration_v2_projection_runs_thread_ordinal_idx "
    "ON orchestration_v2_projection_runs(thread_id, ordinal)",
    "CREATE INDEX orchestration_v2_projection_runs_provider_thread_idx "
    "ON orchestration_v2_projection_runs(provider_thread_id)",
    "CREATE INDEX orchestration_v2_projection_runs_thread_status_idx "
    "ON orchestration_v2_projection_runs(thread_id, status)",
    _v2(
        "projection_run_attempts",
        "attempt_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT NOT NULL, attempt_ordinal INTEGER NOT NULL, "
        "root_node_id TEXT NOT NULL, provider TEXT NOT NULL, provider_thread_id TEXT NOT NULL, provider_turn_id TEXT, "
        "status TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE UNIQUE INDEX orchestration_v2_projection_run_attempts_run_ordinal_idx "
    "ON orchestration_v2_projection_run_attempts(run_id, attempt_ordinal)",
    "CREATE INDEX orchestration_v2_projection_run_attempts_thread_idx "
    "ON orchestration_v2_projection_run_attempts(thread_id, run_id)",
    _v2(
        "projection_nodes",
        "node_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, parent_node_id TEXT, "
        "root_node_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, provider_thread_id TEXT, "
        "provider_turn_id TEXT, runtime_request_id TEXT, checkpoint_scope_id TEXT, started_at TEXT, "
        "completed_at TEXT, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_nodes_thread_run_idx ON orchestration_v2_projection_nodes(thread_id, run_id)",
    "CREATE INDEX orchestration_v2_projection_nodes_parent_idx ON orchestration_v2_projection_nodes(parent_node_id)",
    "CREATE INDEX orchestration_v2_projection_nodes_provider_turn_idx "
    "ON orchestration_v2_projection_nodes(provider_turn_id)",
    _v2(
        "projection_provider_sessions",
        "provider_session_id TEXT PRIMARY KEY, thread_id TEXT, provider TEXT NOT NULL, status TEXT NOT NULL, "
        "model TEXT, updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_provider_sessions_thread_idx "
    "ON orchestration_v2_projection_provider_sessions(thread_id)",
    "CREATE INDEX orchestration_v2_projection_provider_sessions_provider_status_idx "
    "ON orchestration_v2_projection_provider_sessions(provider, status)",
    _v2(
        "projection_provider_threads",
        "provider_thread_id TEXT PRIMARY KEY, thread_id TEXT, owner_node_id TEXT, provider TEXT NOT NULL, "
        "provider_session_id TEXT, status TEXT NOT NULL, first_run_ordinal INTEGER, last_run_ordinal INTEGER, "
        "updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_provider_threads_thread_idx "
    "ON orchestration_v2_projection_provider_threads(thread_id)",
    "CREATE INDEX orchestration_v2_projection_provider_threads_session_idx "
    "ON orchestration_v2_projection_provider_threads(provider_session_id)",
    "CREATE INDEX orchestration_v2_projection_provider_threads_owner_idx "
    "ON orchestration_v2_projection_provider_threads(owner_node_id)",
    _v2(
        "projection_provider_turns",
        "provider_turn_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, provider_thread_id TEXT NOT NULL, "
        "node_id TEXT NOT NULL, run_attempt_id TEXT, ordinal INTEGER NOT NULL, status TEXT NOT NULL, "
        "started_at TEXT, completed_at TEXT, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_provider_turns_thread_idx "
    "ON orchestration_v2_projection_provider_turns(thread_id)",
    "CREATE UNIQUE INDEX orchestration_v2_projection_provider_turns_thread_ordinal_idx "
    "ON orchestration_v2_projection_provider_turns(provider_thread_id, ordinal)",
    _v2(
        "projection_runtime_requests",
        "runtime_request_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, node_id TEXT NOT NULL, provider_turn_id TEXT, "
        "kind TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT, "
        "payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_runtime_requests_thread_status_idx "
    "ON orchestration_v2_projection_runtime_requests(thread_id, status)",
    "CREATE INDEX orchestration_v2_projection_runtime_requests_provider_turn_idx "
    "ON orchestration_v2_projection_runtime_requests(provider_turn_id)",
    _v2(
        "projection_messages",
        "message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, node_id TEXT, role TEXT NOT NULL, "
        "streaming INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_messages_thread_created_idx "
    "ON orchestration_v2_projection_messages(thread_id, created_at, message_id)",
    "CREATE INDEX orchestration_v2_projection_messages_run_idx ON orchestration_v2_projection_messages(run_id)",
    "CREATE INDEX orchestration_v2_projection_messages_node_idx ON orchestration_v2_projection_messages(node_id)",
    _v2(
        "projection_plans",
        "plan_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, node_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "status TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_plans_thread_idx ON orchestration_v2_projection_plans(thread_id)",
    "CREATE INDEX orchestration_v2_projection_plans_run_idx ON orchestration_v2_projection_plans(run_id)",
    _v2(
        "projection_turn_items",
        "turn_item_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, node_id TEXT, provider_thread_id TEXT, "
        "provider_turn_id TEXT, parent_item_id TEXT, ordinal INTEGER NOT NULL, type TEXT NOT NULL, "
        "status TEXT NOT NULL, updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_turn_items_thread_ordinal_idx "
    "ON orchestration_v2_projection_turn_items(thread_id, ordinal, turn_item_id)",
    "CREATE INDEX orchestration_v2_projection_turn_items_run_ordinal_idx "
    "ON orchestration_v2_projection_turn_items(run_id, ordinal)",
    "CREATE INDEX orchestration_v2_projection_turn_items_node_ordinal_idx "
    "ON orchestration_v2_projection_turn_items(node_id, ordinal)",
    "CREATE INDEX orchestration_v2_projection_turn_items_provider_turn_idx "
    "ON orchestration_v2_projection_turn_items(provider_turn_id)",
    _v2(
        "projection_checkpoint_scopes",
        "scope_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, node_id TEXT NOT NULL, parent_scope_id TEXT, "
        "provider_thread_id TEXT, kind TEXT NOT NULL, ordinal_within_parent INTEGER NOT NULL, "
        "advances_app_run_count INTEGER NOT NULL, created_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_checkpoint_scopes_thread_idx "
    "ON orchestration_v2_projection_checkpoint_scopes(thread_id)",
    "CREATE INDEX orchestration_v2_projection_checkpoint_scopes_parent_idx "
    "ON orchestration_v2_projection_checkpoint_scopes(parent_scope_id)",
    _v2(
        "projection_checkpoints",
        "checkpoint_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, scope_id TEXT NOT NULL, run_id TEXT, "
        "node_id TEXT NOT NULL, parent_checkpoint_id TEXT, ordinal_within_scope INTEGER NOT NULL, "
        "app_run_ordinal INTEGER, status TEXT NOT NULL, captured_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE UNIQUE INDEX orchestration_v2_projection_checkpoints_scope_ordinal_idx "
    "ON orchestration_v2_projection_checkpoints(scope_id, ordinal_within_scope)",
    "CREATE INDEX orchestration_v2_projection_checkpoints_thread_idx ON orchestration_v2_projection_checkpoints(thread_id)",
    "CREATE INDEX orchestration_v2_projection_checkpoints_parent_idx "
    "ON orchestration_v2_projection_checkpoints(parent_checkpoint_id)",
    _v2(
        "projection_context_handoffs",
        "context_handoff_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, target_run_id TEXT NOT NULL, "
        "to_provider_thread_id TEXT NOT NULL, strategy TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL, "
        "payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_context_handoffs_thread_idx "
    "ON orchestration_v2_projection_context_handoffs(thread_id)",
    "CREATE INDEX orchestration_v2_projection_context_handoffs_target_run_idx "
    "ON orchestration_v2_projection_context_handoffs(target_run_id)",
    _v2(
        "projection_context_transfers",
        "context_transfer_id TEXT PRIMARY KEY, source_thread_id TEXT NOT NULL, target_thread_id TEXT NOT NULL, "
        "target_run_id TEXT, type TEXT NOT NULL, status TEXT NOT NULL, source_provider TEXT, target_provider TEXT, "
        "updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_context_transfers_source_thread_idx "
    "ON orchestration_v2_projection_context_transfers(source_thread_id)",
    "CREATE INDEX orchestration_v2_projection_context_transfers_target_thread_idx "
    "ON orchestration_v2_projection_context_transfers(target_thread_id, status)",
    "CREATE INDEX orchestration_v2_projection_context_transfers_target_run_idx "
    "ON orchestration_v2_projection_context_transfers(target_run_id)",
]

_SUBAGENTS = [
    _v2(
        "projection_subagents",
        "subagent_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, run_id TEXT, parent_node_id TEXT NOT NULL, "
        "provider TEXT NOT NULL, provider_thread_id TEXT, child_thread_id TEXT, origin TEXT NOT NULL, "
        "status TEXT NOT NULL, started_at TEXT, completed_at TEXT, updated_at TEXT NOT NULL, payload_json TEXT NOT NULL",
    ),
    "CREATE INDEX orchestration_v2_projection_subagents_thread_idx "
    "ON orchestration_v2_projection_subagents(thread_id, started_at, subagent_id)",
    "CREATE INDEX orchestration_v2_projection_subagents_parent_node_idx "
    "ON orchestration_v2_projection_subagents(parent_node_id)",
    "CREATE INDEX orchestration_v2_projection_subagents_provider_thread_idx "
    "ON orchestration_v2_projection_subagents(provider_thread_id)",
    "CREATE INDEX orchestration_v2_projection_subagents_child_thread_idx "
    "ON orchestration_v2_projection_subagents(child_thread_id)",
]


def _outbox(table: str, statuses: str) -> str:
    return _v2(
        table,
        "effect_id TEXT PRIMARY KEY, command_id TEXT NOT NULL, thread_id TEXT NOT NULL, effect_type TEXT NOT NULL, "
        f"payload_json TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ({statuses})), "
        "attempt_count INTEGER NOT NULL DEFAULT 0, available_at TEXT NOT NULL, lease_owner TEXT, lease_expires_at TEXT, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, completed_at TEXT, last_error TEXT",
    )


_OUTBOX_INDEXES = [
    "CREATE INDEX orchestration_v2_effect_outbox_claim_idx "
    "ON orchestration_v2_effect_outbox(status, available_at, lease_expires_at, created_at)",
    "CREATE INDEX orchestration_v2_effect_outbox_command_idx ON orchestration_v2_effect_outbox(command_id, effect_id)",
]

_FOUNDATION = [
    *_add("orchestration_v2_events", "driver TEXT", "provider_instance_id TEXT"),
    "CREATE INDEX orchestration_v2_events_instance_sequence_idx "
    "ON orchestration_v2_events(provider_instance_id, sequence)",
    *_add("orchestration_v2_projection_threads", "provider_instance_id TEXT"),
    *_add("orchestration_v2_projection_runs", "provider_instance_id TEXT"),
    *_add("orchestration_v2_projection_run_attempts", "provider_instance_id TEXT"),
    *_add("orchestration_v2_projection_provider_sessions", "driver TEXT", "provider_instance_id TEXT"),
    "CREATE INDEX orchestration_v2_projection_provider_sessions_instance_status_idx "
    "ON orchestration_v2_projection_provider_sessions(provider_instance_id, status)",
    *_add("orchestration_v2_projection_provider_threads", "driver TEXT", "provider_instance_id TEXT"),
    "CREATE INDEX orchestration_v2_projection_provider_threads_instance_status_idx "
    "ON orchestration_v2_projection_provider_threads(provider_instance_id, status)",
    *_add("orchestration_v2_projection_subagents", "driver TEXT", "provider_instance_id TEXT"),
    *_add(
        "orchestration_v2_projection_context_transfers",
        "source_provider_instance_id TEXT",
        "target_provider_instance_id TEXT",
    ),
    _outbox("effect_outbox", "'pending', 'running', 'succeeded', 'failed'"),
    *_OUTBOX_INDEXES,
    "CREATE TABLE orchestration_v2_turn_item_positions (\n  thread_id TEXT NOT NULL, turn_item_id TEXT NOT NULL, "
    "ordinal INTEGER NOT NULL, PRIMARY KEY (thread_id, turn_item_id), UNIQUE (thread_id, ordinal)\n)",
    _v2(
        "projection_metadata",
        "projection_name TEXT PRIMARY KEY, schema_version INTEGER NOT NULL, last_sequence INTEGER NOT NULL, "
        "updated_at TEXT NOT NULL",
    ),
    "INSERT INTO orchestration_v2_projection_metadata (projection_name, schema_version, last_sequence, updated_at) "
    "VALUES ('thread-projections', 1, COALESCE((SELECT MAX(sequence) FROM orchestration_v2_events), 0), "
    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
]

_PROVIDER_SESSION_BINDINGS = [
    "CREATE TABLE orchestration_v2_projection_provider_session_bindings (\n  provider_session_id TEXT NOT NULL, "
    "thread_id TEXT NOT NULL, PRIMARY KEY (provider_session_id, thread_id)\n)",
    "CREATE INDEX orchestration_v2_projection_provider_session_bindings_thread_idx "
    "ON orchestration_v2_projection_provider_session_bindings(thread_id)",
]

_THREAD_LAUNCH_WORKFLOWS = [
    "CREATE TABLE IF NOT EXISTS orchestration_v2_thread_launch_workflows (\n  command_id TEXT PRIMARY KEY, "
    "thread_id TEXT NOT NULL, project_id TEXT NOT NULL, status TEXT NOT NULL, title TEXT NOT NULL, worktree_path TEXT, "
    "branch TEXT, setup_committed INTEGER NOT NULL DEFAULT 0, thread_committed INTEGER NOT NULL DEFAULT 0, "
    "message_committed INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL, "
    "updated_at TEXT NOT NULL\n)",
]

_APPLICATION_EVENT_SOURCE = [
    "ALTER TABLE orchestration_events ADD COLUMN application_event_version INTEGER NOT NULL DEFAULT 1",
    "CREATE INDEX idx_orchestration_events_application_sequence "
    "ON orchestration_events(application_event_version, sequence)",
    "ALTER TABLE orchestration_command_receipts ADD COLUMN command_type TEXT NOT NULL DEFAULT 'legacy'",
]

_EFFECT_CANCELLATION = [
    _outbox("effect_outbox_next", "'pending', 'running', 'succeeded', 'failed', 'cancelled'"),
    "INSERT INTO orchestration_v2_effect_outbox_next SELECT * FROM orchestration_v2_effect_outbox",
    "DROP TABLE orchestration_v2_effect_outbox",
    "ALTER TABLE orchestration_v2_effect_outbox_next RENAME TO orchestration_v2_effect_outbox",
    *_OUTBOX_INDEXES,
    "CREATE INDEX orchestration_v2_effect_outbox_thread_status_idx "
    "ON orchestration_v2_effect_outbox(thread_id, status, effect_type)",
]

_SCHEDULED_TASKS = [
    "CREATE TABLE IF NOT EXISTS scheduled_tasks (\n  task_id TEXT PRIMARY KEY, title TEXT NOT NULL, "
    "prompt TEXT NOT NULL, enabled INTEGER NOT NULL, schedule_json TEXT NOT NULL, project_id TEXT NOT NULL, "
    "thread_id TEXT, workspace_strategy_json TEXT NOT NULL, model_selection_json TEXT NOT NULL, "
    "runtime_mode TEXT NOT NULL, interaction_mode TEXT NOT NULL, created_by TEXT NOT NULL, "
    "creation_source TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, next_run_at TEXT, "
    "last_run_at TEXT, last_run_status TEXT NOT NULL, last_run_error TEXT, run_count INTEGER NOT NULL\n)",
    "CREATE INDEX IF NOT EXISTS idx_scheduled_tasks_due ON scheduled_tasks(enabled, next_run_at) "
    "WHERE enabled = 1 AND next_run_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_scheduled_tasks_project ON scheduled_tasks(project_id, updated_at)",
]

_LEGACY_V1_IMPORT_STATE = [
    _v2(
        "legacy_imports",
        "thread_id TEXT PRIMARY KEY, source_updated_at TEXT NOT NULL, shell_imported_at TEXT NOT NULL, "
        "transcript_imported_at TEXT, imported_message_count INTEGER NOT NULL DEFAULT 0, last_error TEXT",
    ),
    "CREATE INDEX orchestration_v2_legacy_imports_pending_transcript_idx "
    "ON orchestration_v2_legacy_imports(transcript_imported_at, shell_imported_at, thread_id)",
]

_APPLICATION_EVENT_SEQUENCE_INDEXES = [
    "CREATE INDEX idx_orchestration_events_application_high_water ON orchestration_events(sequence) "
    "WHERE aggregate_kind = 'project' OR (application_event_version = 2 AND aggregate_kind = 'thread')",
    "CREATE INDEX idx_orchestration_events_agent_stream_sequence ON orchestration_events(stream_id, sequence) "
    "WHERE application_event_version = 2 AND aggregate_kind = 'thread'",
]

_RECOVERY_INDEXES = [
    "CREATE INDEX orchestration_events_v2_created_threads_idx ON orchestration_events(stream_id) "
    "WHERE application_event_version = 2 AND aggregate_kind = 'thread' AND event_type = 'thread.created'",
    "CREATE INDEX orchestration_v2_projection_runs_recovery_idx ON orchestration_v2_projection_runs(status, thread_id) "
    "WHERE status IN ('queued', 'preparing', 'starting', 'running', 'waiting')",
    "CREATE INDEX orchestration_v2_projection_requests_recovery_idx "
    "ON orchestration_v2_projection_runtime_requests(thread_id) WHERE status = 'pending'",
    "CREATE INDEX orchestration_v2_projection_turn_items_recovery_idx ON orchestration_v2_projection_turn_items(thread_id) "
    "WHERE type IN ('command_execution', 'dynamic_tool', 'subagent') AND status IN ('pending', 'running', 'waiting')",
]

_SHELL_INDEXES = [
    "CREATE INDEX orchestration_v2_projection_turn_items_thread_run_idx "
    "ON orchestration_v2_projection_turn_items(thread_id, run_id)",
    "CREATE INDEX orchestration_v2_projection_turn_items_shell_pending_idx "
    "ON orchestration_v2_projection_turn_items(thread_id, run_id) "
    "WHERE type IN ('command_execution', 'dynamic_tool', 'subagent') "
    "AND status NOT IN ('completed', 'interrupted', 'failed', 'cancelled')",
    "CREATE INDEX orchestration_v2_projection_messages_latest_user_idx "
    "ON orchestration_v2_projection_messages(thread_id, updated_at DESC, message_id DESC) WHERE role = 'user'",
]

# Base -> Subagents -> Foundation -> ProviderSessionBindings -> ThreadLaunchWorkflows -> ApplicationEventSource
# -> EffectCancellation -> ScheduledTasks -> LegacyV1ImportState -> ApplicationEventSequenceIndexes
# -> RecoveryIndexes -> ShellIndexes, as 055_OrchestrationV2.ts composes them.
ORCHESTRATION_V2_SQL = [
    *_BASE,
    *_SUBAGENTS,
    *_FOUNDATION,
    *_PROVIDER_SESSION_BINDINGS,
    *_THREAD_LAUNCH_WORKFLOWS,
    *_APPLICATION_EVENT_SOURCE,
    *_EFFECT_CANCELLATION,
    *_SCHEDULED_TASKS,
    *_LEGACY_V1_IMPORT_STATE,
    *_APPLICATION_EVENT_SEQUENCE_INDEXES,
    *_RECOVERY_INDEXES,
    *_SHELL_INDEXES,
]

MIGRATION_SQL: dict[int, list[str]] = {
    42: _add("projection_threads", "linked_pull_request_json TEXT"),
    43: _add("projection_threads", "unsettled_at TEXT"),
    44: [],  # rewrites existing project rows and project.created payloads only
    45: _add("projection_projects", "auto_pull INTEGER NOT NULL DEFAULT 0"),
    46: [],  # repairs projection_threads.settled_at of existing rows only
    47: _add("projection_projects", "project_icon_json TEXT"),
    48: _add("projection_threads", "branch_pull_request_json TEXT"),
    49: _add("projection_threads", "active_order_key TEXT"),
    50: [
        "CREATE TABLE IF NOT EXISTS projection_thread_pull_requests (\n  thread_id TEXT NOT NULL, host TEXT NOT NULL, "
        "repository TEXT NOT NULL, number INTEGER NOT NULL, url TEXT NOT NULL, source TEXT NOT NULL, "
        "linked_at TEXT NOT NULL, snapshot_json TEXT, stack_json TEXT, PRIMARY KEY (thread_id, host, repository, number)\n)",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_pull_requests_pr "
        "ON projection_thread_pull_requests(host, repository, number)",
    ],
    51: _add("projection_thread_messages", "context_json TEXT"),
    52: _add("projection_threads", "title_state_json TEXT"),
    53: [
        "CREATE TABLE IF NOT EXISTS pull_request_files_viewed (\n  provider TEXT NOT NULL, host TEXT NOT NULL, "
        "repository TEXT NOT NULL, number INTEGER NOT NULL, viewer TEXT NOT NULL, path TEXT NOT NULL, revision TEXT, "
        "viewed_at TEXT NOT NULL, PRIMARY KEY (provider, host, repository, number, viewer, path)\n) WITHOUT ROWID"
    ],
    54: _add("projection_threads", "auto_settle_disabled_at TEXT"),
    55: ORCHESTRATION_V2_SQL,
    56: [
        "DROP INDEX IF EXISTS idx_projection_threads_project_id",
        "DROP INDEX IF EXISTS idx_projection_thread_messages_thread_created",
        "DROP INDEX IF EXISTS idx_projection_thread_activities_thread_sequence",
        "DROP INDEX IF EXISTS idx_projection_turns_thread_requested",
    ],
    57: [
        *_add("scheduled_tasks", "webhook_token TEXT", "webhook_secret TEXT"),
        "CREATE TABLE IF NOT EXISTS scheduled_task_webhook_deliveries (\n  delivery_id TEXT PRIMARY KEY, "
        "task_id TEXT NOT NULL, received_at TEXT NOT NULL, method TEXT NOT NULL, query TEXT, headers_json TEXT, "
        "body TEXT, body_bytes INTEGER, body_truncated INTEGER, outcome TEXT NOT NULL, signature_verified INTEGER, "
        "missing_fields_json TEXT, rendered_prompt TEXT, error TEXT\n)",
        "CREATE INDEX IF NOT EXISTS idx_scheduled_task_webhook_deliveries_task "
        "ON scheduled_task_webhook_deliveries(task_id, received_at)",
    ],
    58: [
        "CREATE TABLE IF NOT EXISTS scheduled_task_webhook_relay_deliveries (\n  relay_delivery_id TEXT PRIMARY KEY, "
        "task_id TEXT NOT NULL, seen_at TEXT NOT NULL\n)",
        "CREATE INDEX IF NOT EXISTS idx_scheduled_task_webhook_relay_deliveries_seen "
        "ON scheduled_task_webhook_relay_deliveries(seen_at)",
    ],
    59: [
        "CREATE TABLE IF NOT EXISTS mcp_app_model_context (\n  thread_id TEXT NOT NULL, item_id TEXT NOT NULL, "
        "server TEXT NOT NULL, tool TEXT NOT NULL, text TEXT NOT NULL, updated_at TEXT NOT NULL, "
        "PRIMARY KEY (thread_id, item_id)\n)"
    ],
    60: [
        "CREATE INDEX IF NOT EXISTS orchestration_v2_projection_turn_items_user_message_idx "
        "ON orchestration_v2_projection_turn_items(thread_id, ordinal, turn_item_id) WHERE type = 'user_message'",
        "CREATE INDEX IF NOT EXISTS orchestration_v2_projection_nodes_live_idx "
        "ON orchestration_v2_projection_nodes(thread_id) WHERE status IN ('pending', 'starting', 'running', 'waiting')",
    ],
    # 061's sweep index is reduced to its plain columns (its json_extract terms are UPSTREAM-COPY only).
    61: [
        "DROP INDEX IF EXISTS orchestration_v2_projection_threads_active_idx",
        "CREATE INDEX orchestration_v2_projection_threads_active_idx "
        "ON orchestration_v2_projection_threads(updated_at, thread_id, provider_instance_id) "
        "WHERE deleted_at IS NULL AND archived_at IS NULL",
        "CREATE INDEX IF NOT EXISTS orchestration_v2_projection_runs_failed_idx "
        "ON orchestration_v2_projection_runs(thread_id) WHERE status = 'failed'",
    ],
}


def migrate_late(conn: sqlite3.Connection, up_to: int = 61) -> None:
    """Run 1..41 (ddl.migrate) and then 42..up_to as the app records them."""
    conn.execute(MIGRATIONS_TABLE)
    migrate(conn, min(up_to, 41))
    done = conn.execute("SELECT COALESCE(MAX(migration_id), 0) FROM effect_sql_migrations").fetchone()[0]
    for mid in range(max(done, 41) + 1, up_to + 1):
        for stmt in MIGRATION_SQL[mid]:
            conn.execute(stmt)
        conn.execute("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)", (mid, LEDGER[mid]))
