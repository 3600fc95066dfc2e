"""T3 Code's schema, migration by migration (restated from upstream's Migrations/*.ts).

Applying ids 1..N in order yields the tables, column order and indexes of a real database at
that generation (ALTER TABLE appends, migration 016 drops `model`). Used to build fixtures and to
load exported logs into a scratch database. The data rewrites of 011/016/024/025/026 are left
out: they touch existing rows only, and these schemas are always created empty.
"""

from __future__ import annotations

import sqlite3

from threaddoctor.sources.t3code.releases import MIGRATIONS


def _add(table: str, *columns: str) -> list[str]:
    return [f"ALTER TABLE {table} ADD COLUMN {c}" for c in columns]


MIGRATION_SQL: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS orchestration_events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  aggregate_kind TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  stream_version INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  command_id TEXT,
  causation_event_id TEXT,
  correlation_id TEXT,
  actor_kind TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL
)""",
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_orch_events_stream_version "
        "ON orchestration_events(aggregate_kind, stream_id, stream_version)",
        "CREATE INDEX IF NOT EXISTS idx_orch_events_stream_sequence "
        "ON orchestration_events(aggregate_kind, stream_id, sequence)",
        "CREATE INDEX IF NOT EXISTS idx_orch_events_command_id ON orchestration_events(command_id)",
        "CREATE INDEX IF NOT EXISTS idx_orch_events_correlation_id ON orchestration_events(correlation_id)",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS orchestration_command_receipts (
  command_id TEXT PRIMARY KEY,
  aggregate_kind TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  result_sequence INTEGER NOT NULL,
  status TEXT NOT NULL,
  error TEXT
)""",
        "CREATE INDEX IF NOT EXISTS idx_orch_command_receipts_aggregate "
        "ON orchestration_command_receipts(aggregate_kind, aggregate_id)",
        "CREATE INDEX IF NOT EXISTS idx_orch_command_receipts_sequence "
        "ON orchestration_command_receipts(result_sequence)",
    ],
    3: [
        """CREATE TABLE IF NOT EXISTS checkpoint_diff_blobs (
  thread_id TEXT NOT NULL,
  from_turn_count INTEGER NOT NULL,
  to_turn_count INTEGER NOT NULL,
  diff TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (thread_id, from_turn_count, to_turn_count)
)""",
        "CREATE INDEX IF NOT EXISTS idx_checkpoint_diff_blobs_thread_to_turn "
        "ON checkpoint_diff_blobs(thread_id, to_turn_count)",
    ],
    4: [
        """CREATE TABLE IF NOT EXISTS provider_session_runtime (
  thread_id TEXT PRIMARY KEY,
  provider_name TEXT NOT NULL,
  adapter_key TEXT NOT NULL,
  runtime_mode TEXT NOT NULL DEFAULT 'full-access',
  status TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  resume_cursor_json TEXT,
  runtime_payload_json TEXT
)""",
        "CREATE INDEX IF NOT EXISTS idx_provider_session_runtime_status ON provider_session_runtime(status)",
        "CREATE INDEX IF NOT EXISTS idx_provider_session_runtime_provider ON provider_session_runtime(provider_name)",
    ],
    5: [
        """CREATE TABLE IF NOT EXISTS projection_projects (
  project_id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  workspace_root TEXT NOT NULL,
  default_model TEXT,
  scripts_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
)""",
        """CREATE TABLE IF NOT EXISTS projection_threads (
  thread_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  title TEXT NOT NULL,
  model TEXT NOT NULL,
  branch TEXT,
  worktree_path TEXT,
  latest_turn_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
)""",
        """CREATE TABLE IF NOT EXISTS projection_thread_messages (
  message_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_id TEXT,
  role TEXT NOT NULL,
  text TEXT NOT NULL,
  is_streaming INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
)""",
        """CREATE TABLE IF NOT EXISTS projection_thread_activities (
  activity_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_id TEXT,
  tone TEXT NOT NULL,
  kind TEXT NOT NULL,
  summary TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  created_at TEXT NOT NULL
)""",
        """CREATE TABLE IF NOT EXISTS projection_thread_sessions (
  thread_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  provider_name TEXT,
  provider_session_id TEXT,
  provider_thread_id TEXT,
  active_turn_id TEXT,
  last_error TEXT,
  updated_at TEXT NOT NULL
)""",
        """CREATE TABLE IF NOT EXISTS projection_turns (
  row_id INTEGER PRIMARY KEY AUTOINCREMENT,
  thread_id TEXT NOT NULL,
  turn_id TEXT,
  pending_message_id TEXT,
  assistant_message_id TEXT,
  state TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT,
  checkpoint_turn_count INTEGER,
  checkpoint_ref TEXT,
  checkpoint_status TEXT,
  checkpoint_files_json TEXT NOT NULL,
  UNIQUE (thread_id, turn_id),
  UNIQUE (thread_id, checkpoint_turn_count)
)""",
        """CREATE TABLE IF NOT EXISTS projection_pending_approvals (
  request_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_id TEXT,
  status TEXT NOT NULL,
  decision TEXT,
  created_at TEXT NOT NULL,
  resolved_at TEXT
)""",
        """CREATE TABLE IF NOT EXISTS projection_state (
  projector TEXT PRIMARY KEY,
  last_applied_sequence INTEGER NOT NULL,
  updated_at TEXT NOT NULL
)""",
        "CREATE INDEX IF NOT EXISTS idx_projection_projects_updated_at ON projection_projects(updated_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_threads_project_id ON projection_threads(project_id)",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_messages_thread_created "
        "ON projection_thread_messages(thread_id, created_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_activities_thread_created "
        "ON projection_thread_activities(thread_id, created_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_sessions_provider_session "
        "ON projection_thread_sessions(provider_session_id)",
        "CREATE INDEX IF NOT EXISTS idx_projection_turns_thread_requested ON projection_turns(thread_id, requested_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_turns_thread_checkpoint_completed "
        "ON projection_turns(thread_id, checkpoint_turn_count, completed_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_pending_approvals_thread_status "
        "ON projection_pending_approvals(thread_id, status)",
    ],
    6: _add("projection_thread_sessions", "runtime_mode TEXT NOT NULL DEFAULT 'full-access'"),
    7: _add("projection_thread_messages", "attachments_json TEXT"),
    8: [
        *_add("projection_thread_activities", "sequence INTEGER"),
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_activities_thread_sequence "
        "ON projection_thread_activities(thread_id, sequence)",
    ],
    9: [],  # emptied upstream on 2026-03-04; it only records its row
    10: _add("projection_threads", "runtime_mode TEXT NOT NULL DEFAULT 'full-access'"),
    11: [
        "UPDATE orchestration_events SET payload_json = json_set(payload_json, '$.runtimeMode', 'full-access') "
        "WHERE event_type = 'thread.created' AND json_type(payload_json, '$.runtimeMode') IS NULL"
    ],
    12: _add("projection_threads", "interaction_mode TEXT NOT NULL DEFAULT 'default'"),
    13: [
        """CREATE TABLE IF NOT EXISTS projection_thread_proposed_plans (
  plan_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_id TEXT,
  plan_markdown TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
)""",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_proposed_plans_thread_created "
        "ON projection_thread_proposed_plans(thread_id, created_at)",
    ],
    14: _add("projection_thread_proposed_plans", "implemented_at TEXT", "implementation_thread_id TEXT"),
    15: _add("projection_turns", "source_proposed_plan_thread_id TEXT", "source_proposed_plan_id TEXT"),
    16: [
        *_add("projection_projects", "default_model_selection_json TEXT"),
        *_add("projection_threads", "model_selection_json TEXT"),
        "ALTER TABLE projection_projects DROP COLUMN default_model",
        "ALTER TABLE projection_threads DROP COLUMN model",
    ],
    17: _add("projection_threads", "archived_at TEXT"),
    18: [
        "CREATE INDEX IF NOT EXISTS idx_projection_threads_project_archived_at "
        "ON projection_threads(project_id, archived_at)"
    ],
    19: [
        "CREATE INDEX IF NOT EXISTS idx_projection_projects_workspace_root_deleted_at "
        "ON projection_projects(workspace_root, deleted_at)",
        "CREATE INDEX IF NOT EXISTS idx_projection_threads_project_deleted_created "
        "ON projection_threads(project_id, deleted_at, created_at)",
    ],
    20: [
        "CREATE TABLE IF NOT EXISTS auth_pairing_links (id TEXT PRIMARY KEY, credential TEXT NOT NULL UNIQUE, "
        "method TEXT NOT NULL, role TEXT NOT NULL, subject TEXT NOT NULL, created_at TEXT NOT NULL, "
        "expires_at TEXT NOT NULL, consumed_at TEXT, revoked_at TEXT)",
        "CREATE INDEX IF NOT EXISTS idx_auth_pairing_links_active ON auth_pairing_links(revoked_at, consumed_at, expires_at)",
        "CREATE TABLE IF NOT EXISTS auth_sessions (session_id TEXT PRIMARY KEY, subject TEXT NOT NULL, "
        "role TEXT NOT NULL, method TEXT NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT)",
        "CREATE INDEX IF NOT EXISTS idx_auth_sessions_active ON auth_sessions(revoked_at, expires_at, issued_at)",
    ],
    21: [
        *_add("auth_pairing_links", "label TEXT"),
        *_add(
            "auth_sessions",
            "client_label TEXT",
            "client_ip_address TEXT",
            "client_user_agent TEXT",
            "client_device_type TEXT NOT NULL DEFAULT 'unknown'",
            "client_os TEXT",
            "client_browser TEXT",
        ),
    ],
    22: _add("auth_sessions", "last_connected_at TEXT"),
    23: _add(
        "projection_threads",
        "latest_user_message_at TEXT",
        "pending_approval_count INTEGER NOT NULL DEFAULT 0",
        "pending_user_input_count INTEGER NOT NULL DEFAULT 0",
        "has_actionable_proposed_plan INTEGER NOT NULL DEFAULT 0",
    ),
    24: [],  # data backfill only
    25: [],  # data cleanup only
    26: [],  # data rewrite only
    27: [
        *_add("provider_session_runtime", "provider_instance_id TEXT"),
        "CREATE INDEX IF NOT EXISTS idx_provider_session_runtime_instance ON provider_session_runtime(provider_instance_id)",
    ],
    28: [
        *_add("projection_thread_sessions", "provider_instance_id TEXT"),
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_sessions_instance "
        "ON projection_thread_sessions(provider_instance_id)",
    ],
    29: [
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_activities_thread_sequence_created_id "
        "ON projection_thread_activities(thread_id, sequence, created_at, activity_id)",
        "CREATE INDEX IF NOT EXISTS idx_projection_thread_messages_thread_created_id "
        "ON projection_thread_messages(thread_id, created_at, message_id)",
    ],
    30: [
        "CREATE INDEX IF NOT EXISTS idx_projection_threads_shell_active "
        "ON projection_threads(deleted_at, archived_at, project_id, created_at, thread_id)",
        "CREATE INDEX IF NOT EXISTS idx_projection_threads_shell_archived "
        "ON projection_threads(deleted_at, archived_at, project_id, thread_id)",
    ],
    31: [
        "DROP TABLE IF EXISTS auth_pairing_links",
        "DROP TABLE IF EXISTS auth_sessions",
        "CREATE TABLE auth_pairing_links (id TEXT PRIMARY KEY, credential TEXT NOT NULL UNIQUE, method TEXT NOT NULL, "
        "scopes TEXT NOT NULL, subject TEXT NOT NULL, label TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, "
        "consumed_at TEXT, revoked_at TEXT)",
        "CREATE INDEX idx_auth_pairing_links_active ON auth_pairing_links(revoked_at, consumed_at, expires_at)",
        "CREATE TABLE auth_sessions (session_id TEXT PRIMARY KEY, subject TEXT NOT NULL, scopes TEXT NOT NULL, "
        "method TEXT NOT NULL, client_label TEXT, client_ip_address TEXT, client_user_agent TEXT, "
        "client_device_type TEXT NOT NULL DEFAULT 'unknown', client_os TEXT, client_browser TEXT, "
        "issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, last_connected_at TEXT, revoked_at TEXT)",
        "CREATE INDEX idx_auth_sessions_active ON auth_sessions(revoked_at, expires_at, issued_at)",
    ],
    32: _add("auth_pairing_links", "proof_key_thumbprint TEXT"),
    33: _add("projection_threads", "settled_override TEXT", "settled_at TEXT"),
    34: _add("projection_threads", "snoozed_until TEXT", "snoozed_at TEXT"),
    35: _add(
        "projection_threads",
        "title_regeneration_request_id TEXT",
        "title_regeneration_started_at TEXT",
    ),
    36: _add("projection_threads", "pinned_at TEXT"),
    37: [
        "CREATE INDEX IF NOT EXISTS idx_projection_turns_thread_keyset "
        "ON projection_turns(thread_id, requested_at, turn_id)"
    ],
    38: _add("projection_threads", "pin_order_key TEXT"),
    39: _add("projection_projects", "default_thread_env_mode TEXT"),
    40: _add("projection_projects", "favicon_path TEXT"),
    41: _add("auth_sessions", "client_surface TEXT", "client_app_version TEXT"),
}

MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS "effect_sql_migrations" (
  migration_id integer PRIMARY KEY NOT NULL,
  created_at datetime NOT NULL DEFAULT current_timestamp,
  name VARCHAR(255) NOT NULL
)"""


def migrate(conn: sqlite3.Connection, up_to: int, names: dict[int, str] | None = None) -> None:
    """Run migrations 1..up_to as Effect's Migrator would, recording each one.

    `names` overrides recorded names (to build a database that a fork migrated); upstream's body
    still runs at that id."""
    conn.execute(MIGRATIONS_TABLE)
    done = conn.execute("SELECT COALESCE(MAX(migration_id), 0) FROM effect_sql_migrations").fetchone()[0]
    for mid in range(done + 1, up_to + 1):
        record(conn, mid, (names or {}).get(mid, MIGRATIONS[mid]), statements(mid))


def statements(mid: int) -> list[str]:
    """Upstream migration `mid`'s statements: 1-41 here, 42-61 in v2/ddl.py (with 055's own DDL)."""
    if mid in MIGRATION_SQL:
        return MIGRATION_SQL[mid]
    from threaddoctor.sources.t3code.v2.ddl import MIGRATION_SQL as LATE_SQL  # it builds on this module

    return LATE_SQL[mid]


def record(conn: sqlite3.Connection, mid: int, name: str, statements: list[str]) -> None:
    """Run one migration's statements and record it in the ledger, as the migrator does."""
    for stmt in statements:
        conn.execute(stmt)
    conn.execute("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)", (mid, name))
