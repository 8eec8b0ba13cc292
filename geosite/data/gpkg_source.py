"""GeoPackage feature data, the embedded default: one file per service, read through pooled
read-only connections (``geosite.data.geopackage``) and written by one writer per process
(``geosite.data.editing``).

Only bound parameters reach SQL; table and column names come from the layer description
written at publish time (never from a request) and are quoted. Filters by box use the
layer's R*Tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from geosite.core.models import LayerDescription
from geosite.data import editing, geopackage
from geosite.data.geopackage import first, quote_identifier, rows
from geosite.data.source import (
    Box,
    EditSession,
    FeatureData,
    FeatureSource,
    Grouping,
    Order,
    RowFilter,
    grouped_statement,
)


class GeoPackageSource(FeatureSource):
    """One published layer: a table with an integer object id and a geometry column."""

    dialect = "sqlite"

    def __init__(self, path: str, layer: LayerDescription) -> None:
        super().__init__(layer)
        self.path = path
        self.table = layer.table

    def _maintained_count(self) -> int:
        """The maintained feature count (GeoPackage's ``gpkg_ogr_contents``)."""
        sql = "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name=?"
        row = first(self.path, sql, [self.table])
        if row is not None and row[0] is not None:
            return int(row[0])
        sql = f"SELECT count(*) FROM {quote_identifier(self.table)}"  # noqa: S608
        return int(rows(self.path, sql, [])[0][0])

    def extent(self) -> Box | None:
        """The extent ``gpkg_contents`` keeps (widened by every edit)."""
        row = first(
            self.path,
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
            "WHERE lower(table_name) = lower(?)",
            [self.table],
        )
        if row is None or any(v is None for v in row):
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def feature(
        self, object_id: int, fields: Sequence[str], with_geometry: bool
    ) -> tuple[dict[str, Any], Any] | None:
        """One feature by its object id, read with a pooled connection."""
        columns = [quote_identifier(f) for f in fields]
        if with_geometry:
            columns.append(quote_identifier(self.layer.geometry_field))
        oid = quote_identifier(self.layer.object_id_field)
        sql = (
            f"SELECT {', '.join(columns) or oid} "  # noqa: S608
            f"FROM {quote_identifier(self.table)} WHERE {oid}=?"
        )
        row = first(self.path, sql, [object_id])
        if row is None:
            return None
        attributes = dict(zip(fields, row[: len(fields)], strict=True))
        geometry = geopackage.geometries([row[-1]])[0] if with_geometry else None
        return attributes, geometry

    def geometries(self, values: Sequence[Any]) -> list[Any]:
        """GeoPackage blobs to shapely, in one vectorised pass."""
        return geopackage.geometries(values)

    def point_coordinates(self, values: Sequence[Any]) -> np.ndarray | None:
        """Plain 2D point blobs read as numbers, without shapely."""
        return geopackage.point_coordinates(values)

    def _filters(self, found: RowFilter) -> tuple[str, list[Any]]:
        clauses, bound = [f"({found.where_sql})"], list(found.params)
        oid = quote_identifier(self.layer.object_id_field)
        if found.object_ids is not None:
            clauses.append(f"{oid} IN (SELECT value FROM json_each(?))")  # noqa: S608
            bound.append("[" + ",".join(str(int(i)) for i in found.object_ids) + "]")
        if found.bbox is not None:
            box = found.bbox
            rtree = quote_identifier(f"rtree_{self.table}_{self.layer.geometry_field}")
            clauses.append(
                f"{oid} IN (SELECT id FROM {rtree} WHERE maxx >= ? AND minx <= ? "  # noqa: S608
                "AND maxy >= ? AND miny <= ?)"
            )
            bound.extend([box[0], box[2], box[1], box[3]])
            if found.points_in_box:
                # The R*Tree keeps 32-bit bounds rounded outwards, so a point a little outside
                # the box can be a candidate: rows whose stored bounds are not inside the box
                # have their coordinates checked (only those near the edges).
                shape = quote_identifier(self.layer.geometry_field)
                clauses.append(
                    f"({oid} IN (SELECT id FROM {rtree} WHERE minx >= ? AND maxx <= ? "  # noqa: S608
                    f"AND miny >= ? AND maxy <= ?) OR geosite_point_in_box({shape}, ?, ?, ?, ?))"
                )
                bound.extend([box[0], box[2], box[1], box[3], *box])
        return " AND ".join(clauses), bound

    def count(self, found: RowFilter) -> int:
        """The maintained count when nothing filters, else ``count(*)`` over the filters."""
        if found.everything:
            return self._maintained_count()
        condition, bound = self._filters(found)
        sql = f"SELECT count(*) FROM {quote_identifier(self.table)} WHERE {condition}"  # noqa: S608
        return int(rows(self.path, sql, bound)[0][0])

    def select(
        self,
        found: RowFilter,
        columns: Sequence[str],
        *,
        with_geometry: bool = False,
        order_by: Order = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """One statement over the table with its filters, ordered and paged in SQL."""
        condition, bound = self._filters(found)
        shape = quote_identifier(self.layer.geometry_field)
        selected = list(columns) + ([shape] if with_geometry else [])
        order = ", ".join(f"{quote_identifier(name)} {direction}" for name, direction in order_by)
        sql = (
            f"SELECT {', '.join(selected)} FROM {quote_identifier(self.table)} "  # noqa: S608
            f"WHERE {condition}" + (f" ORDER BY {order}" if order else "")
        )
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            bound.extend([limit, offset])
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            bound.append(offset)
        return rows(self.path, sql, bound)

    def grouped(
        self,
        found: RowFilter,
        grouping: Grouping,
        *,
        order_by: Order = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """One aggregated or ``DISTINCT`` statement over the table with its filters."""
        condition, bound = self._filters(found)
        order = ", ".join(f"{quote_identifier(n)} {d}" for n, d in order_by)
        sql, having = grouped_statement(quote_identifier(self.table), condition, grouping, order)
        bound.extend(having)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            bound.extend([limit, offset])
        return rows(self.path, sql, bound)


class GeoPackageData(FeatureData):
    """The GeoPackage of one service."""

    def __init__(self, path: str) -> None:
        self.path = path

    def source(self, layer: LayerDescription) -> GeoPackageSource:
        """A source over this file."""
        return GeoPackageSource(self.path, layer)

    def edit(self) -> AbstractContextManager[EditSession]:
        """This process's writer of the file (``geosite.data.editing.edit_transaction``)."""
        return editing.edit_transaction(self.path)


def open_geopackage(location: str) -> GeoPackageData:
    """The GeoPackage at ``location`` (a path, or ``gpkg:<path>``)."""
    return GeoPackageData(location.removeprefix("gpkg:"))
