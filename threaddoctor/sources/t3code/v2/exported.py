"""Read a V2 export as the `statev2.sqlite` it came from: loaded into a scratch database by the
V1 export loader (exported.py), then opened as a V2Source whose findings point at the export's
lines. An export is a copy: no server holds it and no sibling state.sqlite can be compared."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from threaddoctor.errors import InputError
from threaddoctor.findings import Finding
from threaddoctor.sources.base import ReadOptions
from threaddoctor.sources.t3code.exported import _key, _load
from threaddoctor.sources.t3code.reader import Snapshot
from threaddoctor.sources.t3code.v2.source import V2Source, source_on


@dataclass
class ExportedV2Source(V2Source):
    scratch_dir: Path | None = None

    kinds = ("t3code-v2-export", "t3code-v2", "t3code-ledger")

    def line_of(self, finding: Finding) -> int | None:
        for e in finding.evidence:
            if e.kind == "row" and e.table and e.key:
                row = self.conn.execute(
                    "SELECT line FROM threaddoctor_lines WHERE kind = ? AND key = ?", (e.table, _key(e.key))
                ).fetchone()
                if row:
                    return row[0]
        return 1

    def close(self) -> None:
        super().close()
        if self.scratch_dir is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)


def load_v2_export(path: Path, options: ReadOptions | None = None) -> ExportedV2Source:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    scratch_dir = Path(tempfile.mkdtemp(prefix="threaddoctor-"))
    db = scratch_dir / "export.sqlite"
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        _load(path, conn)
        conn.execute("BEGIN")
        src = source_on(Snapshot(conn, db, immutable=False), str(path), is_copy=True)
    except BaseException:
        conn.close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
        raise
    return ExportedV2Source(
        **{f: getattr(src, f) for f in ("path", "snapshot", "tables", "ledger")}, is_copy=True, scratch_dir=scratch_dir
    )
