"""A query whose GeoPackage is deleted under it (a service deleted while it is queried)
answers "not found", as a request a moment later would, never SQLite's "disk I/O error"."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from geosite.data import geopackage
from geosite.errors import NotFound


def _database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
        conn.commit()


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_a_file_deleted_under_a_new_reader_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "a.gpkg"
    _database(path)
    with pytest.raises(NotFound, match="data is missing"), geopackage.reading(str(path)) as conn:
        _unlink(path)
        conn.execute("SELECT count(*) FROM t").fetchone()


def test_other_errors_are_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "a.gpkg"
    _database(path)
    missing = pytest.raises(sqlite3.OperationalError, match="no such table")
    with missing, geopackage.reading(str(path)) as conn:
        conn.execute("SELECT count(*) FROM missing").fetchone()
    with geopackage.reading(str(path)) as conn:  # the pool still serves the file
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1000,)
    geopackage.release(str(path))
