"""Writing features into a site GeoPackage: one transaction per request, durable on commit.

The GeoPackage's own triggers keep the R*Tree and the maintained feature count in step; they
call the ``ST_*`` functions GDAL defines, which this module provides to SQLite from the
geometry blobs' headers (or their WKB when a blob has no envelope). Writers use WAL with
``synchronous=FULL``: an acknowledged edit survives a crash, and readers never wait for a
writer. Only column names from the layer description reach SQL, quoted; values are bound.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import shapely

from geosite.core.models import LayerDescription
from geosite.data.geopackage import _ENVELOPE_BYTES, file_identity, quote_identifier, wkb_of
from geosite.data.source import EditSession, EncodedGeometry
from geosite.errors import NotFound

_writers: dict[str, _Writer] = {}
_writers_lock = threading.Lock()
BUSY_TIMEOUT_MS = 30_000


def _bounds(blob: Any) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage blob, from its envelope or its WKB."""
    if not isinstance(blob, bytes) or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope:
        order = "<" if flags & 1 else ">"
        minx, maxx, miny, maxy = struct.unpack_from(order + "4d", blob, 8)
        return minx, maxx, miny, maxy
    wkb = wkb_of(blob)
    if wkb is None:
        return None
    if len(wkb) == 21 and wkb[0] in (0, 1):  # a 2D point: read it, no parsing
        order = "<" if wkb[0] == 1 else ">"
        kind, x, y = struct.unpack_from(order + "Idd", wkb, 1)
        if kind == 1:
            return x, x, y, y
    xmin, ymin, xmax, ymax = shapely.bounds(shapely.from_wkb(wkb))
    return float(xmin), float(xmax), float(ymin), float(ymax)


def _bound(index: int) -> Any:
    def value(blob: Any) -> float | None:
        found = _bounds(blob)
        return None if found is None else found[index]

    return value


def _is_empty(blob: Any) -> int:
    return int(_bounds(blob) is None)


def _connect(path: str) -> sqlite3.Connection:
    # mode=rw: a GeoPackage deleted meanwhile is an error, never a new empty file.
    conn = sqlite3.connect(
        f"file:{path}?mode=rw", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    for name, function in (
        ("ST_MinX", _bound(0)),
        ("ST_MaxX", _bound(1)),
        ("ST_MinY", _bound(2)),
        ("ST_MaxY", _bound(3)),
        ("ST_IsEmpty", _is_empty),
    ):
        conn.create_function(name, 1, function, deterministic=True)
    return conn


def _writer(path: str) -> _Writer:
    with _writers_lock:
        found = _writers.get(path)
        if found is None:
            if not os.path.exists(path):  # never make an empty file where the data was
                raise NotFound("The service's data is missing.")
            try:
                found = _writers[path] = _Writer(path)
            except sqlite3.OperationalError:  # gone since the check
                raise NotFound("The service's data is missing.") from None
        return found


def release_writer(path: str) -> None:
    """Close this process's writer of ``path`` (after the edit it is writing, if any)."""
    with _writers_lock:
        found = _writers.pop(path, None)
    if found is not None:
        with found.lock:
            found.close()


def open_writers() -> dict[str, tuple[int, int] | None]:
    """The GeoPackages this process keeps a writer of, with the (device, inode) of the file
    each writer opened."""
    with _writers_lock:
        return {path: writer.identity for path, writer in _writers.items()}


class _Writer:
    """The one write connection of this process to a GeoPackage, its turn lock, and the
    lock file that writers of other processes queue on."""

    def __init__(self, path: str) -> None:
        self.identity = file_identity(path)
        self.conn = _connect(path)
        try:
            self.lock_file = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o640)
        except OSError:
            self.conn.close()
            raise
        self.lock = threading.Lock()
        self.closed = False

    def close(self) -> None:
        """Close the connection and the lock file (the caller holds ``lock``)."""
        if not self.closed:
            self.closed = True
            self.conn.close()
            os.close(self.lock_file)


class EditTransaction(EditSession):
    """The writes of one request to one GeoPackage (see ``edit_transaction``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._savepoints = 0
        self._extents: dict[str, list[float]] = {}
        self._srs_ids: dict[str, int] = {}

    def _grow_extent(self, table: str, bounds: tuple[float, float, float, float]) -> None:
        """Widen the table's extent to take in a written geometry (kept in ``gpkg_contents``,
        written once, just before the commit)."""
        minx, miny, maxx, maxy = bounds
        box = self._extents.get(table)
        if box is None:
            self._extents[table] = [minx, miny, maxx, maxy]
        else:
            box[0], box[1] = min(box[0], minx), min(box[1], miny)
            box[2], box[3] = max(box[2], maxx), max(box[3], maxy)

    def write_extents(self) -> None:
        """Store the widened extents in ``gpkg_contents``."""
        for table, (minx, miny, maxx, maxy) in self._extents.items():
            self._conn.execute(
                "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), "
                "min_y = min(coalesce(min_y, ?2), ?2), max_x = max(coalesce(max_x, ?3), ?3), "
                "max_y = max(coalesce(max_y, ?4), ?4) WHERE lower(table_name) = lower(?5)",
                (minx, miny, maxx, maxy, table),
            )
        self._extents.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part that is undone alone when it fails (``rollbackOnFailure=false``)."""
        self._savepoints += 1
        name = f"edit_{self._savepoints}"
        extents = {table: list(box) for table, box in self._extents.items()}
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            self._extents = extents  # a failed part's geometry does not widen the extent
            raise
        self._conn.execute(f"RELEASE {name}")

    def _srs_id(self, table: str) -> int:
        """The GeoPackage ``srs_id`` of the table's geometry column."""
        found = self._srs_ids.get(table)
        if found is None:
            row = self._conn.execute(
                "SELECT srs_id FROM gpkg_geometry_columns WHERE lower(table_name)=lower(?)",
                (table,),
            ).fetchone()
            found = self._srs_ids[table] = int(row[0]) if row else 0
        return found

    def _encoded(self, layer: LayerDescription, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with the geometry as a GeoPackage blob (and the extent widened)."""
        shape = layer.geometry_field
        if shape not in values:
            return values
        geometry: EncodedGeometry | None = values[shape]
        out = dict(values)
        if geometry is None:
            return out
        out[shape] = geometry.blob(self._srs_id(layer.table))
        self._grow_extent(layer.table, geometry.bounds())
        return out

    def insert(self, layer: LayerDescription, values: dict[str, Any]) -> int:
        """``INSERT``; the new OBJECTID is the row id SQLite assigns."""
        values = self._encoded(layer, values)
        names = list(values)
        oid = quote_identifier(layer.object_id_field)
        sql = (
            f"INSERT INTO {quote_identifier(layer.table)} "  # noqa: S608
            f"({', '.join(quote_identifier(n) for n in names) or oid}) "
            f"VALUES ({', '.join('?' for _ in names) or 'NULL'})"
        )
        cursor = self._conn.execute(sql, [values[n] for n in names])
        return int(cursor.lastrowid or 0)

    def update(self, layer: LayerDescription, object_id: int, values: dict[str, Any]) -> bool:
        """``UPDATE`` of the given columns by object id."""
        if not values:
            return self._exists(layer, object_id)
        values = self._encoded(layer, values)
        assignments = ", ".join(f"{quote_identifier(n)}=?" for n in values)
        sql = (
            f"UPDATE {quote_identifier(layer.table)} SET {assignments} "  # noqa: S608
            f"WHERE {quote_identifier(layer.object_id_field)}=?"
        )
        cursor = self._conn.execute(sql, [*values.values(), object_id])
        return cursor.rowcount > 0

    def delete(self, layer: LayerDescription, object_id: int) -> bool:
        """``DELETE`` by object id."""
        sql = (
            f"DELETE FROM {quote_identifier(layer.table)} "  # noqa: S608
            f"WHERE {quote_identifier(layer.object_id_field)}=?"
        )
        return self._conn.execute(sql, (object_id,)).rowcount > 0

    def _exists(self, layer: LayerDescription, object_id: int) -> bool:
        oid = quote_identifier(layer.object_id_field)
        sql = f"SELECT 1 FROM {quote_identifier(layer.table)} WHERE {oid}=?"  # noqa: S608
        return self._conn.execute(sql, (object_id,)).fetchone() is not None

    def find(self, layer: LayerDescription, field: str, value: Any) -> int | None:
        """``SELECT`` the object id by one column's value."""
        sql = (
            f"SELECT {quote_identifier(layer.object_id_field)} "  # noqa: S608
            f"FROM {quote_identifier(layer.table)} WHERE {quote_identifier(field)}=?"
        )
        row = self._conn.execute(sql, (value,)).fetchone()
        return int(row[0]) if row else None

    def value(self, layer: LayerDescription, field: str, object_id: int) -> Any:
        """``SELECT`` one column by object id."""
        sql = (
            f"SELECT {quote_identifier(field)} FROM {quote_identifier(layer.table)} "  # noqa: S608
            f"WHERE {quote_identifier(layer.object_id_field)}=?"
        )
        row = self._conn.execute(sql, (object_id,)).fetchone()
        return row[0] if row else None


@contextmanager
def edit_transaction(path: str) -> Iterator[EditTransaction]:
    """One write transaction on the GeoPackage at ``path``: committed (durably) when the block
    ends, rolled back when it raises. Writers of one process take turns; those of other
    processes queue on a lock file beside the GeoPackage (SQLite's own lock, with
    ``BUSY_TIMEOUT_MS``, remains the guard)."""
    while True:
        writer = _writer(path)
        with writer.lock:
            if writer.closed:  # released while this request waited: open it again
                continue
            # Writers of other processes queue on a file lock and wake as soon as it is free,
            # instead of polling SQLite's lock with growing sleeps (a 1 s tail at c=8).
            fcntl.flock(writer.lock_file, fcntl.LOCK_EX)
            try:
                conn = writer.conn
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if "unable to open" in str(exc):
                        raise NotFound("The service's data is missing.") from None
                    raise
                tx = EditTransaction(conn)
                try:
                    yield tx
                    tx.write_extents()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                fcntl.flock(writer.lock_file, fcntl.LOCK_UN)
            return
