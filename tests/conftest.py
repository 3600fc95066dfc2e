import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for the fixture builders in fixtures/


import pytest  # noqa: E402

from fixtures.t3code_builder import BUILT_LEDGERS, ledger_image  # noqa: E402


@pytest.fixture(autouse=True)
def _ledgers_stay_as_built():
    """Every test that builds a T3 Code database: its effect_sql_migrations is, at the end, exactly
    as built, whatever scan, fix and undo did to the file (the app's migrator owns it)."""
    import sqlite3

    from threaddoctor.errors import InputError
    from threaddoctor.sources.t3code.reader import open_readonly

    BUILT_LEDGERS.clear()
    yield
    for path, image in BUILT_LEDGERS.items():
        if image is None or not path.exists():
            continue
        try:
            snapshot = open_readonly(path)
            found = ledger_image(snapshot.conn)
            snapshot.conn.close()
        except (InputError, sqlite3.DatabaseError):
            continue  # a test damaged the file on purpose (truncated, not a database any more)
        assert found == image, f"{path}: effect_sql_migrations changed"
