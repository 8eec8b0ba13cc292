"""Reading the site's GeoPackages: rows, GeoPackage geometry blobs, maintained counts.

Only bound parameters reach SQL; table and column names come from the layer description
written at publish time (never from a request) and are quoted.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from geosite.errors import NotFound
from geosite.files import FILE_MODE

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class _Pool:
    """The read connections to one GeoPackage: those idle, and how many are lent out."""

    def __init__(self, identity: tuple[int, int]) -> None:
        self.identity = identity  # (device, inode) of the file the connections opened
        self.idle: list[sqlite3.Connection] = []
        self.lent = 0
        self.released = False


_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


@contextmanager
def reading(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the GeoPackage at ``path`` for the block, then kept for the
    next reader (its page cache stays warm) unless ``release`` closed the file meanwhile: a
    connection in use is never closed under its query."""
    with _pools_lock:
        pool = _pools.get(path)
        conn = pool.idle.pop() if pool is not None and pool.idle else None
        if pool is not None:
            pool.lent += 1
    try:
        if conn is None:
            conn = _open_reader(path)
        if pool is None:
            pool = _lend_new(path)
        try:
            yield conn
        except sqlite3.DatabaseError:
            if _identity(path) == pool.identity:
                raise
            # The service was deleted or replaced under the query (its files unlinked): the
            # reader sees what a request a moment later would, not SQLite's "disk I/O error",
            # and the connection to the old file is not kept.
            conn.close()
            conn = None
            raise NotFound("The service's data is missing.") from None
    finally:
        if pool is not None:
            _give_back(pool, conn)
        elif conn is not None:
            conn.close()


def _open_reader(path: str) -> sqlite3.Connection:
    if not os.path.exists(path):
        raise NotFound("The service's data is missing.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.OperationalError:
        if os.path.exists(path):
            raise
        raise NotFound("The service's data is missing.") from None
    try:
        prepare(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _lend_new(path: str) -> _Pool:
    """The pool of ``path`` (made for the file there now), with one more connection lent."""
    identity = _identity(path) or (0, 0)
    with _pools_lock:
        pool = _pools.get(path)
        stale: list[sqlite3.Connection] = []
        if pool is None or pool.identity != identity:
            if pool is not None:  # the file was replaced: its old connections go
                pool.released = True
                stale, pool.idle = pool.idle, []
            pool = _pools[path] = _Pool(identity)
        pool.lent += 1
    for old in stale:
        old.close()
    return pool


def _give_back(pool: _Pool, conn: sqlite3.Connection | None) -> None:
    with _pools_lock:
        pool.lent -= 1
        keep = conn is not None and not pool.released
        if keep and conn is not None:
            pool.idle.append(conn)
    if not keep and conn is not None:
        conn.close()


def release(path: str) -> None:
    """Close this process's read connections to ``path`` (those in use when their query ends)."""
    with _pools_lock:
        pool = _pools.pop(path, None)
        if pool is None:
            return
        pool.released = True
        idle, pool.idle = pool.idle, []
    for conn in idle:
        conn.close()


def open_readers() -> dict[str, tuple[int, int]]:
    """The GeoPackages this process keeps read connections to, with the (device, inode) of the
    file they opened."""
    with _pools_lock:
        return {path: pool.identity for path, pool in _pools.items()}


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file now at ``path``; None when there is none."""
    return _identity(path)


def copy_consistently(source: Path, target: Path) -> None:
    """Copy a GeoPackage as one moment of it, even while edits are written (SQLite backup)."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    target.chmod(FILE_MODE)  # the site's data is the server user's alone


def fold_case(text: str, upper: bool) -> str:
    """Unicode upper or lower case, letter by letter (a letter never becomes two: 'ß' stays)."""
    out = []
    for char in text:
        changed = char.upper() if upper else char.lower()
        out.append(changed if len(changed) == 1 else char)
    return "".join(out)


def _case_function(upper: bool) -> Any:
    def fold(value: Any) -> Any:
        if value is None or isinstance(value, bytes):
            return value
        return fold_case(value if isinstance(value, str) else str(value), upper)

    return fold


def prepare(conn: sqlite3.Connection) -> None:
    """Set up a connection as queries expect: case-sensitive LIKE, Unicode UPPER and LOWER.

    SQLite's own ``upper``/``lower`` change ASCII letters only ('München' would stay mixed);
    the replacements fold every letter, as the databases ArcGIS runs on do.
    """
    conn.execute("PRAGMA case_sensitive_like=ON")  # LIKE as standard SQL (and PostGIS)
    conn.create_function("upper", 1, _case_function(True), deterministic=True)
    conn.create_function("lower", 1, _case_function(False), deterministic=True)
    conn.create_function("geosite_point_in_box", 5, point_in_box, deterministic=True)
    # typeshed types aggregates as returning int only; these return floats or NULL.
    conn.create_aggregate("geosite_var", 1, _SampleVariance)  # type: ignore[arg-type]
    conn.create_aggregate("geosite_stddev", 1, _SampleStandardDeviation)  # type: ignore[arg-type]


def point_in_box(blob: Any, xmin: float, ymin: float, xmax: float, ymax: float) -> int:
    """1 when the point in a GeoPackage geometry blob lies in the box (edges included)."""
    wkb = wkb_of(blob) if isinstance(blob, bytes) else None
    if wkb is None or len(wkb) < 21:
        return 0
    order = "<" if wkb[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", wkb, 1)
    if kind % 1000 != 1:  # not a point: the caller only asks about point layers
        return 0
    x, y = struct.unpack_from(order + "dd", wkb, 5)
    return int(xmin <= x <= xmax and ymin <= y <= ymax)


class _SampleVariance:
    """Sample variance (n - 1), NULL below two values, as SQL Server's VAR and PostgreSQL's."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def step(self, value: Any, /) -> None:
        if value is None or isinstance(value, str | bytes):
            return
        self.n += 1
        delta = float(value) - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (float(value) - self.mean)

    def finalize(self) -> float | None:
        return self.m2 / (self.n - 1) if self.n > 1 else None


class _SampleStandardDeviation(_SampleVariance):
    def finalize(self) -> float | None:
        variance = super().finalize()
        return None if variance is None else variance**0.5


def wkb_of(blob: bytes | None) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (None for empty or null geometries)."""
    if not blob or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:  # empty geometry
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        return None
    return blob[8 + envelope :]


def geometries(blobs: Sequence[bytes | None]) -> list[Any]:
    """Shapely geometries of GeoPackage blobs (None where there is none)."""
    wkbs = [wkb_of(b) for b in blobs]
    decoded = shapely.from_wkb([w for w in wkbs if w is not None])
    out: list[Any] = []
    it = iter(decoded)
    for w in wkbs:
        out.append(next(it) if w is not None else None)
    return out


def point_coordinates(blobs: Sequence[bytes | None]) -> np.ndarray | None:
    """The (n, 2) coordinates of GeoPackage point blobs, read straight from the bytes.

    None unless every blob is a non-empty two-dimensional little-endian WKB point with the
    same header layout (what GDAL writes for a point layer); the caller then decodes the
    general way. Much cheaper than building shapely geometries for a page of points.
    """
    count = len(blobs)
    if count == 0:
        return np.empty((0, 2))
    first = blobs[0]
    if not isinstance(first, bytes) or len(first) < 8:
        return None
    envelope = _ENVELOPE_BYTES.get((first[3] >> 1) & 0b111)
    if envelope is None or len(first) != 8 + envelope + 21:
        return None
    try:
        joined = b"".join(blobs)  # type: ignore[arg-type]  # a None raises TypeError
    except TypeError:
        return None
    size = len(first)
    if len(joined) != size * count or any(len(blob) != size for blob in blobs):  # type: ignore[arg-type]
        return None
    rows = np.frombuffer(joined, dtype=np.uint8).reshape(count, size)
    start = 8 + envelope
    expected = np.frombuffer(b"GP" + bytes([first[2], first[3]]), dtype=np.uint8)
    if first[3] & 0b10000 or not (rows[:, :4] == expected).all():
        return None  # an empty geometry, or headers that differ
    if not (rows[:, start : start + 5] == np.array([1, 1, 0, 0, 0], dtype=np.uint8)).all():
        return None  # not all little-endian 2D points
    return np.ndarray(
        (count, 2), dtype="<f8", buffer=joined, offset=start + 5, strides=(size, 8)
    ).copy()


def rows(path: str, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """All rows of one statement, read with a pooled connection."""
    with reading(path) as conn:
        return conn.execute(sql, params).fetchall()


def first(path: str, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row of one statement (None when there is none)."""
    with reading(path) as conn:
        row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
        return row
