"""The lines of a Claude Code run log (`claude -p --output-format stream-json --verbose`) as the
run-log reader keeps them: only the fields its rules read.

msgspec decodes each chunk of lines into these structs and validates and skips everything else
(message text, tool input and output, usage, the init line's long lists), so a chunk's records cost
a few small objects each. Then `keep` drops what no rule needs before it crosses from a worker:
partial-message deltas (`stream_event` other than message_start/message_stop) and unknown types.
Field types follow what Claude Code 2.1.197 writes (fixtures/claude/recorded/*/run.stdout.jsonl) and
the Agent SDK's message types (reference claude-stream-json.md §1); a line with another type fails
its chunk's decode, and the chunk is read line by line, where `from_dict` keeps what it can.
"""

from __future__ import annotations

from itertools import compress
from operator import attrgetter
from typing import Any

import msgspec

from threaddoctor.sources.files.chunks import LineFormat

_S = str | None


class Block(msgspec.Struct, gc=False, omit_defaults=True):
    type: _S = None
    id: _S = None
    name: _S = None
    tool_use_id: _S = None


class Message(msgspec.Struct, gc=False, omit_defaults=True):
    id: _S = None
    content: str | list[Block] | None = None
    aborted: Any = None  # set on an assistant message cut short by an interrupt (SDK 0.3.214)


class Event(msgspec.Struct, gc=False, omit_defaults=True):
    type: _S = None


class Record(msgspec.Struct, gc=False, omit_defaults=True):
    """One line; `line` is its index in the chunk, set by `keep` (the decode leaves it -1)."""

    type: _S = None
    subtype: _S = None
    session_id: _S = None
    timestamp: _S = None  # user lines (prompts echoed, tool results) carry one; most lines none
    isReplay: bool | None = None
    parent_tool_use_id: _S = None
    claude_code_version: _S = None
    cwd: _S = None
    # api_retry
    attempt: Any = None
    max_retries: Any = None
    error_status: Any = None
    error: Any = None  # api_retry's reason; an assistant message's API error kind
    # result
    is_error: Any = None
    api_error_status: Any = None
    terminal_reason: _S = None
    num_turns: Any = None
    errors: Any = None
    result: Any = None
    stop_reason: _S = None
    duration_ms: Any = None
    origin: Any = None
    # task_* system lines
    task_id: _S = None
    status: Any = None
    message: Message | None = None
    event: Event = msgspec.field(default_factory=Event)  # always one, so that keep filters in C
    line: int = -1


# Partial-message events that say where an assistant message starts and ends; the deltas between
# them are text and tool input, which no rule reads. A line that is no stream_event has an empty
# event, whose type is None.
_EVENT_KEPT = frozenset({"message_start", "message_stop"})
_KEPT_EVENT_TYPES = frozenset({None, *_EVENT_KEPT})
_EVENT_TYPE = attrgetter("event.type")
RESULT_TEXT = 300  # characters of a result's text kept: enough to quote an API error


def keep(records: list[Record]) -> list[Record]:
    """A chunk's records that a rule can need, each marked with its index in the chunk. Within a
    run of plain lines (text-only assistant lines of the main conversation, message start and stop
    events, status lines) only what decides the reader's state is kept: the run's first line (it
    may open a turn), its last assistant line (what was seen last) and its last message event
    (whether a message was left open); a long streamed answer comes down to three records."""
    wanted = compress(range(len(records)), map(_KEPT_EVENT_TYPES.__contains__, map(_EVENT_TYPE, records)))
    kept: list[Record] = []
    run: list[int] = []  # the plain lines of the current run, by index
    for i in wanted:
        r = records[i]
        if _plain(r):
            run.append(i)
            continue
        if run:
            kept += _run_kept(records, run)
            run = []
        r.line = i
        if r.result is not None:
            r.result = r.result[:RESULT_TEXT] if type(r.result) is str else None
        kept.append(r)
    if run:
        kept += _run_kept(records, run)
    return kept


def _plain(r: Record) -> bool:
    if r.type == "stream_event":
        return True
    if r.type == "system":
        return r.subtype == "status"
    if r.type != "assistant" or r.error is not None or r.parent_tool_use_id:
        return False
    content = r.message.content if r.message is not None else None
    return not isinstance(content, list) or all(b.type != "tool_use" for b in content)


def _run_kept(records: list[Record], run: list[int]) -> list[Record]:
    last_assistant = next((i for i in reversed(run) if records[i].type == "assistant"), None)
    last_event = next((i for i in reversed(run) if records[i].type == "stream_event"), None)
    picked = sorted({run[0], *(i for i in (last_assistant, last_event) if i is not None)})
    out = []
    for i in picked:
        r = records[i]
        r.line = i
        out.append(r)
    return out


def from_dict(record: dict[str, Any]) -> Record | None:
    """A line read on the slow path, in the fast path's shape; a field of an unexpected type is
    left out rather than losing the line."""
    try:
        return msgspec.convert(record, Record)
    except msgspec.ValidationError:
        pass
    fields = {}
    for name in Record.__struct_fields__:
        if name in record and name != "line":
            try:
                msgspec.convert({name: record[name]}, Record)
            except msgspec.ValidationError:
                continue
            fields[name] = record[name]
    return msgspec.convert(fields, Record)


RUN_LOG = LineFormat(Record, keep, list[Record], joint=b'}\n{"type":"')  # the CLI writes "type" first
