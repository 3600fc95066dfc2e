"""T3015 server-gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.t3code.common import (
    BINDINGS,
    ENDS_SESSION,
    EVENTS,
    SETTLED_TURN_STATES,
    binding_evidence,
    binding_is_live,
    binding_row,
    end_session,
    session_evidence,
    turn_evidence,
)
from threaddoctor.severity import FixSafety, Severity
from threaddoctor.sources.t3code.vocabulary import STARTUP_RECONCILE_ERROR, iso_now

if TYPE_CHECKING:
    from threaddoctor.findings import Finding, RepairPlan
    from threaddoctor.sources.t3code.source import T3Source


def detect(src: T3Source) -> Iterator[Finding]:
    server = src.server
    if server.live:
        return  # it may still be streaming them; the source's notes say who holds the file
    # A live session whose binding is not is T3005's (session-without-provider); a session in
    # error that still names a turn is T3001's or T3006's.
    # A running session with no turn, or a settled one, is T3006's (active-turn-already-settled).
    sessions = src.rows(
        "SELECT s.*, t.state AS turn_state FROM projection_thread_sessions s "
        "LEFT JOIN projection_turns t ON t.thread_id = s.thread_id AND t.turn_id = s.active_turn_id "
        "WHERE s.status IN ('starting', 'running') ORDER BY s.thread_id"
    )
    for s in sessions:
        if s["status"] == "running" and (s["active_turn_id"] is None or s["turn_state"] in SETTLED_TURN_STATES):
            continue
        binding = binding_row(src, s["thread_id"])
        if not binding_is_live(binding):
            continue
        yield _finding(src, s, binding)


def _finding(src: T3Source, s: dict, binding: dict) -> Finding:
    thread_id = s["thread_id"]
    server = src.server
    last = src.thread_events(thread_id, newest_first=True, limit=1)
    since = last[0].occurred_at if last else s["updated_at"]
    turns = src.rows(
        "SELECT * FROM projection_turns WHERE thread_id = ? AND state = 'running' ORDER BY requested_at", (thread_id,)
    )
    holding = f" holding turn {s['active_turn_id']}" if s["active_turn_id"] else ""
    running = f", {len(turns)} turn(s) running" if turns else ""
    recovery, severity = _recovery(src)
    no_record = (
        ""
        if src.schema.release.at_least("0.0.17") or server.recorded
        else (" (this release writes no server-runtime.json: if T3 Code is running now, it may still be streaming)")
    )
    evidence = [session_evidence(s), binding_evidence(thread_id, binding)]
    evidence += [turn_evidence(t, f"turn is {t['state']}") for t in turns]
    if last:
        evidence.append(last[0].evidence("the thread's last event: where it was cut off"))
    return RULE.finding(
        src,
        severity=severity,
        thread_id=thread_id,
        turn_id=s["active_turn_id"],
        message=(
            f"session is {s['status']}{holding}{running} and its provider runtime is {binding['status']}, but no "
            f"server holds the database ({server.why}){no_record}: the thread was cut off at {since}; {recovery}"
        ),
        since=since,
        evidence=evidence,
        repair=None if severity is Severity.info else _repair(src, s, binding),
    )


def _recovery(src: T3Source) -> tuple[str, Severity]:
    """What the next start of the build the ledger shows does with the thread."""
    ledger, release = src.schema.ledger, src.schema.release
    if ledger.status == "recognised":
        recovers: bool | None = release.startup_reconcile
        build = release.name
    else:
        recovers, build = ledger.startup_recovery, ledger.fork or "the build that wrote this ledger"
    if recovers is None:
        return (
            f"whether {build} recovers it at start is unknown (upstream builds after v0.0.33 do; v0.0.33 and "
            "older never do)",
            Severity.warning,
        )
    if recovers:
        return (
            f'{build}\'s start-up recovery will mark the session error ("{STARTUP_RECONCILE_ERROR}") '
            "and stop its provider runtime at the next start",
            Severity.info,
        )
    return (
        f"{build} has no start-up recovery (it came after v0.0.33), so the thread stays stuck after every restart",
        Severity.error,
    )


def _repair(src: T3Source, s: dict, binding: dict) -> RepairPlan:
    """What the start-up recovery of releases after v0.0.33 writes (#7719, reconcileProviderSessions)."""
    from threaddoctor.findings import RepairPlan, RowChange

    row = src.row("SELECT runtime_payload_json FROM provider_session_runtime WHERE thread_id = ?", (s["thread_id"],))
    payload = _json(row["runtime_payload_json"] if row else None)
    stopped = RowChange(
        action="update-row",
        table="provider_session_runtime",
        key={"thread_id": s["thread_id"]},
        before={"status": binding["status"], "runtime_payload_json": row["runtime_payload_json"] if row else None},
        after={
            "status": "stopped",
            "runtime_payload_json": json.dumps({**payload, "activeTurnId": None}, separators=(",", ":")),
            "last_seen_at": iso_now(),
        },
    )
    return RepairPlan(
        safety=FixSafety.safe,
        summary="what newer releases' start-up recovery writes: session error with its message, no active turn, "
        "provider runtime stopped",
        steps=[*end_session(src, s, "error", last_error=STARTUP_RECONCILE_ERROR), stopped],
    )


def _json(text: object) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


RULE = Rule(
    code="T3015",
    name="server-gone",
    source_kind="t3code",
    severity=Severity.error,
    summary="A session and its provider runtime still say running, but no server holds the database",
    explanation=(
        "T3 Code records its running server in userdata/server-runtime.json (pid, start time) and removes it on a "
        "clean shutdown. A server killed while a turn streams (SIGKILL, a crash, power loss) leaves the turn "
        "running, the session running and the provider runtime running: self-consistent, so no other rule sees "
        "it, although nothing will ever report back. The rule reports such threads when no live server holds the "
        "database (the file is absent, names a dead pid, or the database is a copy), with the time of the "
        "thread's last event. Releases after v0.0.33 mark them error at their next start (reconcileProviderSessions: "
        '"Provider session did not survive a server restart. Send a new message to continue.", provider runtime '
        "stopped), so there it is information; older releases (v0.0.28 among them) never do, and the thread stays "
        "stuck after every restart. The repair writes what the newer releases' recovery writes. When a live "
        "server holds the database, nothing it may still be streaming is judged."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="it writes exactly what the app's own start-up recovery writes, and only when no server is alive",
    detect=detect,
    reads=(*EVENTS, *ENDS_SESSION, *BINDINGS, "provider_session_runtime.runtime_payload_json"),
)
