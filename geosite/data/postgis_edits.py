"""Edits to PostGIS feature data: one transaction per request (``PostGISData.edit``).

Values are bound; geometries go in as WKB with the column's SRID. In geosite's own schemas
the transaction also keeps ``geosite_layers`` in step (each layer's feature count and the
extent its edits widen), written once, just before the commit. Adds in bulk are sent as one
pipelined ``executemany`` per run of rows with the same columns, in order, so the OBJECTIDs
follow the features' order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from geosite.core.models import LayerDescription
from geosite.data.geopackage import quote_identifier as _quote
from geosite.data.source import Box, EditSession, EncodedGeometry

if TYPE_CHECKING:
    from geosite.data.postgis_source import PostGISData

LAYERS_TABLE = "geosite_layers"


class PostGISEdits(EditSession):
    """One transaction on the service's schema."""

    def __init__(self, data: PostGISData, conn: psycopg.Connection[Any]) -> None:
        self.data = data
        self.conn = conn
        self._extents: dict[str, list[float]] = {}
        self._counts: dict[str, int] = {}

    def _table(self, layer: LayerDescription) -> str:
        return _quote(self.data.schema) + "." + _quote(layer.table)

    def _values(
        self, layer: LayerDescription, values: dict[str, Any]
    ) -> tuple[list[str], list[str], list[Any]]:
        """(quoted columns, placeholders, parameters), the geometry as WKB with the SRID."""
        names, marks, params = [], [], []
        for name, value in values.items():
            names.append(_quote(name))
            if name == layer.geometry_field:
                geometry: EncodedGeometry | None = value
                if geometry is None:
                    marks.append("NULL")
                    continue
                marks.append(f"ST_GeomFromWKB(%s, {self.data.srid(layer)})")
                params.append(geometry.wkb())
                self._grow(layer.table, geometry.bounds())
            else:
                marks.append("%s")
                params.append(value)
        return names, marks, params

    def _grow(self, table: str, bounds: Box) -> None:
        box = self._extents.get(table)
        if box is None:
            self._extents[table] = list(bounds)
        else:
            box[0], box[1] = min(box[0], bounds[0]), min(box[1], bounds[1])
            box[2], box[3] = max(box[2], bounds[2]), max(box[3], bounds[3])

    def _count(self, table: str, change: int) -> None:
        self._counts[table] = self._counts.get(table, 0) + change

    def write_bookkeeping(self) -> None:
        """Keep each layer's count and extent in step with this transaction's writes."""
        if not self.data.kept():
            return
        tables = set(self._extents) | {t for t, change in self._counts.items() if change}
        for table in sorted(tables):  # one order: concurrent writers never deadlock here
            box = self._extents.get(table)
            minx, miny, maxx, maxy = box if box is not None else (None, None, None, None)
            self.conn.execute(
                f"UPDATE {_quote(self.data.schema)}.{LAYERS_TABLE} SET "  # noqa: S608
                "feature_count = feature_count + %s, "
                "min_x = least(min_x, %s), min_y = least(min_y, %s), "
                "max_x = greatest(max_x, %s), max_y = greatest(max_y, %s) "
                "WHERE table_name = %s",
                (self._counts.get(table, 0), minx, miny, maxx, maxy, table),
            )
        self._extents.clear()
        self._counts.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction (a savepoint); a failed part changes no kept figure."""
        extents = {table: list(box) for table, box in self._extents.items()}
        counts = dict(self._counts)
        try:
            with self.conn.transaction():
                yield
        except BaseException:
            self._extents, self._counts = extents, counts
            raise

    def _insert_sql(self, layer: LayerDescription, names: list[str], marks: list[str]) -> str:
        oid = _quote(layer.object_id_field)
        if not names:
            return f"INSERT INTO {self._table(layer)} DEFAULT VALUES RETURNING {oid}"  # noqa: S608
        return (
            f"INSERT INTO {self._table(layer)} ({', '.join(names)}) "  # noqa: S608
            f"VALUES ({', '.join(marks)}) RETURNING {oid}"
        )

    def insert(self, layer: LayerDescription, values: dict[str, Any]) -> int:
        """``INSERT ... RETURNING`` the new object id (the sequence's next)."""
        names, marks, params = self._values(layer, values)
        row = self.conn.execute(self._insert_sql(layer, names, marks), params).fetchone()
        self._count(layer.table, 1)
        return int(row[0]) if row else 0

    def insert_many(self, layer: LayerDescription, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Many adds in one ``COPY``: their OBJECTIDs are taken from the layer's sequence first,
        in order, so that they follow the features' order; geometries go in as EWKB with the
        column's SRID. Rows that name different columns are copied in runs of the same
        columns."""
        if not rows:
            return []
        oid = layer.object_id_field
        sequence = self.conn.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", (self._table(layer), oid)
        ).fetchone()
        if sequence is None or sequence[0] is None:
            return self._insert_pipelined(layer, rows)
        found = self.conn.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence[0], len(rows))
        ).fetchall()
        ids = sorted(int(row[0]) for row in found)
        srid = self.data.srid(layer)
        start = 0
        while start < len(rows):
            names = tuple(rows[start])
            end = start
            while end < len(rows) and tuple(rows[end]) == names:
                end += 1
            columns = ", ".join(_quote(name) for name in (oid, *names))
            target = f"COPY {self._table(layer)} ({columns}) FROM STDIN"
            with self.conn.cursor().copy(target.encode()) as copy:
                for object_id, values in zip(ids[start:end], rows[start:end], strict=True):
                    copy.write_row(
                        [object_id, *(self._copied(layer, n, values[n], srid) for n in names)]
                    )
            start = end
        self._count(layer.table, len(rows))
        return ids

    def _insert_pipelined(
        self, layer: LayerDescription, rows: Sequence[dict[str, Any]]
    ) -> list[int]:
        """Many adds, pipelined: one ``executemany`` per run of rows with the same columns
        (for a table whose object id has no sequence to take them from first)."""
        ids: list[int] = []
        start = 0
        while start < len(rows):
            shape = tuple(rows[start])
            end = start
            while end < len(rows) and tuple(rows[end]) == shape:
                end += 1
            prepared = [self._values(layer, row) for row in rows[start:end]]
            names, marks, _ = prepared[0]
            with self.conn.cursor() as cursor:
                cursor.executemany(
                    self._insert_sql(layer, names, marks),
                    [params for _, _, params in prepared],
                    returning=True,
                )
                while True:
                    row = cursor.fetchone()
                    ids.append(int(row[0]) if row else 0)
                    if not cursor.nextset():
                        break
            start = end
        self._count(layer.table, len(rows))
        return ids

    def _copied(self, layer: LayerDescription, name: str, value: Any, srid: int) -> Any:
        """A value as ``COPY`` takes it: the geometry as hex EWKB with the SRID."""
        if name != layer.geometry_field or value is None:
            return value
        geometry: EncodedGeometry = value
        self._grow(layer.table, geometry.bounds())
        return _ewkb_hex(geometry.wkb(), srid)

    def update(self, layer: LayerDescription, object_id: int, values: dict[str, Any]) -> bool:
        """``UPDATE`` of the given columns by object id."""
        oid = _quote(layer.object_id_field)
        if not values:
            text = f"SELECT 1 FROM {self._table(layer)} WHERE {oid} = %s"  # noqa: S608
            return self.conn.execute(text, [object_id]).fetchone() is not None
        names, marks, params = self._values(layer, values)
        assignments = ", ".join(f"{n} = {m}" for n, m in zip(names, marks, strict=True))
        text = f"UPDATE {self._table(layer)} SET {assignments} WHERE {oid} = %s"  # noqa: S608
        return self.conn.execute(text, [*params, object_id]).rowcount > 0

    def delete(self, layer: LayerDescription, object_id: int) -> bool:
        """``DELETE`` by object id."""
        oid = _quote(layer.object_id_field)
        text = f"DELETE FROM {self._table(layer)} WHERE {oid} = %s"  # noqa: S608
        deleted = self.conn.execute(text, [object_id]).rowcount > 0
        if deleted:
            self._count(layer.table, -1)
        return deleted

    def find(self, layer: LayerDescription, field: str, value: Any) -> int | None:
        """The object id of the row whose ``field`` holds ``value``."""
        oid = _quote(layer.object_id_field)
        text = f"SELECT {oid} FROM {self._table(layer)} WHERE {_quote(field)} = %s LIMIT 1"  # noqa: S608
        row = self.conn.execute(text, [value]).fetchone()
        return int(row[0]) if row else None

    def value(self, layer: LayerDescription, field: str, object_id: int) -> Any:
        """One column of one row."""
        oid = _quote(layer.object_id_field)
        text = f"SELECT {_quote(field)} FROM {self._table(layer)} WHERE {oid} = %s"  # noqa: S608
        row = self.conn.execute(text, [object_id]).fetchone()
        return row[0] if row else None


_SRID_FLAG = 0x20000000


def _ewkb_hex(wkb: bytes, srid: int) -> str:
    """ISO WKB as PostGIS's hex EWKB with ``srid`` (the SRID goes after the type)."""
    if wkb[:1] == b"\x01":
        kind = int.from_bytes(wkb[1:5], "little") | _SRID_FLAG
        head = kind.to_bytes(4, "little") + srid.to_bytes(4, "little")
    else:
        kind = int.from_bytes(wkb[1:5], "big") | _SRID_FLAG
        head = kind.to_bytes(4, "big") + srid.to_bytes(4, "big")
    return (wkb[:1] + head + wkb[5:]).hex()
