"""T3 Code's migration manifest and releases: which schema a database has, and which
projector rules the release that wrote it followed (reference t3code-state.md §2.6, §4.2, §9)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# id -> name as recorded in effect_sql_migrations.name: upstream main (1-41 as of 2026-08-22).
MIGRATIONS: dict[int, str] = {
    1: "OrchestrationEvents",
    2: "OrchestrationCommandReceipts",
    3: "CheckpointDiffBlobs",
    4: "ProviderSessionRuntime",
    5: "Projections",
    6: "ProjectionThreadSessionRuntimeModeColumns",
    7: "ProjectionThreadMessageAttachments",
    8: "ProjectionThreadActivitySequence",
    9: "ProviderSessionRuntimeMode",
    10: "ProjectionThreadsRuntimeMode",
    11: "OrchestrationThreadCreatedRuntimeMode",
    12: "ProjectionThreadsInteractionMode",
    13: "ProjectionThreadProposedPlans",
    14: "ProjectionThreadProposedPlanImplementation",
    15: "ProjectionTurnsSourceProposedPlan",
    16: "CanonicalizeModelSelections",
    17: "ProjectionThreadsArchivedAt",
    18: "ProjectionThreadsArchivedAtIndex",
    19: "ProjectionSnapshotLookupIndexes",
    20: "AuthAccessManagement",
    21: "AuthSessionClientMetadata",
    22: "AuthSessionLastConnectedAt",
    23: "ProjectionThreadShellSummary",
    24: "BackfillProjectionThreadShellSummary",
    25: "CleanupInvalidProjectionPendingApprovals",
    26: "CanonicalizeModelSelectionOptions",
    27: "ProviderSessionRuntimeInstanceId",
    28: "ProjectionThreadSessionInstanceId",
    29: "ProjectionThreadDetailOrderingIndexes",
    30: "ProjectionThreadShellArchiveIndexes",
    31: "AuthAuthorizationScopes",
    32: "AuthPairingProofKeyThumbprint",
    33: "ProjectionThreadsSettled",
    34: "ProjectionThreadsSnoozed",
    35: "ProjectionThreadTitleRegeneration",
    36: "ProjectionThreadsPinned",
    37: "ProjectionTurnsKeysetIndex",
    38: "ProjectionThreadsPinOrderKey",
    39: "ProjectionProjectsDefaultThreadEnvMode",
    40: "ProjectionProjectFaviconPath",
    41: "AuthSessionClientConnection",
    # 42-61: reference t3code-today.md §1.1 (bodies VERIFIED in a fork that merges upstream main,
    # 61 UPSTREAM-COPY: an upstream-shaped test asserting ids 1..61).
    42: "ProjectionThreadLinkedPullRequest",
    43: "ProjectionThreadsUnsettledAt",
    44: "ClearAutomaticProjectModelDefaults",
    45: "ProjectionProjectsAutoPull",
    46: "RepairAutomaticSettlementTimestamps",
    47: "ProjectionProjectIcon",
    48: "ProjectionThreadBranchPullRequest",
    49: "ProjectionThreadsActiveOrderKey",
    50: "ProjectionThreadPullRequests",
    51: "ProjectionThreadMessageContext",
    52: "ProjectionThreadTitleState",
    53: "PullRequestFilesViewed",
    54: "ProjectionThreadsAutoSettleDisabledAt",
    55: "OrchestrationV2",
    56: "RemoveRedundantProjectionIndexes",
    57: "ScheduledTaskWebhooks",
    58: "WebhookRelayDeliveries",
    59: "McpAppModelContext",
    60: "ThreadSnapshotWindowIndexes",
    61: "ProjectionThreadSweepIndexes",
}

# The first migration of Orchestration V2: from it on, the database is a V2 file (statev2.sqlite).
V2_FIRST_MIGRATION = 55
PLAUSIBLE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{2,80}$")


@dataclass(frozen=True, order=True)
class Release:
    """A T3 Code release, as far as its persisted state is concerned."""

    version: tuple[int, int, int, int]  # (0, 0, 33, 1) is main after v0.0.33
    name: str
    max_migration: int

    def at_least(self, version: str) -> bool:
        parts = tuple(int(p) for p in version.lstrip("v").split("."))
        return self.version >= (*parts, 0)[:4]

    # Projector rules that changed over time (reference §4.2, §9.3).
    @property
    def settles_turns_on_session_set(self) -> bool:  # v0.0.28, #3041
        return self.at_least("0.0.28")

    @property
    def terminal_session_set_deletes_pending(self) -> bool:  # v0.0.29, #4101
        return self.at_least("0.0.29")

    @property
    def null_active_turn_keeps_latest_turn(self) -> bool:  # v0.0.32, #5553
        return self.at_least("0.0.32")

    @property
    def any_request_id_opens_approval(self) -> bool:
        # Assumed: the projector stopped opening rows for every requestId when migration 025
        # cleaned them up (v0.0.21). Only the v0.0.9 behaviour is verified (§9.3).
        return not self.at_least("0.0.21")

    @property
    def model_selection(self) -> bool:  # migration 016 replaced model/provider fields
        return self.max_migration >= 16

    @property
    def startup_reconcile(self) -> bool:  # #7719, after v0.0.33
        return self.version >= (0, 0, 33, 1)

    @property
    def attachment_cleanup_cursor(self) -> bool:
        # REPORTED #8896: stable v0.0.42 has the projection.attachment-cleanup row and starts
        # decoding above the lowest of all ten cursors; v0.0.37 did not. Which nightly between them
        # brought it is UNVERIFIED; releases with 47-54 are taken as 0.0.42-shaped.
        return self.at_least("0.0.42")

    @property
    def knows_later_contract(self) -> bool:
        """The late-V1 contract (reference t3code-today.md §3): 33 event types, origin "cli"."""
        return self.max_migration > 41

    @property
    def generation(self) -> str:
        return "v2" if self.max_migration >= V2_FIRST_MIGRATION else "v1"


RELEASES: tuple[Release, ...] = (
    Release((0, 0, 9, 0), "v0.0.9", 13),
    Release((0, 0, 13, 0), "v0.0.13", 15),
    Release((0, 0, 15, 0), "v0.0.15", 18),
    Release((0, 0, 17, 0), "v0.0.17", 22),
    Release((0, 0, 20, 0), "v0.0.20", 24),
    Release((0, 0, 21, 0), "v0.0.21", 26),
    Release((0, 0, 22, 0), "v0.0.22", 29),
    Release((0, 0, 23, 0), "v0.0.23", 30),
    Release((0, 0, 26, 0), "v0.0.26", 32),
    Release((0, 0, 29, 0), "v0.0.29", 34),
    Release((0, 0, 32, 0), "v0.0.32", 37),
    Release((0, 0, 33, 0), "v0.0.33", 40),
    Release((0, 0, 33, 1), "main-2026-08", 41),
    # After 41 (reference t3code-today.md §1.4): nightlies 0.0.39-0.0.41 report 42-46; stable
    # 0.0.42 is the last V1 stable, "migrations up to about 54" (its exact top id is UNVERIFIED);
    # main had 55 OrchestrationV2 at package version 0.0.45 (VERIFIED in a fork's package.json).
    Release((0, 0, 39, 0), "nightly-0.0.39", 46),
    Release((0, 0, 42, 0), "v0.0.42", 54),
    Release((0, 0, 45, 0), "main-0.0.45", 61),
)


def release_named(name: str) -> Release:
    for r in RELEASES:
        if r.name == name:
            return r
    raise KeyError(name)


def release_for_migration(max_id: int) -> Release:
    """The oldest release that had exactly this many migrations (or the newest known one).

    Several releases can share a migration set (v0.0.26-.28 all stop at 32); the oldest one's
    projector rules are assumed, which matters only for repairs, never for detection.
    """
    fitting = [r for r in RELEASES if r.max_migration >= max_id]
    return fitting[0] if fitting else RELEASES[-1]
