"""Read a JSONL log line by line, as bytes, noting the damage agents' writers are known to leave.

Agent logs are append-only files written by processes that can die mid-write: a torn line (a
partial record, often followed by a full copy: Codex #24425), NUL padding from an interrupted
append (Claude Code #49876, Codex #24369), invalid UTF-8 (Codex #36802), a BOM (Codex #28139).
Those lines are reported, with their line numbers, and skipped; the rest of the file is read.
Compressed files (`.gz`, `.zst`) are streamed, never loaded whole, and read up to any damage in
the compressed data (streams.py), which is reported like a damaged line.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from threaddoctor.errors import InputError
from threaddoctor.sources.files.streams import gzip_stream, stream_stop, zstd_stream

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LineProblem:
    line: int
    what: str  # "torn line", "NUL bytes", "invalid UTF-8", "byte order mark", "not a JSON object"
    detail: str = ""
    stops: bool = False  # reading stopped here (a damaged compressed stream): nothing after it was read


@dataclass
class LineReader:
    """Iterates (line number, raw bytes) over well-formed lines; damage goes to `problems`."""

    path: Path
    problems: list[LineProblem] = field(default_factory=list)
    lines: int = 0
    marks: list[tuple[int, int]] = field(default_factory=list)  # (line number, byte offset), ascending

    def all_problems(self) -> list[LineProblem]:
        """The damaged lines, and where a damaged compressed stream stopped the reading, if it did."""
        stop = stream_stop(self.path)
        if stop is None:
            return self.problems
        return [*self.problems, LineProblem(stop.line, stop.what, stop.detail, stops=True)]

    def mark(self, lineno: int, offset: int) -> None:
        """Note where a line starts, so `record` can seek near any line instead of reading up to it."""
        self.marks.append((lineno, offset))

    def record(self, lineno: int) -> dict:
        """The JSON record on one line (for a repair built from the line it answers)."""
        at = bisect.bisect_right(self.marks, (lineno, float("inf"))) - 1
        if at < 0 or compressed(self.path):
            return read_record(self.path, lineno)
        first, offset = self.marks[at]
        with self.path.open("rb") as f:
            f.seek(offset)
            for n, line in enumerate(f, first):
                if n == lineno:
                    return _decoded(self.path, lineno, line)
        raise InputError(f"{self.path}: no line {lineno}")

    def raw(self) -> Iterator[tuple[int, bytes]]:
        with open_log(self.path) as f:
            yield from self.checked(enumerate(f, 1))

    def checked(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        """The well-formed lines among (line number, bytes); damage goes to `problems`.
        Hot path: no per-line copies; decode only lines that are not plain ASCII."""
        problems = self.problems
        for lineno, line in lines:
            self.lines = max(self.lines, lineno)
            if lineno == 1 and line.startswith(BOM):
                problems.append(LineProblem(1, "byte order mark", "the file starts with a UTF-8 BOM"))
                line = line[len(BOM) :]
            if len(line) <= 2 and not line.strip():
                continue
            if b"\x00" in line:
                problems.append(LineProblem(lineno, "NUL bytes", f"{line.count(0)} NUL byte(s)"))
                continue
            if not line.isascii():
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as e:
                    problems.append(LineProblem(lineno, "invalid UTF-8", f"at byte {e.start}"))
                    continue
            if not (line.startswith(b"{") and (line.endswith(b"}\n") or line.endswith(b"}\r\n"))):
                if line.strip().startswith(b"{") and line.rstrip().endswith(b"}") and not line.endswith(b"\n"):
                    yield lineno, line  # a complete last line without its newline
                    continue
                problems.append(LineProblem(lineno, "torn line", _torn(line)))
                continue
            yield lineno, line

    def chunks(self, size: int = 8 << 20) -> Iterator[bytes]:
        """The file in large pieces, each ending at a newline (the last may lack it), for readers
        that scan whole chunks and count lines themselves."""
        with open_log(self.path) as f:
            while data := f.read(size):
                yield data if data.endswith(b"\n") else data + f.readline()  # finish the cut line

    def records(self) -> Iterator[tuple[int, dict]]:
        """Parsed records; a line that is not one JSON object is reported as torn."""
        for lineno, line in self.raw():
            record = self.parse(lineno, line)
            if record is not None:
                yield lineno, record

    def parse(self, lineno: int, line: bytes) -> dict | None:
        try:
            record = loads(line)
        except ValueError as e:
            self.problems.append(LineProblem(lineno, "torn line", f"not valid JSON: {e}"))
            return None
        except RecursionError:  # valid JSON, perhaps, but deeper than Python's parser goes
            self.problems.append(LineProblem(lineno, "nested too deeply", "more levels than the JSON parser reads"))
            return None
        if not isinstance(record, dict):
            self.problems.append(LineProblem(lineno, "not a JSON object", type(record).__name__))
            return None
        return record


def _torn(line: bytes) -> str:
    end = line.rstrip()[-20:]
    return f"the record ends in {end!r}" if line.endswith(b"\n") else "the last line ends without a newline"


def compressed(path: Path) -> bool:
    """A gzip or zstd stream: it cannot be entered in the middle, nor appended to as text."""
    with path.open("rb") as f:
        return f.read(4).startswith((GZIP_MAGIC, ZSTD_MAGIC))


def open_log(path: Path) -> IO[bytes]:
    """The decompressed byte stream of a log file."""
    try:
        with path.open("rb") as probe:
            head = probe.read(4)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    if head.startswith(GZIP_MAGIC):
        return gzip_stream(path)  # read up to any damage: see streams.py
    if head.startswith(ZSTD_MAGIC):
        return zstd_stream(path)
    return path.open("rb")


def loads(line: bytes) -> Any:
    """json.loads, except that an integer too long for Python's int parser (4,300 digits) is kept
    as its digits: it is valid JSON, and the fast path (msgspec) reads it."""
    try:
        return json.loads(line)
    except ValueError:
        return json.loads(line, parse_int=_int_or_digits)


def _int_or_digits(digits: str) -> int | str:
    try:
        return int(digits)
    except ValueError:
        return digits


def _decoded(path: Path, lineno: int, line: bytes) -> dict:
    try:
        record = loads(line.removeprefix(BOM))
    except (ValueError, RecursionError) as e:
        raise InputError(f"{path}:{lineno}: the line cannot be read ({type(e).__name__}: {e})") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}:{lineno}: not a JSON object")
    return record


def first_record(path: Path, limit: int = 5) -> dict | None:
    """The first JSON object in the first few non-empty lines, for recognising a format."""
    reader = LineReader(path)
    try:
        for n, (_, record) in enumerate(reader.records()):
            return record if n < limit else None
    except (OSError, EOFError):
        return None
    return None


def read_record(path: Path, lineno: int) -> dict:
    """The JSON record on one line (for building a repair from the line it answers). Newlines are
    counted a block at a time, so a line near the end of a large log is found at C speed."""
    before, carry = 0, b""  # lines wholly read before `carry`, the start of a line not yet ended
    with open_log(path) as f:
        while block := f.read(1 << 20):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            whole, carry = data[:cut], data[cut:]
            count = whole.count(b"\n")
            if before + count >= lineno:
                return _decoded(path, lineno, whole.split(b"\n")[lineno - 1 - before])
            before += count
    if carry and before + 1 == lineno:  # the last line, without its newline
        return _decoded(path, lineno, carry)
    raise InputError(f"{path}: no line {lineno}")
