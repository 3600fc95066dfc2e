"""Resources run out during `fix`: a full disk, a file-size limit, a read-only folder. Each ends in
one line of error and exit status 2 (or, with room enough, the repair), the original untouched and
no file left behind but folders."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stress.kill_harness import ROOT, db_content, recorded_log, t3_database

CLAUDE = "claude/recorded/kill_during_tool/dacb32f2-79ec-473e-85df-e875a28daa2c.jsonl"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits and mounts")


def _fix(target: Path, home: Path, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        # Ignored, SIGXFSZ turns a write past the limit into EFBIG, as a full quota does.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "threaddoctor", "fix", str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "THREADDOCTOR_HOME": str(home), "COLUMNS": "200"},
        preexec_fn=limit if file_size_limit is not None else None,
        timeout=300,
    )


def _files(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()}


def _state(target: Path) -> object:
    return db_content(target) if target.suffix == ".sqlite" else target.read_bytes()


def _assert_refused(
    result: subprocess.CompletedProcess, target: Path, before: object, files: dict, *folders, state=None
) -> None:
    """Exit 2, one line naming what could not be written, the target as it was, nothing new."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("threaddoctor: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert (state or _state)(target) == before
    left = {p for p in _files(*folders) if not p.endswith(("-wal", "-shm"))}
    assert left == {p for p in files if not p.endswith(("-wal", "-shm"))}, "stray files were left"


def _make(kind: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = t3_database("WAL")(folder) if kind == "t3code" else recorded_log(CLAUDE)(folder)
    if kind != "t3code":
        os.utime(target, (time.time() - 3600, time.time() - 3600))
    return target


@pytest.mark.parametrize("kind", ["t3code", "claude"])
def test_a_file_size_limit_during_the_backup_or_the_repaired_copy(kind, tmp_path) -> None:
    """RLIMIT_FSIZE below the file's size: the database's backup, or the log's repaired copy, cannot
    be written (EFBIG)."""
    target = _make(kind, tmp_path / "data")
    home = tmp_path / "home"
    before, files = _state(target), _files(tmp_path)
    result = _fix(target, home, file_size_limit=8192)
    _assert_refused(result, target, before, files, tmp_path)
    assert "File too large" in result.stderr or "disk" in result.stderr or "full" in result.stderr, result.stderr


@contextlib.contextmanager
def _tmpfs(path: Path, size: int, read_only: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    options = f"size={size}" + (",ro" if read_only else "")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


@pytest.mark.parametrize("kind", ["t3code", "claude"])
def test_the_disk_fills_at_every_point_of_the_repair(kind, tmp_path) -> None:
    """On a tmpfs with room for the input and a little more, the free space is stepped from none
    to enough: the write that fails moves through the backup, the WAL, the repaired copy and the
    journal. Every run ends repaired, or in one line of error with the input untouched and no file
    left behind."""
    source = _make(kind, tmp_path / "source")
    page = 4096
    need = sum(-(-p.stat().st_size // page) * page for p in source.parent.iterdir())  # the input, in whole pages
    outcomes = []
    # Room enough for a whole repair: the input, its backup (a copy for a database), WAL and journal.
    whole = need * 2 + 128 * 1024
    step = max(page, (whole - need) // 7 // page * page)
    first = 64 * 1024 if kind == "t3code" else 0  # a WAL database cannot even be read without room for its -shm
    for free in range(first, whole - need + step, step):
        disk = tmp_path / f"disk{free}"
        with _tmpfs(disk, need + free) as mounted:
            target = mounted / "data" / source.name
            target.parent.mkdir()
            for p in source.parent.iterdir():
                shutil.copy2(p, target.parent / p.name)
            home = mounted / "home"
            before, files = _state(target), _files(mounted)
            result = _fix(target, home)
            if result.returncode == 2:
                _assert_refused(result, target, before, files, mounted)
                outcomes.append("refused")
            else:
                assert result.returncode in (0, 1), result.stderr
                assert _state(target) != before
                assert not [p for p in _files(mounted) if ".threaddoctor-tmp" in p]
                outcomes.append("repaired")
    assert "refused" in outcomes and outcomes[-1] == "repaired", outcomes


@pytest.mark.parametrize("kind", ["t3code", "claude"])
def test_a_read_only_folder(kind, tmp_path) -> None:
    """The input's folder is read-only (a read-only mount: root ignores permission bits)."""
    with _tmpfs(tmp_path / "disk", 64 << 20) as mounted:
        target = _make(kind, mounted / "data")
        _remount_read_only(mounted)
        home = tmp_path / "home"
        # A WAL database on a read-only mount cannot even be opened to compare rows: its bytes, then.
        before, files = target.read_bytes(), _files(mounted, home)
        _assert_refused(_fix(target, home), target, before, files, mounted, home, state=Path.read_bytes)


@pytest.mark.parametrize("kind", ["t3code", "claude"])
def test_an_unwritable_backup_folder(kind, tmp_path) -> None:
    """The folder the backup goes to is read-only: `<database>.threaddoctor/` for a database, the
    state folder ($THREADDOCTOR_HOME) for a log."""
    target = _make(kind, tmp_path / "data")
    backups = target.parent / f"{target.name}.threaddoctor" if kind == "t3code" else tmp_path / "home"
    with _tmpfs(backups, 1 << 20, read_only=True):
        before, files = _state(target), _files(tmp_path)
        _assert_refused(_fix(target, tmp_path / "home"), target, before, files, tmp_path)
