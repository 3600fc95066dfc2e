"""What a database's migration ledger (`effect_sql_migrations`) says, in T3 Code's own terms.

`ledger_of(conn)` reads the ledger, never writes it, and says which release wrote the file, whether
it is a V1 or an Orchestration V2 file, and what the app will do with the ledger at its next start
(reference t3code-today.md §1.1, §1.3):

- recognised: upstream's ids and names, 1..N, contiguous;
- reconcilable: a preview build's numbering that `reconcileV2PreviewMigration` rewrites (or, for the
  September split-V2 build, keeps) at start, inside its own transaction;
- refused: a history with a gap, or another migration at an upstream id followed again by upstream
  ids (a build that does not check names skipped upstream's migrations there: #8896); builds with
  `verifyMigrationHistory` stop before any write, older ones run with the skipped schema;
- unknown: upstream's ids up to some N, then migrations this tool does not know (a fork's own, or a
  build newer than the reference); the tables they add or change are read by introspection.

The app's words quoted here are UPSTREAM-COPY (the reconciler and `verifyMigrationHistory` were read
in copies of upstream-shaped files whose branch could not be pinned); rules changed between
commits, so the findings report divergences and never edit the ledger.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Literal, Protocol

from threaddoctor.sources.t3code.releases import (
    MIGRATIONS,
    PLAUSIBLE_NAME,
    V2_FIRST_MIGRATION,
    Release,
    release_for_migration,
    release_named,
)

Status = Literal["recognised", "reconcilable", "refused", "unknown"]
Generation = Literal["v1", "v2"]

UPSTREAM_TOP = max(MIGRATIONS)

# The September 8 "split V2" build (UPSTREAM-COPY `legacyV2Names`): kept as it is by later builds.
SPLIT_V2_NAMES: dict[int, str] = {
    33: "ProjectionThreadsRunningBackgroundTaskCount",
    50: "OrchestrationV2",
    51: "OrchestrationV2Subagents",
    52: "OrchestrationV2Foundation",
    53: "OrchestrationV2ProviderSessionBindings",
    54: "OrchestrationV2ThreadLaunchWorkflows",
    55: "ApplicationEventSource",
    56: "OrchestrationV2EffectCancellation",
    57: "ScheduledTasks",
    58: "LegacyV1ImportState",
    59: "ApplicationEventSequenceIndexes",
    60: "OrchestrationV2RecoveryIndexes",
    61: "OrchestrationV2ShellIndexes",
}
# Guarded migrations the app re-runs on every start for this ledger (UPSTREAM-COPY).
SPLIT_V2_REPLAYED = (33, 51, 53, 54, 56, 57, 58, 59)
ISSUE_PREVIEW_NAMES = ("ProjectionThreadIssues", "WorkItemLinks")

# Forks whose own migrations threaddoctor knows, with whether that build recovers, at start, the
# sessions a killed server left running. cheruvian/t3code main at 2e1d98d98 (2026-08-21) numbers
# its own 41-44 and has upstream's reconcileProviderSessions (#7719): read in that commit's
# apps/server/src/serverRuntimeStartup.ts and Migrations.ts.
KNOWN_FORKS: dict[tuple[tuple[int, str], ...], tuple[str, bool]] = {
    (
        (41, "ProviderSessionGenerations"),
        (42, "ServerDrainState"),
        (43, "ProjectionThreadActivityPayloadSlim"),
        (44, "BackfillProjectionThreadActivityPayloadSlim"),
    ): ("the cheruvian/t3code fork's main of 2026-08-21", True),
}

REFUSAL = "Unrecognized migration history at {id}:{name}"  # verifyMigrationHistory, UPSTREAM-COPY
PREVIEW_GUARD = "Cannot upgrade V2 preview with unexpected later migrations."


@dataclass(frozen=True)
class Divergence:
    """One ledger row (or missing id) that differs from upstream's manifest."""

    migration_id: int
    recorded: str | None  # None: the id is missing
    expected: str | None  # None: upstream has no such id
    reason: str


@dataclass(frozen=True)
class Ledger:
    rows: tuple[tuple[int, str], ...] = field(repr=False)
    release: Release  # whose contract and projector rules apply
    generation: Generation
    status: Status
    shape: str  # "upstream", "v2-preview", "issue-preview", "split-v2", "collision", "gap", "fork", "newer"
    app_message: str | None  # what T3 Code itself says or does with this ledger at its next start
    upstream_prefix: int  # ids 1..upstream_prefix are upstream's own
    divergences: tuple[Divergence, ...] = field(default_factory=tuple)
    fork: str | None = None  # a fork threaddoctor knows by its own migrations
    startup_recovery: bool | None = None  # what that build does at start; None: unknown

    @property
    def max_id(self) -> int:
        return max((i for i, _ in self.rows), default=0)

    @property
    def unknown_rows(self) -> list[tuple[int, str]]:
        return [(i, n) for i, n in self.rows if i > self.upstream_prefix]

    @property
    def label(self) -> str:
        extra = {
            "recognised": "",
            "reconcilable": f", {self.shape} ledger the app reconciles",
            "refused": f", {self.shape}: the app refuses it",
            "unknown": f", {len(self.unknown_rows)} migration(s) unknown to threaddoctor",
        }[self.status]
        return f"migrations 1-{self.max_id} ({self.release.name} schema{extra})"


class LedgerSource(Protocol):
    """What the ledger rule reads of a V1 or a V2 source."""

    label: str
    tables: set[str]

    @property
    def migration_ledger(self) -> Ledger: ...


def read_rows(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    rows = conn.execute("SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id").fetchall()
    return [(int(i), str(n)) for i, n in rows]


def ledger_of(conn: sqlite3.Connection) -> Ledger:
    """The ledger of an open database (read-only). The table must exist and have rows."""
    return classify(read_rows(conn))


def classify(rows: list[tuple[int, str]]) -> Ledger:
    recorded = dict(rows)
    prefix = _upstream_prefix(recorded)
    rest = [(i, n) for i, n in rows if i > prefix]
    if not rest:
        release = release_for_migration(prefix)
        return Ledger(tuple(rows), release, release.generation, "recognised", "upstream", None, prefix)  # type: ignore[arg-type]
    for shape in (_v2_preview, _issue_preview, _split_v2):
        found = shape(rows, recorded, prefix)
        if found is not None:
            return found
    return _divergent(rows, recorded, prefix)


def _upstream_prefix(recorded: dict[int, str]) -> int:
    k = 0
    while k + 1 in recorded and MIGRATIONS.get(k + 1) == recorded[k + 1]:
        k += 1
    return k


def _v2_release() -> Release:
    return release_named("main-0.0.45")


def _v2_preview(rows: list[tuple[int, str]], recorded: dict[int, str], prefix: int) -> Ledger | None:
    """Sep 15-16 V2 previews: 53 OrchestrationV2, or 53 PullRequestFilesViewed + 54 OrchestrationV2
    [+ 55 RemoveRedundantProjectionIndexes] (UPSTREAM-COPY reconcileV2PreviewMigration)."""
    rest = [(i, n) for i, n in rows if i > prefix]
    shapes = (
        [(53, "OrchestrationV2")],
        [(54, "OrchestrationV2")],
        [(54, "OrchestrationV2"), (55, "RemoveRedundantProjectionIndexes")],
    )
    if rest not in shapes or prefix != rest[0][0] - 1:
        return None
    at = rest[0][0]
    steps = [f"runs {'053 and ' if at == 53 else ''}054 on this database"]
    if len(rest) == 2:
        steps.append("renumbers 55 RemoveRedundantProjectionIndexes to 56")
    steps.append(f"renumbers {at} OrchestrationV2 to 55 (keeping its created_at and every V2 table and row)")
    steps.append(
        f"records {'53 PullRequestFilesViewed and ' if at == 53 else ''}54 ProjectionThreadsAutoSettleDisabledAt"
    )
    message = (
        "T3 Code 0.0.45 and later reconcile this V2 preview ledger at start, in one transaction: "
        + "; ".join(steps)
        + f'. Any other row from 53 on would stop the start: "{PREVIEW_GUARD}"'
    )
    return Ledger(tuple(rows), _v2_release(), "v2", "reconcilable", "v2-preview", message, prefix)


def _issue_preview(rows: list[tuple[int, str]], recorded: dict[int, str], prefix: int) -> Ledger | None:
    """ "Issue" previews: ProjectionThreadIssues at 54, 57, 59 or 60 (+ WorkItemLinks next); the
    reconciler deletes those rows so that main's migrations run at their own ids (UPSTREAM-COPY)."""
    first = prefix + 1
    if first not in (54, 57, 59, 60) or recorded.get(first) != ISSUE_PREVIEW_NAMES[0]:
        return None
    issue = [(first, ISSUE_PREVIEW_NAMES[0])]
    if recorded.get(first + 1) == ISSUE_PREVIEW_NAMES[1]:
        issue.append((first + 1, ISSUE_PREVIEW_NAMES[1]))
    if [(i, n) for i, n in rows if i > prefix] != issue:
        return None
    names = ", ".join(f"{i} {n}" for i, n in issue)
    message = (
        f"T3 Code 0.0.45 and later delete {names} from the ledger at start (in one transaction), so that "
        f"upstream's migrations from {first} on run at their own ids; the preview's tables stay"
    )
    release = release_for_migration(prefix)
    return Ledger(tuple(rows), release, release.generation, "reconcilable", "issue-preview", message, prefix)  # type: ignore[arg-type]


def _split_v2(rows: list[tuple[int, str]], recorded: dict[int, str], prefix: int) -> Ledger | None:
    if set(recorded) != set(range(1, UPSTREAM_TOP + 1)):
        return None
    for mid in range(1, UPSTREAM_TOP + 1):
        if recorded[mid] != SPLIT_V2_NAMES.get(mid, MIGRATIONS[mid]):
            return None
    message = (
        "T3 Code keeps this September split-V2 ledger as it is (rewriting it would erase peer history), "
        f"re-runs its guarded migrations {', '.join(map(str, SPLIT_V2_REPLAYED))} on every start, and "
        'refuses to start if a column or index of that schema is missing: "Incomplete legacy schema: '
        'missing <table>.<col>; unsafe migration replay refused"'
    )
    return Ledger(tuple(rows), _v2_release(), "v2", "reconcilable", "split-v2", message, prefix)


def _divergent(rows: list[tuple[int, str]], recorded: dict[int, str], prefix: int) -> Ledger:
    top = max(recorded)
    divergences: list[Divergence] = []
    for mid in range(prefix + 1, top + 1):
        name, expected = recorded.get(mid), MIGRATIONS.get(mid)
        if name is None:
            divergences.append(Divergence(mid, None, expected, "missing: the migrator skipped it"))
        elif name != expected:
            reason = (
                "an implausible migration name"
                if not PLAUSIBLE_NAME.match(name)
                else "another build's migration at an upstream id"
                if expected
                else "a migration newer than upstream's known ones"
            )
            divergences.append(Divergence(mid, name, expected, reason))
    first = divergences[0]
    resumes = any(recorded.get(mid) == MIGRATIONS.get(mid) for mid in range(first.migration_id + 1, top + 1))
    gap = any(d.recorded is None for d in divergences)
    implausible = any(d.reason == "an implausible migration name" for d in divergences)
    release = release_for_migration(prefix)
    refusal = REFUSAL.format(id=first.migration_id, name=first.recorded or "nothing")
    if resumes or gap or implausible:
        skipped = [d.migration_id for d in divergences if d.expected]
        message = (
            f'T3 Code builds that check the ledger stop at start before writing: "{refusal}". Builds that '
            "do not check it have already skipped upstream's "
            f'{_ids(skipped)} (their tables or columns are missing: expect "no such column", #8896)'
        )
        return Ledger(
            tuple(rows), release, "v1", "refused", "gap" if gap else "collision", message, prefix, tuple(divergences)
        )
    shape = "newer" if prefix >= UPSTREAM_TOP else "fork"
    if shape == "newer":
        message = (
            f"a build newer than threaddoctor's reference recorded {_ids([d.migration_id for d in divergences])}; "
            "that build opens it"
        )
        release = _v2_release() if prefix >= V2_FIRST_MIGRATION else release
    else:
        message = (
            f"the build that wrote it (a fork, or a preview) opens it; an upstream build that checks the ledger "
            f'stops at start: "{refusal}", and one that does not skips upstream\'s {_ids([d.migration_id for d in divergences if d.expected])}'
        )
    fork, recovery = KNOWN_FORKS.get(tuple((i, n) for i, n in rows if i > prefix), (None, None))
    if fork:
        message = f"{fork} wrote it; {message}"
    return Ledger(
        tuple(rows),
        release,
        release.generation,
        "unknown",
        shape,
        message,
        prefix,
        tuple(divergences),
        fork,
        recovery,  # type: ignore[arg-type]
    )


def _ids(ids: list[int]) -> str:
    if not ids:
        return "nothing"
    if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"migrations {ids[0]}-{ids[-1]}"
    return ("migration " if len(ids) == 1 else "migrations ") + ", ".join(map(str, ids))
