"""A Claude Code transcript (`~/.claude/projects/<project>/<session>.jsonl`) as rules see it.

One streaming pass (the chunked fast path of files/chunks.py) keeps a few small facts per line
(uuid, parentUuid, logicalParentUuid, type, line number, tool_use and tool_result ids, API-error
marks, what a compaction preserved); message bodies are never kept. Then
the conversation is rebuilt the way resume does it (reference agent-log-formats.md §2.1, checked
against Claude Code 2.1.197 in fixtures/claude/FINDINGS.md):
- the newest leaf is the last-written conversation line (user, assistant, system, attachment) of
  the main chain that no other conversation line names as its parent; file order is not chain
  order, so "last line of the file" is not enough;
- from it, `parentUuid` is walked back to a root; a `compact_boundary` (parentUuid null) continues
  through its `logicalParentUuid`;
- everything else is off the active chain: dead branches (normal: 2.1.197 re-parents a resumed
  prompt past an orphan tool_use) or fragments cut off by a link to a uuid never written (#22526)
  or by a link that loops back into the chain.
Sidechain lines in a main transcript belong to subagents and are left out; a subagent's own file
(`<session>/subagents/agent-*.jsonl`, every line a sidechain) is read as a transcript of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import LineFormat, decoded_chunks, gc_paused
from threaddoctor.sources.files.lines import LineReader

# Lines that are links of the conversation chain and may be its leaf. `progress` lines carry uuids
# too and are followed when a message names one as parent (#37437), but they are never the leaf:
# older builds hung them off the chain as "parasitic forks" (#35024).
CONVERSATION = frozenset({"user", "assistant", "system", "attachment"})
_TITLES = {"custom-title": "customTitle", "ai-title": "aiTitle", "summary": "summary"}
# Claude Code writes nothing while a tool runs, and its Bash tool may run for up to ten minutes: a
# transcript that ends on a tool_use is taken as possibly live for that long (plus a minute).
TOOL_RUNNING_SECONDS = 660


class Entry(msgspec.Struct, gc=False, array_like=True):
    """The facts of one line that has a uuid (a msgspec struct: built in the worker process too,
    and carried back as msgpack arrays, without field names; not tracked by the cyclic GC, it
    holds no cycles)."""

    line: int
    uuid: str
    type: str
    parent: str | None = None
    logical_parent: str | None = None
    subtype: str | None = None
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


@dataclass(frozen=True)
class BrokenLink:
    entry: Entry
    target: str  # the uuid named but never written (or, in a loop, written further down the chain)
    on_chain: bool  # the active chain stops here: resume loses what came before
    cut_off: int  # conversation lines unreachable from the newest leaf because of this link
    loop: bool = False  # the link points back into the chain it is on


@dataclass
class ClaudeTranscript(LogSource):
    """A parsed transcript: the source the claude-transcript rules read."""

    path: Path
    reader: LineReader
    entries: dict[str, Entry] = field(default_factory=dict)
    session_id: str | None = None
    version: str | None = None
    titles: dict[str, str] = field(default_factory=dict)  # kind -> the last title of that kind
    subagent: bool = False
    duplicates: int = 0
    compactions: int = 0  # compact boundaries written (most transcripts have none)
    records: int = 0
    leaf: Entry | None = None
    chain: list[Entry] = field(default_factory=list)  # root first, the newest leaf last
    broken: list[BrokenLink] = field(default_factory=list)
    unreachable: int = 0  # conversation lines not connected to the active chain at all

    kinds = ("claude-transcript", "jsonl")

    @property
    def description(self) -> str:
        parts = ["Claude Code subagent transcript" if self.subagent else "Claude Code transcript"]
        if self.version:
            parts.append(f"cli {self.version}")
        parts.append(f"{len(self.chain)} of {len(self.main())} lines on the active chain")
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated uuid(s)")
        return ", ".join(parts)

    def written_files(self) -> list[Path]:
        """The transcript, and its subagents' files: while a subagent works, only they are written."""
        session = self.path.with_suffix("")
        if self.path.parent.name == "subagents":  # a subagent's own file: its session's too
            session = self.path.parent.parent
        return [self.path, session.with_suffix(".jsonl"), *(session / "subagents").glob("*.jsonl")]

    def live_window(self) -> float:
        ends_on_a_call = bool(self.chain) and bool(self.chain[-1].tool_uses)
        return TOOL_RUNNING_SECONDS if ends_on_a_call else super().live_window()

    def thread_title(self, thread_id: str) -> str | None:
        if thread_id != self.session_id:
            return None
        return next((self.titles[k] for k in _TITLES if k in self.titles), None)  # a custom title first

    # ---- the conversation, as resume rebuilds it ----------------------------------------------
    def main(self) -> list[Entry]:
        """Lines of this transcript's own conversation (a subagent file's sidechain is its own)."""
        if self.subagent:
            return list(self.entries.values())
        return [e for e in self.entries.values() if not e.sidechain]

    def compaction_start(self) -> int:
        """Index in `chain` of its last compact boundary (0 without one). The next request is built
        from here on: what came before reaches the model only through the compaction summary."""
        if not self.compactions:
            return 0
        return _last_index(self.chain, lambda e: e.compact_boundary, 0)

    def request_window(self) -> list[int]:
        """Indexes in `chain` of the lines the next request is built from: since the last compact
        boundary, plus the lines that boundary preserved verbatim (they sit before it)."""
        start = self.compaction_start()
        kept = set(self.chain[start].preserved) if self.chain and self.chain[start].compact_boundary else set()
        before = [i for i in range(start) if self.chain[i].uuid in kept] if kept else []
        return before + list(range(start, len(self.chain)))

    def last_prompt_index(self) -> int:
        """Index in `chain` of the last prompt, -1 without one: where the current turn began."""
        return _last_index(self.chain, lambda e: e.prompt, -1)

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> ClaudeTranscript:
        """Whole chunks decoded in C when they are clean; line by line only where one is not."""
        with gc_paused():
            for chunk in decoded_chunks(self.path, TRANSCRIPT):
                self.reader.mark(chunk.first, chunk.offset)
                if chunk.kept is not None:
                    self._take(chunk.first, chunk.lines, chunk.kept)
                    continue
                lines = chunk.raw_lines()
                for lineno, raw in self.reader.checked(enumerate(lines, chunk.first)):
                    record = self.reader.parse(lineno, raw)
                    self._take(lineno, 1, _keep([_from_dict(record)]) if record is not None else _NOTHING)
            self._link()
        return self

    def _take(self, first: int, lines: int, kept: _Kept) -> None:
        entries, session_id, version, titles = kept
        self.records += lines
        self.session_id = self.session_id or session_id
        self.version = version or self.version  # the newest writer: resume may upgrade
        self.titles.update(titles)
        known = self.entries
        for entry in entries:
            if entry.uuid in known:
                # Re-appended copies (#56196, #66947) are common and mostly identical: the FIRST
                # line written with a uuid is kept, so evidence points at the original write.
                self.duplicates += 1
                continue
            entry.line += first
            if (parent := known.get(entry.up)) is not None:  # one string object per uuid
                entry.up = parent.uuid
                if entry.parent is not None:
                    entry.parent = entry.up
            known[entry.uuid] = entry
            if entry.subtype == "compact_boundary":
                self.compactions += 1

    def _link(self) -> None:
        main = self.main()
        if not main and self.entries:  # every line a sidechain: a subagent's own transcript
            self.subagent, main = True, list(self.entries.values())
        talk = [e for e in main if e.type in CONVERSATION]
        self.leaf = _newest_leaf(talk)
        self.chain = self._walk(self.leaf) if self.leaf else []
        if self._one_unbroken_chain(main):
            return  # the usual transcript: nothing off the chain, nothing cut
        terminals, dangling = self._terminals(main)
        active = terminals.get(self.chain[0].uuid) if self.chain else None
        ends = set(terminals.values())
        if len(ends) == 1:  # one tree, the usual case: no need to count line by line
            hanging = Counter(dict.fromkeys(ends, len(talk)))
        else:
            hanging = Counter(terminals[e.uuid] for e in talk)
        self.unreachable = sum(n for term, n in hanging.items() if term != active)
        self.broken = [self._broken(e, e.up, active, hanging) for e in dangling]  # type: ignore[arg-type]
        head = self.chain[0] if self.chain else None
        if head is not None and head.up is not None and head.up in self.entries:  # the walk closed a loop
            link = self._broken(head, head.up, head.uuid, hanging)
            self.broken.append(BrokenLink(head, head.up, True, link.cut_off, loop=True))

    def _one_unbroken_chain(self, main: list[Entry]) -> bool:
        """Every line of the conversation is on the active chain, which starts at a root."""
        chain = self.chain
        return (
            len(chain) == len(main)
            and bool(chain)
            and chain[0].up is None
            and (self.subagent or not any(e.sidechain for e in chain))
        )

    def _walk(self, leaf: Entry) -> list[Entry]:
        chain, known, entry = [leaf], self.entries, leaf
        for _ in range(len(known)):
            up = entry.up
            if up is None or (entry := known.get(up)) is None:  # type: ignore[assignment]
                break
            chain.append(entry)
        else:  # more steps than lines: the links loop; walk again, stopping where the loop closes
            chain, seen, entry = [leaf], {leaf.uuid}, leaf
            while (up := entry.up) is not None and up not in seen and (entry := known.get(up)) is not None:  # type: ignore[assignment]
                chain.append(entry)
                seen.add(up)
        chain.reverse()
        return chain

    def _terminals(self, entries: list[Entry]) -> tuple[dict[str, str], list[Entry]]:
        """uuid -> where walking up from it ends: a root, a line whose link is broken, or a cycle
        (lines sharing the active chain's terminal are on it or on a dead branch off it); and the
        lines whose link names a uuid never written."""
        terminal: dict[str, str] = {}
        dangling: list[Entry] = []
        known = self.entries
        for entry in entries:
            up = entry.up
            if up is None or up not in known:
                terminal[entry.uuid] = entry.uuid
                if up is not None:
                    dangling.append(entry)
                continue
            if (end := terminal.get(up)) is not None:  # the usual case: the parent was written first
                terminal[entry.uuid] = end
                continue
            path, on_path, cur = [], set(), entry.uuid
            while cur not in terminal:
                path.append(cur)
                on_path.add(cur)
                up = self.entries[cur].up
                if up is None or up not in self.entries or up in on_path:
                    terminal[cur] = cur
                    break
                cur = up
            for uuid in path:
                terminal[uuid] = terminal[cur]
        return terminal, dangling

    def _broken(self, e: Entry, target: str, active: str | None, hanging: Counter[str]) -> BrokenLink:
        """`hanging`: how many conversation lines end at each terminal (counted once per scan: a
        transcript can have thousands of broken links)."""
        if e.uuid == active:
            # the chain stops here: everything hanging from a real root elsewhere is lost to resume
            cut = sum(n for term, n in hanging.items() if term != active and self.entries[term].up is None)
            return BrokenLink(e, target, True, cut)
        return BrokenLink(e, target, False, hanging[e.uuid])


def _last_index(chain: list[Entry], test: Callable[[Entry], bool], default: int) -> int:
    """The index of the last entry that passes `test`, searched from the end (it is usually near)."""
    return next((i for i in range(len(chain) - 1, -1, -1) if test(chain[i])), default)


def _newest_leaf(talk: list[Entry]) -> Entry | None:
    """The last-written conversation line that no other one names as its parent (`talk` is in file
    order: entries are kept in the order their lines were written)."""
    if talk and (last := talk[-1].uuid) and all(e.up != last for e in talk):
        return talk[-1]  # the usual case: the last line written has no child
    children = {e.up for e in talk}
    leaves = [e for e in talk if e.uuid not in children]
    pool = leaves or talk  # a cycle leaves no childless line: fall back to the last one written
    return max(pool, key=lambda e: e.line, default=None)


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


_BOOLS = ("isSidechain", "isMeta", "isApiErrorMessage", "isCompactSummary")
# User lines that record a local slash command (`/compact`) and its output: no turn starts there.
_LOCAL_COMMAND = ("<command-name>", "<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>")
_ANY = ("apiErrorStatus", "error")

# A chunk's lines come down to: their entries (line = index in the chunk), the first session id,
# the last version, and the last title of each kind.
_Kept = tuple[list[Entry], str | None, str | None, dict[str, str]]
_NOTHING: _Kept = ([], None, None, {})


def _keep(lines: list[_Line]) -> _Kept:
    entries, session_id, version, titles = [], None, None, {}
    for i, r in enumerate(lines):
        rtype = r.type
        if rtype in _TITLES and (title := getattr(r, _TITLES[rtype])):
            titles[rtype] = title[:200]
        session_id = session_id or r.sessionId or None
        version = r.version or version
        if r.uuid and rtype:
            entries.append(_entry(i, r.uuid, rtype, r))
    return entries, session_id, version, titles


def _entry(index: int, uuid: str, rtype: str, r: _Line) -> Entry:
    message, blocks, results, uses = r.message, (), (), ()
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
        index,
        uuid,
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
        rtype == "user" and not results and not r.isMeta and not r.isCompactSummary and not _local_command(message),
        parent if parent is not None else logical,
        _preserved(r.compactMetadata),
    )


def _local_command(message: _Message | None) -> bool:
    return message is not None and type(message.content) is str and message.content.startswith(_LOCAL_COMMAND)


def _preserved(meta: _CompactMetadata | None) -> tuple[str, ...]:
    kept = meta.preservedMessages if meta is not None else None
    return tuple(kept.uuids) if kept is not None and kept.uuids else ()


def _from_dict(record: dict[str, Any]) -> _Line:
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


TRANSCRIPT = LineFormat(_Line, _keep, _Kept, joint=b'}\n{"')  # every line is an object with keys


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def open_transcript(path: Path) -> ClaudeTranscript:
    return ClaudeTranscript(path=Path(path), reader=LineReader(Path(path))).read()
