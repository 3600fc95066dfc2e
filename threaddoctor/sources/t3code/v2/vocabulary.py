"""Words Orchestration V2 writes: statuses, event types, recovery values (reference
t3code-today.md §1.2, §4.3, §4.4; ProviderRuntimeRecoveryService VERIFIED-fork znoraka 32e2559).

The non-terminal sets are the predicates of 055's recovery indexes, the sets the app's own
start-up recovery queries."""

from __future__ import annotations

FILE_NAME = "statev2.sqlite"
V1_FILE_NAME = "state.sqlite"
RUNTIME_FILE = "server-runtime.json"

LIVE_RUN = ("queued", "preparing", "starting", "running", "waiting")
RECOVERED_RUN = ("preparing", "starting", "running", "waiting")  # recovery cancels these; queued stay held
LIVE_NODE = ("pending", "running", "waiting")
LIVE_SUBAGENT = ("pending", "running", "waiting")
LIVE_PROVIDER_TURN = ("pending", "running")
ENDED_SESSION = ("stopped", "error")
BACKGROUND_ITEM_TYPES = ("command_execution", "dynamic_tool", "subagent")

# Projection tables whose payload_json the app decodes when it reads a thread (§4.8).
PAYLOAD_TABLES = (
    "orchestration_v2_projection_threads",
    "orchestration_v2_projection_runs",
    "orchestration_v2_projection_run_attempts",
    "orchestration_v2_projection_nodes",
    "orchestration_v2_projection_subagents",
    "orchestration_v2_projection_provider_sessions",
    "orchestration_v2_projection_provider_threads",
    "orchestration_v2_projection_provider_turns",
    "orchestration_v2_projection_runtime_requests",
    "orchestration_v2_projection_messages",
    "orchestration_v2_projection_plans",
    "orchestration_v2_projection_turn_items",
)

THREAD_PROJECTIONS = "thread-projections"  # orchestration_v2_projection_metadata.projection_name
RESTART_CONTINUATION = "provider-runtime.continue"  # effect type of `effect:restart-continuation:<runId>`
REQUEST_RESTART_REASON = "The server restarted before this runtime request was resolved."
RECOVER_V1 = "t3 threads recover-v1"

# Where a V2 event sits in orchestration_events (055 ApplicationEventSequenceIndexes).
V2_THREAD_EVENTS = "application_event_version = 2 AND aggregate_kind = 'thread'"
