"""CO002 connectonion-running-orphaned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.connectonion.common import interrupted
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding
    from threaddoctor.sources.connectonion.sessions import ConnectOnionSessions


def detect(src: ConnectOnionSessions) -> Iterator[Finding]:
    from threaddoctor.sources.connectonion.sessions import HOST_FORGETS_AFTER, duration, iso

    for s in src.sessions.values():
        idle = src.idle_seconds(s)
        if s.latest.status != "running" or idle is None:
            continue
        rec = s.latest
        if idle < HOST_FORGETS_AFTER and src.left_unjudged(
            RULE.code, "turn", s.session_id, line=rec.line, young=f"running for {duration(idle)}, as a long turn may"
        ):
            continue  # nothing is written mid-turn: a younger running record may be a long turn
        yield RULE.finding(
            src,
            thread_id=s.session_id,
            message=f"running for {duration(idle)} with no newer record; running records never expire, so a live "
            'host refuses new prompts to it ("Session is busy") and only a restart marks it interrupted: the host '
            "most likely died and was not restarted, or the session was abandoned, unless a very long turn is "
            "still going; the record is the prompt's claim snapshot and does not show what the turn was doing",
            since=iso(rec.at),
            evidence=[
                line_evidence(
                    rec.line, f"newest record: running, prompt claimed (revision {rec.revision})", iso(rec.at)
                ),
                line_evidence(s.first_line, f"first record of the session ({s.statuses[0]})"),
            ],
            repair=interrupted(src, rec.line),
        )


RULE = Rule(
    code="CO002",
    name="connectonion-running-orphaned",
    source_kind="connectonion-sessions",
    severity=Severity.error,
    summary="A ConnectOnion session has been running for over an hour with nothing written since",
    explanation=(
        "The ConnectOnion host writes a running record when it claims a prompt, and the next record only when "
        "the turn ends (done or failed) or pauses for an approval. Running records never expire: while a host "
        "reads the file it refuses new prompts to such a session, and only the startup reconcile turns it into "
        "interrupted. A running record idle for an hour (the host's own registry drops running sessions idle "
        "that long) therefore means the host was killed and has not been restarted, or the session was "
        "abandoned; a turn with very long tools is the only innocent reading, since nothing is written mid-turn. "
        "The record holds only the claim snapshot (empty messages and trace), so what the turn was doing is "
        'not recorded. A repair would append a newer record of the session with status "interrupted", as the '
        "host does itself when it restarts."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="a newer interrupted record is what the host writes for such sessions when it restarts; the "
    "file is append-only, last entry wins, and undo restores it while the host has not written since",
    detect=detect,
)
