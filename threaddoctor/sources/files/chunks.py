"""A JSONL log decoded a chunk at a time in C, with a proof that every line is exactly one record.

The fast path of the log readers. msgspec decodes a whole chunk of lines into small structs (only
the fields a reader declares; every other value is validated and skipped), so the JSON of every
line is checked without building Python objects for message bodies. `decode_lines` treats the
chunk as whitespace-separated values, though, so what it cannot see is checked around it:
- the chunk starts with `{`, ends with `}\\n`, and every newline in it sits between a `}` and a
  `{`. `} {` never occurs inside a JSON value, so each newline separates two top-level records;
- the chunk has exactly as many newlines as records: no blank line, no record split over lines;
- no NUL byte, and the bytes are UTF-8 (msgspec does not check strings it skips).
A chunk that fails any of this is handed back as raw bytes, to be read line by line, where the
damage is found and reported with its line number.

A large plain file is split in two at a line boundary and the second part is decoded by a worker
process, so both cores work; each chunk is reduced by the format's `keep` (only what its reader
needs) and crosses back as msgpack. A forked worker writes each chunk's into memory it shares with
the parent and posts where on a pipe as soon as it is done, so that the parent, given the smaller
part, takes in the worker's chunks while the worker still reads. Chunks always come out in file
order. A worker that cannot start or dies is replaced by the parent reading what it did not send.
"""

from __future__ import annotations

import codecs
import gc
import mmap
import os
import selectors
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from threaddoctor.parallel import forks, stop_workers, worker_pool
from threaddoctor.sources.files.lines import compressed, open_log

CHUNK_BYTES = 512 << 10  # small enough that the passes after the read find it in the L2 cache
PARALLEL_MIN_BYTES = 64 << 20  # below this, starting a worker costs more than it saves
WORKER_SHARE = 0.56  # measured: the parent also takes in the worker's chunks, as they come
_SHARED: Shared | None = None  # where the worker of the read under way writes its results
_SHARED_CLAIM = threading.Lock()
_POST = struct.Struct("qq")  # (offset, length) of a chunk's results in the shared memory
_END = (-1, 0)  # posted when the worker has posted all it will
UTF8_PIECE = 16 << 10  # decoded: at most 64 KB of text, under malloc's threshold for mapping a block


@dataclass(frozen=True)
class LineFormat:
    """How one JSONL format is decoded on the fast path."""

    record: type  # the msgspec Struct one line decodes into
    keep: Callable[[list[Any]], Any]  # a clean chunk's records -> what the reader needs
    kept: Any  # the type `keep` returns, for msgspec to carry it back from the worker
    joint: bytes = b"}\n{"  # what separates two records, counted in chunks of short lines (longer is faster)
    # keep is also given `line`, which returns the bytes of a chunk's line by index: a format whose
    # `record` holds only what tells records apart decodes the few it reads again, fully
    rereads: bool = False

    def decoder(self) -> msgspec.json.Decoder:
        return _decoder(self.record)

    def carrier(self) -> msgspec.msgpack.Decoder:
        """Decodes what the worker sends: msgpack is several times faster than pickle for structs."""
        return _carrier(self.kept)


@cache
def _decoder(record: type) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(record)


@cache
def _carrier(kept: Any) -> msgspec.msgpack.Decoder:
    return msgspec.msgpack.Decoder(tuple[int, kept | None, bytes, int, int])


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off while a reader builds its (acyclic) facts: its collections, triggered by
    every few hundred new objects, cost a tenth of a large scan. The facts are then moved to the
    oldest generation, where objects that outlive two collections end up anyway: else the first
    collection after the pause walks every item of their columns (measured: 10 ms on a 200 MB
    transcript). The move takes every young object of the process along (a cycle that became
    garbage meanwhile waits for a full collection), and is skipped when the program has frozen
    objects of its own (`gc.freeze` before a fork): unfreezing would undo that."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():
                gc.freeze()  # every tracked object to the permanent generation...
                gc.unfreeze()  # ...and from there to the oldest one
            gc.enable()


@dataclass(slots=True)
class Chunk:
    first: int  # the line number of the chunk's first line
    lines: int
    kept: Any  # what `keep` made of the records, when the chunk is proven clean; else None
    raw: bytes  # otherwise the chunk's bytes, to be read line by line
    offset: int  # where the chunk starts in the (decompressed) file

    def raw_lines(self) -> list[bytes]:
        """The damaged chunk's lines, split at newlines only (as the agents and `lines` count them:
        a carriage return inside a record is whitespace, not a line break)."""
        parts = self.raw.split(b"\n")
        lines = [part + b"\n" for part in parts[:-1]]
        return [*lines, parts[-1]] if parts[-1] else lines


def decoded_chunks(path: Path, fmt: LineFormat) -> Iterator[Chunk]:
    """The log as chunks of whole lines, in order."""
    split, pool, other, shared, finished = _split_point(path), None, None, None, False
    try:
        if split:
            try:
                room = (path.stat().st_size - split) // 4  # results are under a tenth of the bytes
                shared = _claim_shared_memory(max(room, 1 << 20)) if forks() else None
                pool = worker_pool()  # forks on submit: the worker inherits the shared memory
                other = pool.submit(_decoded_in_worker, path, fmt, split, shared is not None)
            except Exception:  # no process to be had (a process limit, a sandbox): read alone
                split = 0
        first = 1
        for lines, kept, raw, offset, _ in _decoded(path, fmt, 0, split or None):
            yield Chunk(first, lines, kept, raw, offset)
            first += lines
            if shared is not None:
                shared.take_posts()  # keeps the pipe from filling while the parent reads its part
        if other is not None:
            for lines, kept, raw, offset, length in _worker_parts(other, path, fmt, split, shared):
                if kept is None and not raw:  # a damaged chunk comes back as its byte range, not its bytes
                    raw = _read_range(path, offset, length)
                yield Chunk(first, lines, kept, raw, offset)
                first += lines
        finished = True
    finally:
        if pool is not None:
            if not finished:  # the reader stopped early (an error, or it had what it needed)
                stop_workers(pool)
            # Waited for (3 ms): a pool's thread left running would be copied, mid-step, into
            # the next read's forked worker.
            pool.shutdown(cancel_futures=True)
        if shared is not None:
            _release_shared_memory(shared)


@dataclass
class Shared:
    """Memory a forked worker writes its results into, so that they are neither pickled nor piped
    (measured: 15 ms for a transcript's 7 MB of results), and a pipe on which it posts where each
    chunk's are as soon as they are written. Only the pages written are used."""

    memory: mmap.mmap
    posts: int  # the pipe's read end
    post: int  # its write end, not blocking: a worker never waits for a parent that stopped reading
    taken: deque[tuple[int, int]] = field(default_factory=deque)
    partial: bytes = b""

    def take_posts(self) -> None:
        """Take in what the worker has posted so far."""
        while True:
            try:
                got = os.read(self.posts, 1 << 16)
            except BlockingIOError:
                return
            if not got:  # cannot happen while the parent holds the write end; never spin on it
                return
            data = self.partial + got
            whole = len(data) - len(data) % _POST.size
            self.taken.extend(_POST.iter_unpack(data[:whole]))
            self.partial = data[whole:]


def _claim_shared_memory(room: int) -> Shared | None:
    """`room` bytes of shared memory and a pipe for a forked worker. A read that starts while
    another read holds them gets none, and its worker returns its results."""
    global _SHARED
    with _SHARED_CLAIM:
        if _SHARED is not None:
            return None
        try:
            memory = mmap.mmap(-1, room)  # anonymous, shared with a forked worker
        except (OSError, ValueError):
            return None
        try:
            posts, post = os.pipe()
        except OSError:  # out of file descriptors: the worker returns its results instead
            memory.close()
            return None
        os.set_blocking(posts, False)
        os.set_blocking(post, False)
        _SHARED = Shared(memory, posts, post)
        return _SHARED


def _release_shared_memory(shared: Shared) -> None:
    global _SHARED
    with _SHARED_CLAIM:
        _SHARED = None
    os.close(shared.posts)
    os.close(shared.post)
    with suppress(BufferError):  # defensive: views are released as each chunk is decoded
        shared.memory.close()


def _worker_parts(other: Future, path: Path, fmt: LineFormat, split: int, shared: Shared | None) -> Iterator[Any]:
    """The worker's chunks: those it posted, as they come, then those it returned. A worker that
    died (killed, out of memory) is replaced by the parent reading what it did not send."""
    carrier, resume = fmt.carrier(), split
    try:
        for at, length in _posted(other, shared) if shared is not None else ():
            with memoryview(shared.memory) as memory:  # type: ignore[union-attr]
                part = carrier.decode(memory[at : at + length])
            resume = part[3] + part[4]
            yield part
        for data in other.result():
            part = carrier.decode(data)
            resume = part[3] + part[4]
            yield part
    except Exception:
        yield from _decoded(path, fmt, resume, None)


def _posted(other: Future, shared: Shared) -> Iterator[tuple[int, int]]:
    """Where the worker wrote each chunk's results, as it posts them, until it posts its end or
    stops without (it died, or found the pipe full and returns the rest)."""
    with selectors.DefaultSelector() as waiting:  # not select(): a program may hold over 1024 files
        waiting.register(shared.posts, selectors.EVENT_READ)
        while True:
            while shared.taken:
                where = shared.taken.popleft()
                if where == _END:
                    return
                yield where
            if other.done():
                shared.take_posts()
                if not shared.taken:
                    return
                continue
            waiting.select(0.05)  # woken by a post; now and then, to see whether the worker died
            shared.take_posts()


def _decoded_in_worker(path: Path, fmt: LineFormat, start: int, use_shared: bool) -> list[bytes]:
    """Each chunk's results, msgpack-encoded: written into the shared memory (inherited when the
    worker was forked) and posted while there is room; the rest returned, in order."""
    out: list[bytes] = []
    shared, at = _SHARED if use_shared else None, 0
    for part in _decoded(path, fmt, start, None, keep_raw=False):
        data = msgspec.msgpack.encode(part)
        if shared is not None and not out and at + len(data) <= len(shared.memory):
            shared.memory[at : at + len(data)] = data
            if _post(shared, at, len(data)):
                at += len(data)
                continue
        out.append(data)
    if shared is not None:
        _post(shared, *_END)
    return out


def _post(shared: Shared, at: int, length: int) -> bool:
    try:  # a post is shorter than PIPE_BUF: written whole or not at all
        return os.write(shared.post, _POST.pack(at, length)) == _POST.size
    except OSError:  # the pipe is full: the parent is busy or gone
        return False


def _decoded(path: Path, fmt: LineFormat, start: int, stop: int | None, keep_raw: bool = True) -> Iterator[Any]:
    """(lines, kept or None, raw bytes when not clean, offset, length) for each chunk of the bytes
    [start, stop); without keep_raw, a damaged chunk's bytes are left for the reader to re-read."""
    decoder = fmt.decoder()
    for buf, end, offset in _pieces(path, start, stop):
        with memoryview(buf) as whole, whole[:end] as view:
            ends: list[int] = []
            records = _proven(buf, view, decoder, fmt.joint, ends)
            if records is not None:
                kept = fmt.keep(records, _Lines(buf, end, ends)) if fmt.rereads else fmt.keep(records)
                lines, raw = len(records), b""
                records = None  # may hold views of the buffer (msgspec.Raw), which must be released
            else:
                kept, raw = None, view.tobytes() if keep_raw else b""
                lines = buf.count(b"\n", 0, end) + (not buf.endswith(b"\n", 0, end))
        yield lines, kept, raw, offset, end


class _Lines:
    """The lines of a proven chunk, by index: from the newlines found while proving it, or, when it
    was proven by counting them, found when first asked for."""

    def __init__(self, buf: bytearray, end: int, ends: list[int]) -> None:
        self.buf, self.end, self.ends = buf, end, ends

    def __call__(self, i: int) -> bytes:
        ends, find = self.ends, self.buf.find
        if not ends:
            at = find(b"\n", 0, self.end)
            while at != -1:
                ends.append(at)
                at = find(b"\n", at + 1, self.end)
        start = ends[i - 1] + 1 if i else 0
        return bytes(self.buf[start : ends[i] + 1])


def _read_range(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(length)


def _pieces(path: Path, start: int, stop: int | None) -> Iterator[tuple[bytearray, int, int]]:
    """(buffer, end, offset): whole lines of the bytes [start, stop) read into one reused buffer,
    which begins at `offset` in the file; the last piece may lack its newline."""
    buf = bytearray(CHUNK_BYTES)
    have, offset = 0, start
    left = None if stop is None else stop - start
    with open_log(path) as f:
        if start:
            f.seek(start)
        while True:
            if have == len(buf):  # one line longer than the buffer: grow it
                buf.extend(bytes(len(buf)))
            room = len(buf) - have if left is None else min(len(buf) - have, left)
            with memoryview(buf) as whole:
                got = f.readinto(whole[have : have + room]) if room else 0  # type: ignore[attr-defined]
            if left is not None:
                left -= got or 0
            end = have + (got or 0)
            if not got:  # the end of the part: what is left, newline or not
                if end:
                    yield buf, end, offset
                return
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:
                have = end
                continue
            yield buf, cut, offset
            offset += cut
            tail = bytes(buf[cut:end])
            buf[: len(tail)] = tail
            have = len(tail)


def _proven(
    buf: bytearray, view: memoryview, decoder: msgspec.json.Decoder, joint: bytes, ends: list[int] | None = None
) -> list[Any] | None:
    """The records of buf[:len(view)] when it is proven to hold exactly one per line, else None.
    Where the newlines were found one by one, their places are appended to `ends`."""
    end = len(view)
    if not (buf.startswith(b"{") and buf.endswith(b"}\n", 0, end)) or buf.find(b"\x00", 0, end) != -1:
        return None
    lines = _joined_lines(buf, end, joint, [] if ends is None else ends)
    if lines is None:
        return None
    if not buf.isascii() and not _utf8(view):  # the whole buffer: a stale byte past `end` only costs a decode
        return None
    try:
        records = decoder.decode_lines(view)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return records if len(records) == lines else None


def _utf8(view: memoryview) -> bool:
    """Whether the bytes are UTF-8, decoded a piece at a time: a whole chunk's text (up to 2 MB)
    would be a block that malloc maps fresh from the kernel and returns on every call, a page
    fault per 4 KB (measured: a third of a fresh process's scan went to them); a piece fits in
    memory the allocator keeps."""
    at, end = 0, len(view)
    try:
        while at < end:
            at += codecs.utf_8_decode(view[at : at + UTF8_PIECE], "strict", at + UTF8_PIECE >= end)[1]
    except UnicodeDecodeError:
        return False
    return True


def _joined_lines(buf: bytearray, end: int, joint: bytes, ends: list[int]) -> int | None:
    """How many newlines buf[:end] holds, when every one joins two records (a `}` before it and a
    `{` after it, or the end); else None. Agents' lines run to kilobytes, so hopping from newline
    to newline (memchr) beats counting the joint needle over every byte, five times over on 200 MB;
    for short lines a Python step per line would not, and both are counted instead."""
    if buf.count(b"\n", 0, min(end, 8192)) > 32:  # lines under ~250 bytes: count
        lines = buf.count(b"\n", 0, end)
        return lines if buf.count(joint, 0, end) == lines - 1 else None
    find, last, found = buf.find, end - 1, ends.append
    at = find(b"\n", 0, end)
    while at != -1:
        found(at)
        if buf[at - 1] != 0x7D or (at != last and buf[at + 1] != 0x7B):  # "}" before, "{" after
            ends.clear()
            return None
        at = find(b"\n", at + 1, end)
    return len(ends)


def _split_point(path: Path) -> int:
    """Where the worker's part begins (just after a newline), or 0 to read alone."""
    if (os.cpu_count() or 1) < 2:
        return 0
    try:
        size = path.stat().st_size
        if size < PARALLEL_MIN_BYTES or compressed(path):
            return 0  # small, or a stream that cannot be entered in the middle
        with path.open("rb") as f:
            f.seek(int(size * (1 - WORKER_SHARE)))
            f.readline()
            at = f.tell()
    except OSError:
        return 0
    return at if at < size else 0
