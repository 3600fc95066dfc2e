"""What each line of a Claude Code transcript gives the reader: a row of columns.

A transcript holds a line per message block, so a 200 MB one has over 100,000 conversation lines,
and building an object per line costs more than decoding them. A chunk of lines is therefore kept
as columns (`Rows`: one item per line, None where a line has no uuid) plus sparse lists of the few
facts rules look for (tool_use and tool_result ids, prompts); an `Entry`, the object rules read, is
built only for a line someone asks about, and up front only for the rare line the columns cannot
describe (a sidechain, a compaction link or boundary, an API error). The slow path (a damaged
chunk, line by line) builds the same rows, from `_from_dict`.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any

import msgspec

from threaddoctor.sources.files.chunks import LineFormat

TITLES = {"custom-title": "customTitle", "ai-title": "aiTitle", "summary": "summary"}


class Entry(msgspec.Struct, gc=False, array_like=True):
    """The facts of one line that has a uuid (a msgspec struct: built in the worker process too,
    and carried back as msgpack arrays, without field names; not tracked by the cyclic GC, it
    holds no cycles)."""

    line: int
    uuid: str
    type: str
    parent: str | None = None
    logical_parent: str | None = None
    subtype: str | None = None  # only on lines the columns cannot describe (compact boundaries among them)
    timestamp: str | None = None
    sidechain: bool = False
    tool_uses: tuple[tuple[str, str], ...] = ()  # (tool_use id, tool name)
    tool_results: tuple[str, ...] = ()  # tool_use ids answered
    message_id: str | None = None
    api_error: str | None = None  # "529 server_error" on an isApiErrorMessage line
    prompt: bool = False  # a user line a person (or -p) sent: no tool_result, not meta, summary or /command
    # Where resume goes next: the parent, or across a compact boundary its logical parent.
    up: str | None = None
    # On a compact boundary: the lines before it kept verbatim (compactMetadata.preservedMessages),
    # which the next request sends right after the summary.
    preserved: tuple[str, ...] = ()

    @property
    def link_field(self) -> str:
        return "parentUuid" if self.parent is not None else "logicalParentUuid"

    @property
    def compact_boundary(self) -> bool:
        return self.type == "system" and self.subtype == "compact_boundary"


class Rows(msgspec.Struct, gc=False, array_like=True):
    """Consecutive lines as columns. A row is a line's index (in a chunk, or in the file: line - 1);
    the sparse lists are in row order."""

    uuid: list[str | None]  # None: the line has no uuid or no type, and is no part of the conversation
    # parentUuid, or across a compact boundary logicalParentUuid; None on rows a span of `follows` covers
    up: list[str | None]
    type: list[str | None]
    timestamp: list[str | None]
    message_id: list[str | None]
    # The tool_use blocks of assistant lines and the tool_result blocks of any line, as columns
    # (no tuple per block: the cyclic GC would walk them all once it runs again).
    use_row: list[int]
    use_id: list[str]
    use_name: list[str]
    result_row: list[int]
    result_id: list[str]  # the tool_use id answered
    prompts: list[int]
    odd: list[Entry]  # whole entries of the lines the columns cannot describe (`line`: row + 1)
    # Spans of rows (start, end, the first uuid's link, the last uuid) in which each line with a
    # uuid links to the one with a uuid before it, as most transcripts are written: their links
    # are not kept (a string per line, to carry from the worker, compare and free), but derived.
    follows: list[tuple[int, int, str | None, str | None]]

    @classmethod
    def empty(cls) -> Rows:
        return cls([], [], [], [], [], [], [], [], [], [], [], [], [])

    def up_at(self, row: int) -> str | None:
        """The link of the line at `row` (which has a uuid)."""
        span = bisect_right(self.follows, row, key=itemgetter(0)) - 1
        if span < 0 or row >= (follow := self.follows[span])[1]:
            return self.up[row]
        start, uuid = follow[0], self.uuid
        return next((uuid[r] for r in range(row - 1, start - 1, -1) if uuid[r] is not None), follow[2])

    def one_chain(self) -> bool:
        """Every line with a uuid links to the one with a uuid before it, the first to none."""
        if sum(end - start for start, end, _, _ in self.follows) != len(self.uuid):
            return False
        before = None
        for _, _, first_up, last in self.follows:
            if last is not None:  # a span with a uuid
                if first_up != before:
                    return False
                before = last
        return True

    def extend(self, more: Rows, base: int) -> None:
        """Append `more`, whose rows start at row `base` of this one."""
        self.uuid += more.uuid
        self.up += more.up
        self.type += more.type
        self.timestamp += more.timestamp
        self.message_id += more.message_id
        self.use_row += [row + base for row in more.use_row]
        self.use_id += more.use_id
        self.use_name += more.use_name
        self.result_row += [row + base for row in more.result_row]
        self.result_id += more.result_id
        self.prompts += [row + base for row in more.prompts]
        self.follows += [(start + base, end + base, up, last) for start, end, up, last in more.follows]
        for entry in more.odd:
            entry.line += base
        self.odd += more.odd


# The types Claude Code writes (checked on every recorded fixture). A line with another type
# fails the chunk's decode, and the chunk is read line by line, where _from_dict drops odd values.
_S = str | None


class _Block(msgspec.Struct, gc=False):
    type: _S = None
    id: _S = None
    name: _S = None
    tool_use_id: _S = None


class _Message(msgspec.Struct, gc=False):
    id: _S = None
    content: str | list[_Block] | None = None


class _Preserved(msgspec.Struct, gc=False):
    uuids: list[str] | None = None


class _CompactMetadata(msgspec.Struct, gc=False):
    preservedMessages: _Preserved | None = None


class _Line(msgspec.Struct, gc=False):
    """The fields of a transcript line the rules read; msgspec validates and skips the rest
    (message text, tool output, file snapshots) without building them."""

    type: _S = None
    uuid: _S = None
    parentUuid: _S = None
    logicalParentUuid: _S = None
    subtype: _S = None
    timestamp: _S = None
    isSidechain: bool | None = None
    isMeta: bool | None = None
    isApiErrorMessage: bool | None = None
    isCompactSummary: bool | None = None
    apiErrorStatus: Any = None
    error: Any = None
    sessionId: _S = None
    version: _S = None
    customTitle: _S = None
    aiTitle: _S = None
    summary: _S = None
    compactMetadata: _CompactMetadata | None = None
    message: _Message | None = None


EMPTY_LINE = _Line()  # what a line that could not be parsed contributes: a row of Nones
_BOOLS = ("isSidechain", "isMeta", "isApiErrorMessage", "isCompactSummary")
# User lines that record a local slash command (`/compact`) and its output: no turn starts there.
_LOCAL_COMMAND = ("<command-name>", "<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>")
_ANY = ("apiErrorStatus", "error")

# A chunk's lines come down to: their rows, the first session id, the last version, and the last
# title of each kind.
Kept = tuple[Rows, str | None, str | None, dict[str, str]]


def keep(lines: list[_Line]) -> Kept:
    """The rows of a chunk, made by comprehensions (a Python statement per line would cost more
    than msgspec's decode of it); `entry` is the one definition they follow, and `odd` lines get it."""
    uuid = [(r.uuid or None) if r.type else None for r in lines]
    types = [r.type for r in lines]
    one = {}  # one string object per type, however many lines name it
    up, follows = _links(uuid, [r.parentUuid or r.logicalParentUuid or None for r in lines])
    rows = Rows(
        uuid,
        up,
        list(map(one.setdefault, types, types)),
        [r.timestamp or None for r in lines],
        [(m.id or None) if (m := r.message) is not None else None for r in lines],
        *_calls(lines, uuid),
        [
            entry(k + 1, r)
            for k, r in (enumerate(lines) if _maybe_odd(lines) else ())
            if (  # inline: a function call per line would cost more than the test
                r.isSidechain is True
                or r.logicalParentUuid
                or (r.isApiErrorMessage is True and r.type == "assistant")
                or r.subtype == "compact_boundary"
                or r.compactMetadata is not None
            )
            and uuid[k]
        ],
        follows,
    )
    titles = {r.type: t[:200] for r in lines if r.type in TITLES and (t := getattr(r, TITLES[r.type]))}
    session_id = next((r.sessionId for r in lines if r.sessionId), None)
    version = next((r.version for r in reversed(lines) if r.version), None)
    return rows, session_id, version, titles


_ODD_FIELDS = tuple(attrgetter(name) for name in ("isSidechain", "isApiErrorMessage", "subtype", "logicalParentUuid"))
_COMPACT_METADATA = attrgetter("compactMetadata")


def _maybe_odd(lines: list[_Line]) -> bool:
    """Whether any line may be one the columns cannot describe: each field looked at over all the
    lines in C (map, `in`), where the test in `keep` is a Python step per line; most chunks have none."""
    sidechain, api_error, subtype, logical = (map(get, lines) for get in _ODD_FIELDS)
    return (
        True in sidechain
        or True in api_error
        or "compact_boundary" in subtype
        or any(logical)
        or list(map(_COMPACT_METADATA, lines)).count(None) != len(lines)
    )


def _links(uuid: list[str | None], up: list[str | None]) -> tuple[list[str | None], list]:
    """The chunk's links, or, when each line with a uuid links to the one before it, Nones and
    the span that derives them."""
    uuids, ups = list(compress(uuid, uuid)), list(compress(up, uuid))
    if ups[1:] != uuids[:-1]:
        return up, []
    return [None] * len(up), [(0, len(up), ups[0] if ups else None, uuids[-1] if uuids else None)]


def _calls(lines: list[_Line], uuid: list[str | None]) -> tuple[list, ...]:
    """Tool_use blocks, tool_result blocks and prompts, by row."""
    blocks = [
        (k, b)
        for k, r in enumerate(lines)
        if (m := r.message) is not None and type(c := m.content) is list and uuid[k]
        for b in c
        if b.type in ("tool_use", "tool_result")
    ]
    uses = [(k, b) for k, b in blocks if b.type == "tool_use" and b.id and lines[k].type == "assistant"]
    results = [(k, b) for k, b in blocks if b.type == "tool_result" and b.tool_use_id]
    answering = {k for k, _ in results}
    prompts = [k for k, r in enumerate(lines) if r.type == "user" and uuid[k] and k not in answering and _prompt(r)]
    return (
        [k for k, _ in uses],
        [b.id for _, b in uses],
        [b.name or "tool" for _, b in uses],
        [k for k, _ in results],
        [b.tool_use_id for _, b in results],
        prompts,
    )


def _prompt(r: _Line) -> bool:
    """A user line without tool_result: a prompt unless meta, a compaction summary or a /command."""
    return not r.isMeta and not r.isCompactSummary and not _local_command(r.message)


def entry(line: int, r: _Line) -> Entry:
    """Every fact of one line (with a uuid and a type): what the columns and sparse lists hold of it."""
    message, blocks, results, uses, rtype = r.message, (), (), (), r.type or ""
    if message is not None and type(message.content) is list:
        blocks = message.content
        results = tuple(b.tool_use_id for b in blocks if b.type == "tool_result" and b.tool_use_id)
        if rtype == "assistant":
            uses = tuple((b.id, b.name or "tool") for b in blocks if b.type == "tool_use" and b.id)
    parent, logical = r.parentUuid or None, r.logicalParentUuid or None
    api_error = None
    if rtype == "assistant" and r.isApiErrorMessage is True:
        api_error = " ".join(str(x) for x in (r.apiErrorStatus, r.error) if x) or "error"
    return Entry(
        line,
        r.uuid or "",
        rtype,
        parent,
        logical,
        r.subtype or None,
        r.timestamp or None,
        r.isSidechain is True,
        uses,
        results,
        (message.id or None) if message is not None else None,
        api_error,
        rtype == "user" and not results and _prompt(r),
        parent if parent is not None else logical,
        _preserved(r.compactMetadata),
    )


def _local_command(message: _Message | None) -> bool:
    return message is not None and type(message.content) is str and message.content.startswith(_LOCAL_COMMAND)


def _preserved(meta: _CompactMetadata | None) -> tuple[str, ...]:
    kept = meta.preservedMessages if meta is not None else None
    return tuple(kept.uuids) if kept is not None and kept.uuids else ()


def from_dict(record: dict[str, Any]) -> _Line:
    """A line parsed on the slow path, in the fast path's shape: values of another type than
    Claude Code writes are left out."""
    message = record.get("message")
    parsed = None
    if isinstance(message, dict):
        content = message.get("content")
        blocks = [
            _Block(*(_str(b.get(k)) for k in _Block.__struct_fields__))
            for b in (content if isinstance(content, list) else [])
            if isinstance(b, dict)
        ]
        parsed = _Message(_str(message.get("id")), content if isinstance(content, str) else blocks)
    fields: dict[str, Any] = {}
    for name in _Line.__struct_fields__[:-2]:  # all but compactMetadata and message
        value = record.get(name)
        fields[name] = value if name in _ANY else _bool(value) if name in _BOOLS else _str(value)
    return _Line(**fields, compactMetadata=_compact_metadata(record.get("compactMetadata")), message=parsed)


def _compact_metadata(meta: Any) -> _CompactMetadata | None:
    kept = meta.get("preservedMessages") if isinstance(meta, dict) else None
    uuids = kept.get("uuids") if isinstance(kept, dict) else None
    if not isinstance(uuids, list):
        return None
    return _CompactMetadata(_Preserved([u for u in uuids if isinstance(u, str)]))


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


TRANSCRIPT = LineFormat(_Line, keep, Kept, joint=b'}\n{"')  # every line is an object with keys
