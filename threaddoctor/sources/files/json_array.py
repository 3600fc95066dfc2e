"""A file that is one JSON array of records, read one element at a time.

claude-code-action writes its execution file as `JSON.stringify(messages, null, 2)` (one
pretty-printed array, base-action/src/execution-file.ts), and `jq -s .` slurps a stream into the
same shape. Such a file can be as large as the run log it came from, so it is never parsed whole:
each element is decoded from a window over the file (the C scanner of `json`, by `raw_decode`), and
the window is refilled and slid past what was read. Memory is bounded by the largest element,
and elements over MAX_ELEMENT bytes are reported as damage instead of being held.
Damage is reported like a damaged line of a JSONL log, by the line where the element starts: an
array cut off mid-element (a job cancelled while the file was written), an element that is not an
object, a value that is not JSON, text after the closing bracket.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

from threaddoctor.sources.files.lines import BOM, LineProblem, open_log

READ = 1 << 20
MAX_ELEMENT = 256 << 20  # one message this large is not a real run log's; it is reported, not held
_WHITESPACE = " \t\r\n"


def starts_an_array(path: Path) -> bool:
    """The file's first non-blank character (after a BOM) is `[`."""
    try:
        with open_log(path) as f:
            head = f.read(4096)
    except (OSError, EOFError):
        return False
    return head.removeprefix(BOM).lstrip().startswith(b"[")


def array_elements(path: Path, problems: list[LineProblem]) -> Iterator[tuple[int, dict]]:
    """(line where the element starts, element) for each object in the array; damage goes to
    `problems`. Stops at the first element that cannot be read: in a single JSON value nothing
    after a syntax error can be placed with certainty."""
    with open_log(path) as f:
        yield from _Window(f, problems).elements()


class _Window:
    """The part of the file not yet read, as text, and the line its start is on."""

    def __init__(self, f, problems: list[LineProblem]) -> None:
        self.f, self.problems = f, problems
        self.text, self.at, self.line, self.eof = "", 0, 1, False
        self.utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self.decoder = json.JSONDecoder()

    def fill(self) -> bool:
        """Read more (as much again as the window holds, so a large element costs O(size))."""
        if self.eof:
            return False
        data = self.f.read(max(READ, len(self.text) - self.at))
        try:
            more = self.utf8.decode(data, final=not data)
        except UnicodeDecodeError as e:
            self.problems.append(LineProblem(self.line, "invalid UTF-8", f"at byte {e.start} of a read"))
            self.eof = True
            return False
        self.eof = not data
        self.text = self.text[self.at :] + more
        self.at = 0
        return bool(data)

    def skip_blank(self) -> None:
        while True:
            text, at = self.text, self.at
            while at < len(text) and text[at] in _WHITESPACE:
                at += 1
            self.line += text.count("\n", self.at, at)
            self.at = at
            if at < len(text) or not self.fill():
                return

    def next_char(self) -> str:
        self.skip_blank()
        return self.text[self.at] if self.at < len(self.text) else ""

    def note(self, what: str, detail: str, line: int | None = None) -> None:
        self.problems.append(LineProblem(line or self.line, what, detail))

    def elements(self) -> Iterator[tuple[int, dict]]:
        self.fill()
        if self.text.startswith("\ufeff"):
            self.note("byte order mark", "the file starts with a UTF-8 BOM")
            self.at = 1
        if self.next_char() != "[":
            self.note("not a JSON array", "the file does not start with [")
            return
        self.at += 1
        first = True
        while True:
            c = self.next_char()
            if not c:
                self.note("torn line", "the array ends without its closing ]")
                return
            if c == "]":
                self.at += 1
                if self.next_char():
                    self.note("torn line", "text after the array's closing ]")
                return
            if not first:
                if c != ",":
                    self.note("torn line", f"expected , between records, found {c!r}")
                    return
                self.at += 1
                if not self.next_char():
                    self.note("torn line", "the array ends without its closing ]")
                    return
            first = False
            start = self.line
            element = self.element()
            if element is None:
                return
            if isinstance(element, dict):
                yield start, element
            else:
                self.note("not a JSON object", type(element).__name__, start)

    def element(self) -> object | None:
        """The next value, reading more while it is incomplete. A syntax error that stays where it
        is when more text comes is real damage; one that moves was the window's end."""
        last = None
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.at)
            except json.JSONDecodeError as e:
                seen = (e.msg, e.pos - self.at)
                if seen == last or len(self.text) - self.at > MAX_ELEMENT or not self.fill():
                    cut = self.eof and (e.pos >= len(self.text) - 1 or "Unterminated" in e.msg)
                    what = "the array ends inside a record" if cut else f"not valid JSON: {e.msg}"
                    if len(self.text) - self.at > MAX_ELEMENT:
                        what = f"a record over {MAX_ELEMENT >> 20} MB"
                    self.note("torn line", what)
                    return None
                last = seen
                continue
            except RecursionError:
                self.note("nested too deeply", "more levels than the JSON parser reads")
                return None
            self.line += self.text.count("\n", self.at, end)
            self.at = end
            return value
