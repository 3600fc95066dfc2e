"""CC001 claude-tool-use-without-result."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from itertools import compress, repeat
from operator import le
from typing import TYPE_CHECKING

from threaddoctor.rules.base import Rule
from threaddoctor.rules.claude.common import leaf_evidence
from threaddoctor.rules.files.common import line_evidence
from threaddoctor.severity import FixSafety, Severity

if TYPE_CHECKING:
    from threaddoctor.findings import Finding, RepairPlan
    from threaddoctor.sources.claude.transcript import ClaudeTranscript, Entry


def unanswered(src: ClaudeTranscript) -> list[tuple[int, Entry, str, str]]:
    """(chain index, line, tool_use id, tool name) of every tool_use on the active chain that the
    next request sends (since the last compaction, with the lines it preserved) and no later line
    of the chain answers. One API message is split into one assistant line per block, and its
    results may come in several user lines: any later one counts, and a line's own results do not
    answer its calls. In chain order; calls of one line in the order they were last left open."""
    (use_place, use_id, use_name), (result_place, result_id) = src.window_calls()
    answered = dict(zip(result_id, result_place, strict=True))  # the last result of each id
    # Calls with no result after them (a line's own results come first), found in C: usually none.
    open_calls = compress(range(len(use_id)), map(le, map(answered.get, use_id, repeat(-1)), use_place))
    pending: dict[str, list] = {}  # id -> [its first open call, its last open call]
    for n in open_calls:
        call = (use_place[n], use_id[n], use_name[n])
        if call[1] in pending:
            pending[call[1]][1] = call
        else:
            pending[call[1]] = [n, call]
    found = sorted(pending.values(), key=lambda p: (p[1][0], p[0]))
    return [(*src.at(place), tool_use_id, name) for _, (place, tool_use_id, name) in found]


def detect(src: ClaudeTranscript) -> Iterator[Finding]:
    found = unanswered(src)
    turn = src.last_prompt_index()  # a running tool of the current turn is not an orphan yet
    found = [
        f for f in found if f[0] < turn or not src.left_unjudged(RULE.code, "call", src.session_id, f[2], f[1].line)
    ]
    # Only orphans at the end of the chain can be answered by appending; one line answers them all.
    tail = [f for f in found if not _later_messages(src, f[0], f[1])]
    repair = _repair(src, [f[2] for f in tail]) if tail else None
    for index, entry, tool_use_id, name in found:
        later = _later_messages(src, index, entry)
        yield RULE.finding(
            src,
            thread_id=src.session_id,
            subject=tool_use_id,
            message=_message(entry, tool_use_id, name, later),
            since=entry.timestamp,
            evidence=[
                line_evidence(entry.line, f"{name} tool_use {tool_use_id} without a tool_result", entry.timestamp),
                *leaf_evidence(src, entry.line),
            ],
            repair=None if later else repair,
        )


_ENVELOPE = ("isSidechain", "agentId", "userType", "entrypoint", "cwd", "sessionId", "version", "gitBranch")
RESULT_TEXT = (
    "The tool did not finish: Claude Code stopped while it ran, so its result and effects are unknown. "
    "(Recorded by threaddoctor so that the session can be resumed.)"
)


def _repair(src: ClaudeTranscript, tool_use_ids: list[str]) -> RepairPlan:
    """A user line answering the orphans with error results, parented on the chain's last line and
    wearing its envelope: the shape Claude Code 2.1.197 accepted on resume (fixtures/claude)."""
    from threaddoctor.findings import AppendRecord, RepairPlan
    from threaddoctor.sources.t3code.vocabulary import iso_now

    leaf = src.chain[-1]
    around = src.reader.record(leaf.line)
    record = {
        "parentUuid": leaf.uuid,
        **{k: around[k] for k in _ENVELOPE if k in around},
        "type": "user",
        "message": {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": t, "is_error": True, "content": RESULT_TEXT}
                for t in tool_use_ids
            ],
        },
        "uuid": str(uuid.uuid4()),
        "timestamp": iso_now(),
    }
    return RepairPlan(
        safety=FixSafety.safe,
        summary=f"append a user line with an error tool_result for {len(tool_use_ids)} unanswered "
        "tool_use(s), as the CLI writes when a tool is rejected",
        steps=[AppendRecord(record=record)],
    )


def _later_messages(src: ClaudeTranscript, index: int, entry: Entry) -> int:
    """Prompts and other assistant messages after the tool_use on the chain: the conversation went on.
    Later blocks of the same API message and results of its sibling calls do not count."""
    return src.later_messages(index, entry)


def _message(entry: Entry, tool_use_id: str, name: str, later: int) -> str:
    head = f"{name} tool_use {tool_use_id} (line {entry.line}) has no tool_result on the active chain"
    if later:
        return (
            f"{head}, yet {later} message line(s) follow it: every request rebuilt from this chain carries an "
            "unanswered tool_use, which the API rejects with 400 in Claude Code versions that send it as is"
        )
    return (
        f"{head}: the session ended while the tool ran. Older Claude Code fails every request after resume with "
        "API 400; 2.1.197 was seen dropping such a call on resume, so the model never learns whether it ran"
    )


RULE = Rule(
    code="CC001",
    name="claude-tool-use-without-result",
    source_kind="claude-transcript",
    severity=Severity.error,
    summary="A tool_use on a Claude Code session's active chain has no tool_result",
    explanation=(
        "The Messages API requires every tool_use to be answered by a tool_result in the next user message. A "
        "Claude Code process killed while a tool runs (SIGKILL, a closed terminal, a crash) leaves the tool_use "
        "line last in the transcript with no result after it. Older versions resume it as is, and every request "
        'fails with API 400 "tool_use ids were found without tool_result blocks" until the line is removed by '
        "hand (#473, #2039, #7796). Claude Code 2.1.197 instead drops the orphan on resume and attaches the new "
        "prompt to its parent, so the session goes on but the model loses the call and never learns whether the "
        "command ran. The rule rebuilds the chain resume uses (newest leaf, parentUuid back, across compaction "
        "boundaries) and reports only tool_use blocks on it after the last compaction: an orphan left on a dead "
        "branch by such a resume is history, not a fault. A transcript whose newest line and last write are "
        "recent (two minutes, or ten while a tool may run) may belong to a running session: tools of its "
        "current turn are not judged, and the report says so. When the orphans end the "
        "chain, the repair appends a user line whose parentUuid is the chain's last line, holding a tool_result "
        "with is_error true for each unanswered id, which 2.1.197 was recorded accepting; orphans followed by "
        "more conversation are only reported."
    ),
    fix_safety=FixSafety.safe,
    fix_reason="when the orphans end the chain, an appended error tool_result is what the CLI itself writes for "
    "a rejected tool, and 2.1.197 resumes it; orphans followed by more conversation are only reported, because "
    "answering them would mean editing history",
    detect=detect,
)
