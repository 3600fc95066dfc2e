"""T3 Code's orchestration event contract, as pydantic models, to find rows the app cannot decode.

Restated from packages/contracts (orchestration.ts, baseSchemas.ts) as described in reference
t3code-state.md §3 and checked against stored copies of the upstream source:
- ids and most texts are trimmed non-empty strings (a blank id or lastError fails);
- `Schema.optional` keys may be absent but not null; `NullOr` keys must be present;
- excess keys are ignored (Effect's default `onExcessProperty: "ignore"`);
- an event type the release does not know fails, so does any value outside an enum.
Where the contract changed, the generation decides: migration 016 rewrote model fields into
`modelSelection`; archive events came with 017; settle/snooze/pin with 033-038.
Assumption (unverified upstream): `metadata.origin` exists from the 2026-08 main (migration 41)
with surfaces web/desktop/mobile; nightlies with later migrations also accept "cli" (#8789).
Lenient on purpose where a release's exact enum is unknown (runtime modes, model options), so
that a valid row is never reported as a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

if TYPE_CHECKING:
    from threaddoctor.sources.t3code.releases import Release

Tnes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Iso = str
NonNegInt = Annotated[int, Field(ge=0)]
RuntimeMode = Literal["approval-required", "auto-accept-edits", "auto", "full-access"]
InteractionMode = Literal["default", "plan"]
SessionStatus = Literal["idle", "starting", "running", "ready", "interrupted", "stopped", "error"]
Decision = Literal["accept", "acceptForSession", "decline", "cancel"]


class _M(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class ModelSelection(_M):
    model: Tnes
    provider: Tnes | None = None
    instanceId: Tnes | None = None
    options: dict[str, Any] | list[Any] | None = None


class ProjectScript(_M):
    id: Tnes
    name: Tnes
    command: Tnes
    icon: Literal["play", "test", "lint", "configure", "build", "debug"]
    runOnWorktreeCreate: bool


class Attachment(_M):
    type: Literal["image"]
    id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"(?i)^[a-z0-9_-]+$"),
    ]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    mimeType: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"(?i)^image/"),
    ]
    sizeBytes: Annotated[int, Field(ge=0, le=10_485_760)]


class Session(_M):
    threadId: Tnes
    status: SessionStatus
    providerName: Tnes | None
    providerInstanceId: Tnes = "unset"  # optional key: absent is fine, null is not
    runtimeMode: RuntimeMode = "full-access"
    activeTurnId: Tnes | None
    lastError: Tnes | None
    updatedAt: Iso


class Activity(_M):
    id: Tnes
    tone: Literal["info", "tool", "approval", "error"]
    kind: Tnes
    summary: Tnes
    payload: Any = None
    turnId: Tnes | None
    sequence: NonNegInt = 0
    createdAt: Iso


class ProposedPlan(_M):
    id: Tnes
    turnId: Tnes | None
    planMarkdown: Tnes
    implementedAt: Iso | None = None
    implementationThreadId: Tnes | None = None
    createdAt: Iso
    updatedAt: Iso


class CheckpointFile(_M):
    path: Tnes
    kind: Tnes
    additions: NonNegInt
    deletions: NonNegInt


class SourcePlan(_M):
    threadId: Tnes
    planId: Tnes


# ---- payloads that did not change ---------------------------------------------------------
class ProjectDeleted(_M):
    projectId: Tnes
    deletedAt: Iso


class ThreadDeleted(_M):
    threadId: Tnes
    deletedAt: Iso


class ThreadArchived(_M):
    threadId: Tnes
    archivedAt: Iso
    updatedAt: Iso


class ThreadTouched(_M):  # thread.unarchived, thread.unpinned
    threadId: Tnes
    updatedAt: Iso


class ThreadSettled(_M):
    threadId: Tnes
    settledAt: Iso
    updatedAt: Iso


class ThreadUnsettled(_M):  # also thread.unsnoozed
    threadId: Tnes
    reason: Literal["user", "activity"]
    updatedAt: Iso


class ThreadSnoozed(_M):
    threadId: Tnes
    snoozedUntil: Iso
    snoozedAt: Iso
    updatedAt: Iso


class ThreadPinned(_M):
    threadId: Tnes
    pinnedAt: Iso
    pinOrderKey: Tnes = "unset"
    updatedAt: Iso


class ThreadTouchedLate(_M):
    """Late-V1 thread events whose payloads the reference does not give (auto-settle-set and the
    pull-request events, t3code-today.md §3): only the thread id is checked, so that a valid row is
    never reported as a crash (assumed shape, UNVERIFIED)."""

    threadId: Tnes


class ThreadPinReordered(_M):
    threadId: Tnes
    orderKey: Tnes
    updatedAt: Iso


class RuntimeModeSet(_M):
    threadId: Tnes
    runtimeMode: RuntimeMode
    updatedAt: Iso


class InteractionModeSet(_M):
    threadId: Tnes
    interactionMode: InteractionMode = "default"
    updatedAt: Iso


class MessageSent(_M):
    threadId: Tnes
    messageId: Tnes
    role: Literal["user", "assistant", "system"]
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    turnId: Tnes | None  # a required key that may be null (#12762: legacy rows lack it)
    streaming: bool
    createdAt: Iso
    updatedAt: Iso


class TurnInterruptRequested(_M):
    threadId: Tnes
    turnId: Tnes = "unset"
    createdAt: Iso


class ApprovalResponseRequested(_M):
    threadId: Tnes
    requestId: Tnes
    decision: Decision
    createdAt: Iso


class UserInputResponseRequested(_M):
    threadId: Tnes
    requestId: Tnes
    answers: dict[str, Any]
    createdAt: Iso


class CheckpointRevertRequested(_M):
    threadId: Tnes
    turnCount: NonNegInt
    createdAt: Iso


class Reverted(_M):
    threadId: Tnes
    turnCount: NonNegInt


class SessionStopRequested(_M):
    threadId: Tnes
    createdAt: Iso


class SessionSet(_M):
    threadId: Tnes
    session: Session


class PlanUpserted(_M):
    threadId: Tnes
    proposedPlan: ProposedPlan


class TurnDiffCompleted(_M):
    threadId: Tnes
    turnId: Tnes
    checkpointTurnCount: NonNegInt
    checkpointRef: Tnes
    status: Literal["ready", "missing", "error"]
    files: list[CheckpointFile]
    assistantMessageId: Tnes | None
    completedAt: Iso


class ActivityAppended(_M):
    threadId: Tnes
    activity: Activity


# ---- payloads whose model fields changed with migration 016 --------------------------------
class ProjectCreatedLegacy(_M):
    projectId: Tnes
    title: Tnes
    workspaceRoot: Tnes
    defaultModel: Tnes | None
    scripts: list[ProjectScript]
    createdAt: Iso
    updatedAt: Iso


class ProjectCreated(_M):
    projectId: Tnes
    title: Tnes
    workspaceRoot: Tnes
    defaultModelSelection: ModelSelection | None
    scripts: list[ProjectScript]
    createdAt: Iso
    updatedAt: Iso


class ProjectMetaUpdated(_M):
    projectId: Tnes
    title: Tnes = "unset"
    workspaceRoot: Tnes = "unset"
    scripts: list[ProjectScript] = Field(default_factory=list)
    updatedAt: Iso


class ThreadCreatedLegacy(_M):
    threadId: Tnes
    projectId: Tnes
    title: Tnes
    model: Tnes
    runtimeMode: RuntimeMode = "full-access"
    interactionMode: InteractionMode = "default"
    branch: Tnes | None
    worktreePath: Tnes | None
    createdAt: Iso
    updatedAt: Iso


class ThreadCreated(_M):
    threadId: Tnes
    projectId: Tnes
    title: Tnes
    modelSelection: ModelSelection
    runtimeMode: RuntimeMode = "full-access"
    interactionMode: InteractionMode = "default"
    branch: Tnes | None
    worktreePath: Tnes | None
    createdAt: Iso
    updatedAt: Iso


class ThreadMetaUpdated(_M):
    threadId: Tnes
    title: Tnes = "unset"
    branch: Tnes | None = None
    worktreePath: Tnes | None = None
    modelSelection: ModelSelection | None = None
    updatedAt: Iso


class TurnStartRequested(_M):
    threadId: Tnes
    messageId: Tnes
    modelSelection: ModelSelection | None = None
    runtimeMode: RuntimeMode = "full-access"
    interactionMode: InteractionMode = "default"
    sourceProposedPlan: SourcePlan | None = None
    createdAt: Iso


class Origin(_M):
    surface: Literal["web", "desktop", "mobile"] = "web"
    appVersion: Tnes = "unset"


class OriginWithCli(Origin):
    surface: Literal["web", "desktop", "mobile", "cli"] = "web"


def _metadata(origin: type[Origin] | None) -> type[_M]:
    fields: dict[str, Any] = {
        name: (Tnes | None, None)
        for name in ("providerTurnId", "providerItemId", "adapterKey", "requestId", "ingestedAt")
    }
    if origin is not None:
        fields["origin"] = (origin | None, None)
    from pydantic import create_model

    return create_model("Metadata", __base__=_M, **fields)


_BASE_TYPES: dict[str, type[_M]] = {
    "project.deleted": ProjectDeleted,
    "project.meta-updated": ProjectMetaUpdated,
    "thread.deleted": ThreadDeleted,
    "thread.meta-updated": ThreadMetaUpdated,
    "thread.runtime-mode-set": RuntimeModeSet,
    "thread.interaction-mode-set": InteractionModeSet,
    "thread.message-sent": MessageSent,
    "thread.turn-start-requested": TurnStartRequested,
    "thread.turn-interrupt-requested": TurnInterruptRequested,
    "thread.approval-response-requested": ApprovalResponseRequested,
    "thread.user-input-response-requested": UserInputResponseRequested,
    "thread.checkpoint-revert-requested": CheckpointRevertRequested,
    "thread.reverted": Reverted,
    "thread.session-stop-requested": SessionStopRequested,
    "thread.session-set": SessionSet,
    "thread.proposed-plan-upserted": PlanUpserted,
    "thread.turn-diff-completed": TurnDiffCompleted,
    "thread.activity-appended": ActivityAppended,
}

# (first migration that brings them, event types)
_LATER_TYPES: tuple[tuple[int, dict[str, type[_M]]], ...] = (
    (17, {"thread.archived": ThreadArchived, "thread.unarchived": ThreadTouched}),
    (33, {"thread.settled": ThreadSettled, "thread.unsettled": ThreadUnsettled}),
    (34, {"thread.snoozed": ThreadSnoozed, "thread.unsnoozed": ThreadUnsettled}),
    (36, {"thread.pinned": ThreadPinned, "thread.unpinned": ThreadTouched}),
    (38, {"thread.pin-reordered": ThreadPinReordered}),
)
# The rest of the 33 late-V1 types (UPSTREAM-COPY list), known to builds after migration 41.
_LATE_V1_TYPES: dict[str, type[_M]] = {
    "thread.auto-settle-set": ThreadTouchedLate,
    "thread.pull-request-linked": ThreadTouchedLate,
    "thread.pull-request-unlinked": ThreadTouchedLate,
    "thread.pull-request-synced": ThreadTouchedLate,
}


@dataclass(frozen=True)
class DecodeProblem:
    sequence: int
    event_type: str
    where: str  # "payload", "metadata", "envelope", "type"
    message: str


class Contract:
    """The decoder of one schema generation."""

    def __init__(self, max_migration: int, knows_later: bool) -> None:
        self.key = (max_migration, knows_later)  # rebuilds the same contract in a worker process
        types = dict(_BASE_TYPES)
        if max_migration >= 16:
            types |= {"project.created": ProjectCreated, "thread.created": ThreadCreated}
        else:
            types |= {
                "project.created": ProjectCreatedLegacy,
                "thread.created": ThreadCreatedLegacy,
            }
        for first, extra in _LATER_TYPES:
            if max_migration >= first:
                types |= extra
        if knows_later:
            types |= _LATE_V1_TYPES
        self.event_types = frozenset(types)
        self._payload: dict[str, Callable[[str | bytes], Any]] = {
            t: TypeAdapter(m).validate_json for t, m in types.items()
        }
        origin = OriginWithCli if knows_later else (Origin if max_migration >= 41 else None)
        self._metadata = TypeAdapter(_metadata(origin)).validate_json

    def problems(
        self,
        sequence: int,
        event_type: str,
        event_id: Any,
        stream_id: Any,
        command_id: Any,
        payload_json: Any,
        metadata_json: Any,
    ) -> list[DecodeProblem]:
        """Everything about one event row that the app's decoder would reject."""
        out: list[DecodeProblem] = []
        validate = self._payload.get(event_type)
        if validate is None:
            out.append(DecodeProblem(sequence, event_type, "type", f"unknown event type {event_type!r}"))
        else:
            _check(out, sequence, event_type, "payload", validate, payload_json)
        _check(out, sequence, event_type, "metadata", self._metadata, metadata_json)
        for name, value, nullable in (
            ("event_id", event_id, False),
            ("stream_id", stream_id, False),
            ("command_id", command_id, True),
        ):
            if (value is None and not nullable) or (value is not None and not str(value).strip()):
                out.append(DecodeProblem(sequence, event_type, "envelope", f"{name} is empty"))
        return out

    def batch_problems(self, rows: list[tuple[int, str, Any, Any, str | None]]) -> dict[int, list[DecodeProblem]]:
        """Decode many rows (sequence, event_type, payload_json, metadata_json, empty_id) in a tight
        loop; `empty_id` names a blank envelope id column (checked in SQL), or is None."""
        out: dict[int, list[DecodeProblem]] = {}
        payload, metadata = self._payload, self._metadata
        for seq, etype, payload_json, metadata_json, empty_id in rows:
            validate = payload.get(etype)
            try:
                if validate is None or empty_id:
                    raise ValueError
                validate(payload_json)
                if metadata_json != "{}":
                    metadata(metadata_json)
            except (ValidationError, ValueError, TypeError):
                found = self.problems(seq, etype, "x", "x", None, payload_json, metadata_json)
                if empty_id:
                    found.append(DecodeProblem(seq, etype, "envelope", f"{empty_id} is empty"))
                out[seq] = found
        return out


def _check(
    out: list[DecodeProblem],
    seq: int,
    etype: str,
    where: str,
    validate: Callable[[Any], Any],
    text: Any,
) -> None:
    if not isinstance(text, str | bytes):
        out.append(DecodeProblem(seq, etype, where, f"{where}_json is not text"))
        return
    try:
        validate(text)
    except ValidationError as e:
        out.append(DecodeProblem(seq, etype, where, _describe(e)))


def _describe(e: ValidationError) -> str:
    """The first error, worded as Effect Schema words its parse errors (`["turnId"] is missing`,
    `Expected "web" | "desktop", actual "tui"`; the wording is modelled on Effect's ParseError
    output as quoted in #8896, an assumption for the other kinds)."""
    err = e.errors(include_url=False)[0]
    path = "".join(f"[{json.dumps(p)}]" for p in err["loc"])
    more = f" and {e.error_count() - 1} more" if e.error_count() > 1 else ""
    if err["type"].startswith("json"):
        return f"not valid JSON ({err['msg']})"
    if err["type"] == "missing":
        return f"{path} is missing{more}"
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) else f", actual {json.dumps(got)[:60]}"
    if err["type"] == "literal_error":
        values = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        expected = " | ".join(json.dumps(v) for v in values)
        return f"Expected {expected}{shown} at {path}{more}"
    return f"{path or 'value'}: {err['msg']}{shown}{more}"


@cache
def contract_for(max_migration: int, knows_later: bool = False) -> Contract:
    return Contract(max_migration, knows_later)


def contract_of(release: Release) -> Contract:
    """The decoder of the release a ledger shows (41 stands for every later V1 release, with the
    late additions switched on)."""
    return contract_for(min(release.max_migration, 41), knows_later=release.knows_later_contract)
