"""A Claude Code transcript (`~/.claude/projects/<project>/<session>.jsonl`) as rules see it.

One streaming pass (the chunked fast path of files/chunks.py) keeps each line as a row of a few
columns (rows.py: uuid, the link resume follows, type, timestamp, API message id, and sparse lists
of tool_use and tool_result ids and prompts); message bodies are never kept. Then the
conversation is rebuilt the way resume does it (reference agent-log-formats.md §2.1, checked
against Claude Code 2.1.197 in fixtures/claude/FINDINGS.md):
- the newest leaf is the last-written conversation line (user, assistant, system, attachment) of
  the main chain that no other conversation line names as its parent; file order is not chain
  order, so "last line of the file" is not enough;
- from it, `parentUuid` is walked back to a root; a `compact_boundary` (parentUuid null) continues
  through its `logicalParentUuid`;
- everything else is off the active chain: dead branches (normal: 2.1.197 re-parents a resumed
  prompt past an orphan tool_use) or fragments cut off by a link to a uuid never written (#22526)
  or by a link that loops back into the chain.
Most transcripts are one chain written in order: each line's link names the line before it. Each
chunk checks that of its own lines in C as it is read (rows.py, `follows`), the chunks' ends are
matched after (`_one_chain_in_file_order`), and the chain is then the file's lines, with no walk
and no object per line. Any other transcript is linked line by line.
Sidechain lines in a main transcript belong to subagents and are left out; a subagent's own file
(`<session>/subagents/agent-*.jsonl`, every line a sidechain) is read as a transcript of its own.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from pathlib import Path
from typing import overload

from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.claude.rows import EMPTY_LINE, TITLES, TRANSCRIPT, Entry, Kept, Rows, from_dict, keep
from threaddoctor.sources.files.base import LogSource
from threaddoctor.sources.files.chunks import decoded_chunks, gc_paused
from threaddoctor.sources.files.lines import LineReader

# Lines that are links of the conversation chain and may be its leaf. `progress` lines carry uuids
# too and are followed when a message names one as parent (#37437), but they are never the leaf:
# older builds hung them off the chain as "parasitic forks" (#35024).
CONVERSATION = frozenset({"user", "assistant", "system", "attachment"})
# Claude Code writes nothing while a tool runs, and its Bash tool may run for up to ten minutes: a
# transcript that ends on a tool_use is taken as possibly live for that long (plus a minute).
TOOL_RUNNING_SECONDS = 660
__all__ = ["CONVERSATION", "BrokenLink", "Chain", "ClaudeTranscript", "Entry", "open_transcript"]


@dataclass(frozen=True)
class BrokenLink:
    entry: Entry
    target: str  # the uuid named but never written (or, in a loop, written further down the chain)
    on_chain: bool  # the active chain stops here: resume loses what came before
    cut_off: int  # conversation lines unreachable from the newest leaf because of this link
    loop: bool = False  # the link points back into the chain it is on


class Chain(Sequence[Entry]):
    """The active chain, root first, as entries made when asked for (a long chain is mostly lines
    no rule reads)."""

    def __init__(self, rows: list[int], entry: Callable[[int], Entry]) -> None:
        self.rows, self._entry = rows, entry

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> Entry: ...
    @overload
    def __getitem__(self, i: slice) -> list[Entry]: ...
    def __getitem__(self, i: int | slice) -> Entry | list[Entry]:
        if isinstance(i, slice):
            return [self._entry(row) for row in self.rows[i]]
        return self._entry(self.rows[i])

    def __iter__(self) -> Iterator[Entry]:
        return map(self._entry, self.rows)

    def __reversed__(self) -> Iterator[Entry]:
        return map(self._entry, reversed(self.rows))


@dataclass
class ClaudeTranscript(LogSource):
    """A parsed transcript: the source the claude-transcript rules read."""

    path: Path
    reader: LineReader
    rows: Rows = field(default_factory=Rows.empty)  # one per line of the file: row = line - 1
    session_id: str | None = None
    version: str | None = None
    titles: dict[str, str] = field(default_factory=dict)  # kind -> the last title of that kind
    subagent: bool = False
    duplicates: int = 0
    compactions: int = 0  # compact boundaries written (most transcripts have none)
    records: int = 0
    conversation: int = 0  # lines of this transcript's own conversation (sidechains left out)
    leaf: Entry | None = None
    chain_rows: Sequence[int] = field(default_factory=list)  # the active chain's rows, root first
    broken: list[BrokenLink] = field(default_factory=list)
    unreachable: int = 0  # conversation lines not connected to the active chain at all
    in_file_order: bool = False  # the chain is the file's lines in order (see _one_chain_in_file_order)
    _made: dict[int, Entry] = field(default_factory=dict)  # row -> its entry, once asked for
    _odd_rows: dict[int, Entry] = field(default_factory=dict)  # row -> entry of the lines the columns cannot describe
    _uuids: set[str] = field(default_factory=set)  # while reading: each uuid seen
    _with_uuid: int = 0  # lines with a uuid

    kinds = ("claude-transcript", "jsonl")

    @property
    def chain(self) -> Chain:
        """The active chain, root first, the newest leaf last."""
        return Chain(self.chain_rows, self.entry)

    @property
    def description(self) -> str:
        parts = ["Claude Code subagent transcript" if self.subagent else "Claude Code transcript"]
        if self.version:
            parts.append(f"cli {self.version}")
        parts.append(f"{len(self.chain)} of {self.conversation} lines on the active chain")
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
        return next((self.titles[k] for k in TITLES if k in self.titles), None)  # a custom title first

    # ---- lines, made into entries when asked for --------------------------------------------
    def entry(self, row: int) -> Entry:
        """The entry of the line at `row` (which has a uuid), made from the columns once."""
        made = self._made.get(row)
        if made is None:
            made = self._made[row] = self._odd_rows.get(row) or self._from_columns(row)
        return made

    def all_entries(self) -> list[Entry]:
        """Every line with a uuid, the first written of each uuid, in file order."""
        return [self.entry(row) for row in self._first_rows().values()]

    def _from_columns(self, row: int) -> Entry:
        c, up = self.rows, self.rows.up_at(row)
        return Entry(
            row + 1,
            c.uuid[row],  # type: ignore[arg-type]
            c.type[row],  # type: ignore[arg-type]
            up,
            timestamp=c.timestamp[row],
            tool_uses=tuple(zip(*(column[_at_row(c.use_row, row)] for column in (c.use_id, c.use_name)), strict=True)),
            tool_results=tuple(c.result_id[_at_row(c.result_row, row)]),
            message_id=c.message_id[row],
            prompt=_has(c.prompts, row),
            up=up,
        )

    def _first_rows(self) -> dict[str, int]:
        """uuid -> the row of the first line written with it (file order)."""
        uuid = self.rows.uuid
        rows = list(compress(range(len(uuid)), uuid))
        uuids = [uuid[r] for r in rows]
        first = dict.fromkeys(uuids)  # in the order first written
        first.update(zip(reversed(uuids), reversed(rows), strict=True))  # the last update of a key wins
        return first  # type: ignore[return-value]

    # ---- the conversation, as resume rebuilds it ----------------------------------------------
    def compaction_start(self) -> int:
        """Index in `chain` of its last compact boundary (0 without one). The next request is built
        from here on: what came before reaches the model only through the compaction summary."""
        if not self.compactions:
            return 0
        boundaries = {e.line - 1 for e in self.rows.odd if e.compact_boundary}
        return _last_index(self.chain_rows, boundaries.__contains__, 0)

    def request_window(self) -> Sequence[int]:
        """Indexes in `chain` of the lines the next request is built from: since the last compact
        boundary, plus the lines that boundary preserved verbatim (they sit before it)."""
        start = self.compaction_start()
        since = range(start, len(self.chain))
        kept = set(self.chain[start].preserved) if self.chain and self.chain[start].compact_boundary else set()
        if not kept:
            return since
        uuid, rows = self.rows.uuid, self.chain_rows
        return [i for i in range(start) if uuid[rows[i]] in kept] + list(since)

    def last_prompt_index(self) -> int:
        """Index in `chain` of the last prompt, -1 without one: where the current turn began."""
        prompts = set(self.rows.prompts)
        return _last_index(self.chain_rows, prompts.__contains__, -1)

    def window_calls(self) -> tuple[Calls, Calls]:
        """The tool_use blocks ([place], [id], [name]) and tool_result blocks ([place], [id]) of the
        lines the next request is built from, each in chain order. A place orders lines as the
        chain does; `at(place)` gives its index in `chain` and its entry."""
        window = self.request_window()
        c, rows = self.rows, self.chain_rows
        uses, results = (c.use_row, c.use_id, c.use_name), (c.result_row, c.result_id)
        if self.in_file_order:  # a place is a row
            if len(window) == len(rows):
                return uses, results
            inside = {rows[i] for i in window}
            return _placed(uses, inside.__contains__, None), _placed(results, inside.__contains__, None)
        index = {rows[i]: i for i in window}  # a place is an index in the chain
        return _placed(uses, index.__contains__, index), _placed(results, index.__contains__, index)

    def at(self, place: int) -> tuple[int, Entry]:
        """(index in `chain`, entry) of a place that `window_calls` gave."""
        if self.in_file_order:  # the place is a row: counted back from the chain's end, where it usually is
            after = sum(compress(repeat(1), self.rows.uuid[place + 1 :]))
            return len(self.chain_rows) - 1 - after, self.entry(place)
        return place, self.entry(self.chain_rows[place])

    def later_messages(self, index: int, entry: Entry) -> int:
        """Prompts and assistant lines of another API message than `entry`'s on the chain after it
        (at `index`)."""
        c, prompts, message_id = self.rows, set(self.rows.prompts), entry.message_id
        if self.in_file_order:
            rest: Iterable[int] = compress(range(entry.line, len(c.uuid)), c.uuid[entry.line :])
        else:
            rest = self.chain_rows[index + 1 :]
        return sum(
            1 for row in rest if row in prompts or (c.type[row] == "assistant" and c.message_id[row] != message_id)
        )

    # ---- reading ---------------------------------------------------------------------------
    def read(self) -> ClaudeTranscript:
        """Whole chunks decoded in C when they are clean; line by line only where one is not."""
        with gc_paused():
            for chunk in decoded_chunks(self.path, TRANSCRIPT):
                self.reader.mark(chunk.first, chunk.offset)
                if chunk.kept is not None:
                    self.records += chunk.lines
                    self._take(chunk.first, chunk.kept)
                    continue
                lines = [EMPTY_LINE] * chunk.lines  # a line that cannot be read is a row of Nones
                for lineno, raw in self.reader.checked(enumerate(chunk.raw_lines(), chunk.first)):
                    self.records += 1
                    if (record := self.reader.parse(lineno, raw)) is not None:
                        lines[lineno - chunk.first] = from_dict(record)
                self._take(chunk.first, keep(lines))
            self._link()
        return self

    def _take(self, first: int, kept: Kept) -> None:
        rows, session_id, version, titles = kept
        self.session_id = self.session_id or session_id
        self.version = version or self.version  # the newest writer: resume may upgrade
        self.titles.update(titles)
        self.rows.extend(rows, first - 1)
        # Counted as each chunk comes: the parent has time while the worker reads.
        uuids, before = list(compress(rows.uuid, rows.uuid)), len(self._uuids)
        self._uuids.update(uuids)
        self._with_uuid += len(uuids)
        self.duplicates += len(uuids) - (len(self._uuids) - before)

    def _link(self) -> None:
        self._odd_rows = {e.line - 1: e for e in self.rows.odd}
        self._uuids = set()
        # Re-appended copies (#56196, #66947) are common and mostly identical: the FIRST line written
        # with a uuid is kept, so evidence points at the original write.
        if self._one_chain_in_file_order():
            self.compactions = sum(1 for e in self.rows.odd if e.subtype == "compact_boundary")
        else:
            self._link_line_by_line()

    def _one_chain_in_file_order(self) -> bool:
        """The usual transcript, recognised in C: no repeated uuid, no sidechain, every line's link
        names the line written before it, the first has none, and the last is a conversation line.
        Then every line is on the chain, in file order, and the last is the newest leaf."""
        c = self.rows
        if self.duplicates or not self._with_uuid or any(e.sidechain for e in c.odd):
            return False
        if not c.one_chain():
            return False
        rows = _RowsWithUuid(c.uuid, self._with_uuid)
        if c.type[rows[-1]] not in CONVERSATION:
            return False
        self.chain_rows, self.conversation, self.in_file_order = rows, len(rows), True
        self.leaf = self.entry(rows[-1])
        return True

    def _link_line_by_line(self) -> None:
        first = self._first_rows()
        self.compactions = sum(
            1 for e in self.rows.odd if e.subtype == "compact_boundary" and first[e.uuid] == e.line - 1
        )
        known = {uuid: self.entry(row) for uuid, row in first.items()}
        main = list(known.values()) if self.subagent else [e for e in known.values() if not e.sidechain]
        if not main and known:  # every line a sidechain: a subagent's own transcript
            self.subagent, main = True, list(known.values())
        self.conversation = len(main)
        talk = [e for e in main if e.type in CONVERSATION]
        self.leaf = _newest_leaf(talk)
        chain = _walk(self.leaf, known) if self.leaf else []
        self.chain_rows = [e.line - 1 for e in chain]
        if _one_unbroken_chain(chain, main, self.subagent):
            return  # every line on the chain: nothing off it, nothing cut
        terminals, dangling = _terminals(main, known)
        active = terminals.get(chain[0].uuid) if chain else None
        ends = set(terminals.values())
        if len(ends) == 1:  # one tree, the usual case: no need to count line by line
            hanging = Counter(dict.fromkeys(ends, len(talk)))
        else:
            hanging = Counter(terminals[e.uuid] for e in talk)
        self.unreachable = sum(n for term, n in hanging.items() if term != active)
        self.broken = [_broken(e, e.up, active, hanging, known) for e in dangling]  # type: ignore[arg-type]
        head = chain[0] if chain else None
        if head is not None and head.up is not None and head.up in known:  # the walk closed a loop
            link = _broken(head, head.up, head.uuid, hanging, known)
            self.broken.append(BrokenLink(head, head.up, True, link.cut_off, loop=True))


def _one_unbroken_chain(chain: list[Entry], main: list[Entry], subagent: bool) -> bool:
    """Every line of the conversation is on the active chain, which starts at a root."""
    return (
        len(chain) == len(main)
        and bool(chain)
        and chain[0].up is None
        and (subagent or not any(e.sidechain for e in chain))
    )


def _walk(leaf: Entry, known: dict[str, Entry]) -> list[Entry]:
    chain, entry = [leaf], leaf
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


def _terminals(entries: list[Entry], known: dict[str, Entry]) -> tuple[dict[str, str], list[Entry]]:
    """uuid -> where walking up from it ends: a root, a line whose link is broken, or a cycle
    (lines sharing the active chain's terminal are on it or on a dead branch off it); and the
    lines whose link names a uuid never written."""
    terminal: dict[str, str] = {}
    dangling: list[Entry] = []
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
            up = known[cur].up
            if up is None or up not in known or up in on_path:
                terminal[cur] = cur
                break
            cur = up
        for uuid in path:
            terminal[uuid] = terminal[cur]
    return terminal, dangling


def _broken(e: Entry, target: str, active: str | None, hanging: Counter[str], known: dict[str, Entry]) -> BrokenLink:
    """`hanging`: how many conversation lines end at each terminal (counted once per scan: a
    transcript can have thousands of broken links)."""
    if e.uuid == active:
        # the chain stops here: everything hanging from a real root elsewhere is lost to resume
        cut = sum(n for term, n in hanging.items() if term != active and known[term].up is None)
        return BrokenLink(e, target, True, cut)
    return BrokenLink(e, target, False, hanging[e.uuid])


def _last_index(rows: Sequence[int], test: Callable[[int], bool], default: int) -> int:
    """The index of the last row that passes `test`, searched from the end (it is usually near)."""
    return next((i for i, row in zip(range(len(rows) - 1, -1, -1), reversed(rows), strict=True) if test(row)), default)


class _RowsWithUuid(Sequence[int]):
    """The rows that have a uuid, in file order: the chain of a transcript written as one chain in
    order. Listed only when more than its ends is asked for (a list of 100,000 ints costs a scan
    8 ms to make and to free, and rules seldom need it)."""

    def __init__(self, uuid: list[str | None], count: int) -> None:
        self.uuid, self.count = uuid, count
        self.listed: list[int] | None = None

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> list[int]: ...
    def __getitem__(self, i: int | slice) -> int | list[int]:
        if self.count and i == 0:
            return next(row for row, uuid in enumerate(self.uuid) if uuid is not None)
        if self.count and i == -1:
            return next(reversed(self))
        if self.listed is None:
            self.listed = list(compress(range(len(self.uuid)), self.uuid))
        return self.listed[i]

    def __iter__(self) -> Iterator[int]:
        return compress(range(len(self.uuid)), self.uuid)

    def __reversed__(self) -> Iterator[int]:
        uuid = self.uuid
        return (row for row in range(len(uuid) - 1, -1, -1) if uuid[row] is not None)


def _newest_leaf(talk: list[Entry]) -> Entry | None:
    """The last-written conversation line that no other one names as its parent (`talk` is in file
    order: entries are kept in the order their lines were written)."""
    if talk and (last := talk[-1].uuid) and all(e.up != last for e in talk):
        return talk[-1]  # the usual case: the last line written has no child
    children = {e.up for e in talk}
    leaves = [e for e in talk if e.uuid not in children]
    pool = leaves or talk  # a cycle leaves no childless line: fall back to the last one written
    return max(pool, key=lambda e: e.line, default=None)


Calls = tuple[list, ...]  # columns of blocks: their places first


def _placed(calls: Calls, keep: Callable[[int], bool], place: dict[int, int] | None) -> Calls:
    """The blocks of `calls` (rows first) on rows that pass `keep`, their rows turned into places
    and sorted by them (a stable sort: blocks of one line stay in order)."""
    kept = [block for block in zip(*calls, strict=True) if keep(block[0])]
    if place is not None:
        kept = sorted(((place[block[0]], *block[1:]) for block in kept), key=_first)
    return tuple(map(list, zip(*kept, strict=True))) if kept else tuple([] for _ in calls)


def _at_row(rows: list[int], row: int) -> slice:
    """Where `row` sits in a sorted list of rows."""
    return slice(bisect_left(rows, row), bisect_right(rows, row))


def _has(rows: list[int], row: int) -> bool:
    at = bisect_left(rows, row)
    return at < len(rows) and rows[at] == row


def _first(item: tuple) -> int:
    return item[0]


def open_transcript(path: Path, options: ReadOptions | None = None) -> ClaudeTranscript:
    return ClaudeTranscript(path=Path(path), reader=LineReader(Path(path))).read()
