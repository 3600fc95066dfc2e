"""Damaged compressed logs (.zst, .gz): truncated at random offsets, with bytes flipped, needing
another dictionary, or empty. Real recorded rollouts, transcripts, session files and a T3 Code
export, compressed as Codex and `threaddoctor export` would, are damaged at random (seeded) and
checked: exit status 0, 1 or 2 only, never a traceback, and a truncation is always reported with
where reading stopped (a LOG001 finding naming the line and byte, or a one-line error)."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pytest
import zstandard
from typer.testing import CliRunner

from threaddoctor import scan
from threaddoctor.cli import app, example_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOGS = {
    "rollout-killed": next((FIXTURES / "codex/recorded/slow_tool_killed/rollout").rglob("*.jsonl")),
    "rollout-resumed": next((FIXTURES / "codex/recorded/resume_after_kill/rollout").rglob("*.jsonl")),
    "transcript-compact": FIXTURES / "claude/recorded/compact/a3a901dd-723f-4f91-8a46-3fb576e19faf.jsonl",
    "transcript-killed": FIXTURES / "claude/recorded/kill_during_tool/dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl",
    "sessions": FIXTURES / "connectonion/recorded/d_host_killed_then_restarted/session_results.before_kill.jsonl",
    "exec": FIXTURES / "codex/recorded/slow_tool_killed/exec.jsonl",
}
runner = CliRunner()
# Where reading stopped, as a finding or as the one-line error says it.
STOPPED = re.compile(
    r"line \d+: damaged (gzip|zstd) stream \(reading stopped after \d+ bytes of decompressed data"
    r"|damaged (gzip|zstd) stream, (nothing could be read|no whole record before line \d+)"
    r"|:\d+: truncated or damaged gzip stream"  # a T3 Code export names the line it reached
)


def _compress(data: bytes, codec: str) -> bytes:
    if codec == "gz":
        return gzip.compress(data)
    return zstandard.ZstdCompressor(level=3).compress(data)


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    out = {name: path.read_bytes() * 4 for name, path in LOGS.items()}  # several blocks, many lines
    export = tmp_path_factory.mktemp("export") / "t3.jsonl"
    from threaddoctor.sources.t3code.export import export as t3_export

    t3_export(example_path(), export)
    out["t3-export"] = export.read_bytes()
    return out


def _check(path: Path, command: str = "check") -> tuple[int, str]:
    result = runner.invoke(app, [command, *(["--dry-run"] if command == "fix" else []), str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("threaddoctor: error:")]
        assert len(errors) == 1, result.output
    return result.exit_code, result.output


CASES = [
    (name, codec) for name in [*LOGS, "t3-export"] for codec in ("gz", "zst") if (name, codec) != ("t3-export", "zst")
]


@pytest.mark.parametrize(("name", "codec"), CASES)
def test_truncated_at_random_offsets(originals, tmp_path, name: str, codec: str) -> None:
    packed = _compress(originals[name], codec)
    rng = random.Random(f"{name}-{codec}")
    offsets = sorted({rng.randrange(4, len(packed) - 1) for _ in range(10)} | {4, len(packed) - 1})
    for at in offsets:
        damaged = tmp_path / f"{name}-{at}.jsonl.{codec}"
        damaged.write_bytes(packed[:at])
        code, output = _check(damaged)
        assert code in (1, 2) and STOPPED.search(output), (at, output)  # never silently short


@pytest.mark.parametrize(("name", "codec"), CASES)
def test_bytes_flipped_at_random(originals, tmp_path, name: str, codec: str) -> None:
    packed = _compress(originals[name], codec)
    rng = random.Random(f"flip-{name}-{codec}")
    for n in range(8):
        data = bytearray(packed)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(4, len(data))] ^= 1 << rng.randrange(8)
        damaged = tmp_path / f"{name}-{n}.jsonl.{codec}"
        damaged.write_bytes(bytes(data))
        _check(damaged)
        if name != "t3-export":
            _check(damaged, "fix")  # the repair path reads it the same way, and writes nothing
            assert damaged.read_bytes() == bytes(data)


@pytest.mark.parametrize("name", sorted(LOGS))
def test_a_zstd_log_that_needs_another_dictionary(originals, tmp_path, name: str) -> None:
    data = originals[name]
    samples = [data[i : i + 400] for i in range(0, len(data) - 400, 53)] * 4
    keyed = zstandard.ZstdCompressor(dict_data=zstandard.train_dictionary(2048, samples)).compress(data)
    damaged = tmp_path / f"{name}.jsonl.zst"
    damaged.write_bytes(keyed)
    code, output = _check(damaged)
    assert code == 2 and "damaged zstd stream, nothing could be read" in output and "Dictionary mismatch" in output


@pytest.mark.parametrize("codec", ["gz", "zst"])
def test_empty_compressed_logs(tmp_path, codec: str) -> None:
    for name, data in (("nothing", b""), ("empty-stream", _compress(b"", codec))):
        path = tmp_path / f"{name}.jsonl.{codec}"
        path.write_bytes(data)
        assert _check(path)[0] == 2


@pytest.mark.parametrize("codec", ["gz", "zst"])
def test_what_came_before_the_damage_is_judged(originals, tmp_path, codec: str) -> None:
    """A transcript cut short: every line before the cut is read and judged, and the finding says
    the line and byte where reading stopped (zstd hands out whole 128 KB blocks: several of them)."""
    data = originals["transcript-compact"] * 5
    packed = _compress(data, codec)
    path = tmp_path / f"cut.jsonl.{codec}"
    for at in range(len(packed) - 1, 4, -max(1, len(packed) // 40)):
        path.write_bytes(packed[:at])
        try:
            result = scan(path)
        except Exception:
            continue
        (stop,) = [f for f in result.findings if f.rule == "LOG001" and f.subject.startswith("stream-")]
        line = int(stop.subject.removeprefix("stream-"))
        assert 1 < line <= data.count(b"\n") + 1 and stop.location.line == line
        assert result.events_decoded >= line - 2  # the whole lines before the cut were read
        return
    pytest.fail("no cut left a whole record")


def test_a_whole_compressed_log_reads_as_the_plain_one(originals, tmp_path) -> None:
    for codec in ("gz", "zst"):
        plain, packed = tmp_path / "plain.jsonl", tmp_path / f"packed.jsonl.{codec}"
        plain.write_bytes(originals["transcript-killed"])
        packed.write_bytes(_compress(originals["transcript-killed"], codec))
        same = [(f.rule, f.subject, f.location.line) for f in scan(plain).findings]
        assert [(f.rule, f.subject, f.location.line) for f in scan(packed).findings] == same
