"""Decompressed log streams that stop where the compressed data is damaged, and say where.

A truncated, corrupt or wrongly-keyed `.gz` or `.zst` log is read up to the damage like a plain
file with a torn end: what came before is judged, and where reading stopped is remembered (the line
and the byte of the decompressed data) for LOG001 to report. When nothing at all could be read, the
file is bad input (a one-line error). zstd's own stream reader returns a frame cut short as if it had
ended, and gzip's drops what it decompressed when a later check fails, so frames (gzip members) are
decompressed here a piece at a time, and a stream that ends inside one is truncated.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from threaddoctor.errors import InputError

_INPUT_BYTES = 1 << 13  # compressed bytes fed at a time: damage loses at most what they expand to


@dataclass(frozen=True)
class StreamStop:
    line: int  # the line reading stopped in
    offset: int  # decompressed bytes read before the damage
    what: str  # "damaged gzip stream", "damaged zstd stream"
    detail: str


class Truncated(Exception):
    """The compressed data ends inside a frame."""


_STOPS: dict[tuple[str, int, int], StreamStop] = {}


def _key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.fspath(path), st.st_size, st.st_mtime_ns)


def stream_stop(path: Path) -> StreamStop | None:
    """Where the last read of this file (as it is now) stopped at damage, if it did."""
    key = _key(path)
    return None if key is None else _STOPS.get(key)


class _Frames:
    """Compressed frames (zstd frames, gzip members) decompressed one after another, a piece of
    input at a time, so that what precedes damage is handed out; `read` raises at damage, and
    Truncated when the data ends inside a frame."""

    def __init__(self, raw: IO[bytes], decoder: Callable[[], Any], kind: str) -> None:
        self.raw, self.decoder, self.kind = raw, decoder, kind
        self.frame, self.started, self.done = decoder(), False, False
        self.pending, self.at = b"", 0

    def read(self, n: int) -> bytes:
        while self.at >= len(self.pending):
            if self.done:
                return b""
            self.pending, self.at = self._more(), 0
        out = self.pending[self.at : self.at + n]
        self.at += len(out)
        return out

    def _more(self) -> bytes:
        data = self.raw.read(_INPUT_BYTES)
        if not data:
            self.done = True
            if self.started:
                raise Truncated(f"the data ends inside a {self.kind} frame")
            return b""
        out = []
        while data:
            if not self.started and not data.strip(b"\x00"):
                break  # zero padding after the last frame, as gzip itself allows
            self.started = True
            out.append(self.frame.decompress(data))
            data = b""
            if self.frame.eof:
                self.started, data, self.frame = False, self.frame.unused_data, self.decoder()
        return b"".join(out)

    def close(self) -> None:
        self.raw.close()


class _Stopping(io.RawIOBase):
    """A decompressing stream read to its end or to its damage, counting lines as they pass."""

    def __init__(self, path: Path, inner: Any, kind: str, damage: tuple[type[BaseException], ...]) -> None:
        self.path, self.inner, self.kind, self.damage = path, inner, kind, damage
        self.offset, self.newlines, self.ended = 0, 0, False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.ended:
            return 0
        try:
            data = self.inner.read(len(b))
        except self.damage as e:
            self._stop(e)
            return 0
        n = len(data)
        b[:n] = data
        self.offset += n
        self.newlines += data.count(b"\n")
        return n

    def _stop(self, e: BaseException) -> None:
        self.ended = True
        detail = str(e) or type(e).__name__
        if self.offset == 0:
            raise InputError(f"{self.path}: damaged {self.kind} stream, nothing could be read ({detail})")
        key = _key(self.path)
        if key is not None:
            _STOPS[key] = StreamStop(
                self.newlines + 1,
                self.offset,
                f"damaged {self.kind} stream",
                f"reading stopped after {self.offset} bytes of decompressed data: {detail}",
            )

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


def gzip_stream(path: Path) -> IO[bytes]:
    inner = _Frames(path.open("rb"), lambda: zlib.decompressobj(31), "gzip")  # 31: a gzip header and trailer
    return io.BufferedReader(_Stopping(path, inner, "gzip", (zlib.error, Truncated)), 1 << 20)


def zstd_stream(path: Path) -> IO[bytes]:
    import zstandard  # only rollouts Codex compressed need it

    inner = _Frames(path.open("rb"), lambda: zstandard.ZstdDecompressor().decompressobj(), "zstd")
    return io.BufferedReader(_Stopping(path, inner, "zstd", (zstandard.ZstdError, Truncated)), 1 << 20)
