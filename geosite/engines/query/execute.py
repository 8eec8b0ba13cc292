"""Running a ``QuerySpec`` against a published layer and shaping the answer.

Paging follows services-api §3.5: rows are ordered (object id last, so the order is total),
``limit + 1`` rows are read, and ``exceededTransferLimit`` is true exactly when more remain.
Counts, ids and extents are never capped; ids are paged only when ``resultOffset`` or
``resultRecordCount`` asks for it (services-api §3.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from geosite.data.source import FeatureSource, Grouping, RowFilter
from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.engines.features import (
    attribute_rows,
    esri_geometries,
    esri_value,
    finite_points,
    finite_shapes,
)
from geosite.engines.query.dialects import DIALECTS
from geosite.engines.query.geometry import ENVELOPE_ONLY, PREDICATES, in_layer
from geosite.engines.query.params import QuerySpec
from geosite.engines.query.sql import compile_where, field_sql, quote

POINT = "esriGeometryPoint"
#: GeoJSON's coordinates are WGS84 unless ``outSR`` says otherwise (RFC 7946).
GEOJSON_WKID = 4326


def _transformer(source: SpatialReference, target: SpatialReference | None) -> Transformer | None:
    return None if target is None else transformer(source, target, "outSR")


def _reproject(geoms: Sequence[Any], mover: Transformer | None) -> list[Any]:
    if mover is None:
        return list(geoms)
    transform = mover.transform

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    present = [g for g in geoms if g is not None]
    moved = iter(shapely.transform(present, move)) if present else iter(())
    return [next(moved) if g is not None else None for g in geoms]


class LayerQuery:
    """One query against one layer of a service."""

    def __init__(self, source: FeatureSource, spec: QuerySpec, now_ms: int):
        self.layer = layer = source.layer
        self.source = source
        self.dialect = DIALECTS[source.dialect]
        self.spec = spec
        self.now_ms = now_ms
        self.compiled = compile_where(spec.where, now_ms, self.dialect)
        self.types = layer.field_types
        self._oid = quote(layer.object_id_field)
        self.sr = resolve(layer.spatial_reference, "layer")
        self.filter_shape, self.bbox, self.exact = self._spatial_filter()
        # A point layer queried with a plain box is answered by the index plus a check of the
        # points near the box's edges, in SQL, so that paging stays in the database.
        self.points_in_box = (
            self.bbox is not None and not self.exact and (spec.spatial_rel not in ENVELOPE_ONLY)
        )

    def _spatial_filter(self) -> tuple[Any, tuple[float, float, float, float] | None, bool]:
        """(shape in layer coordinates, its box for the R*Tree, whether to test exactly)."""
        spec, query = self.spec, self.spec.geometry
        if query is None:
            return None, None, False
        shape = in_layer(query, spec.in_sr, self.sr)
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.bounds(shape))
        box_is_exact = (
            query.is_box
            and query.distance_m is None
            and (spec.in_sr is None or spec.in_sr.same_as(self.sr))
            and self.layer.geometry_type == POINT
            and spec.spatial_rel == "esriSpatialRelIntersects"
        )
        exact = spec.spatial_rel not in ENVELOPE_ONLY and not box_is_exact
        shapely.prepare(shape)
        return shape, (xmin, ymin, xmax, ymax), exact

    def _select(
        self,
        columns: Sequence[str],
        *,
        with_geometry: bool,
        points_in_box: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """Rows matching the where clause, object ids and the box, in the query's order."""
        return self.source.select(
            self._filter(points_in_box=points_in_box),
            columns,
            with_geometry=with_geometry,
            order_by=self.spec.order_by,
            limit=limit,
            offset=offset,
        )

    def _rows(
        self, columns: Sequence[str], *, with_geometry: bool, limit: int | None, offset: int
    ) -> list[tuple[Any, ...]]:
        if not self.exact:
            if self.points_in_box and with_geometry and offset == 0:
                rows = self._first_page_in_box(columns, limit)
                if rows is not None:
                    return rows
            return self._select(
                columns,
                with_geometry=with_geometry,
                points_in_box=self.points_in_box,
                limit=limit,
                offset=offset,
            )
        rows = self._select(columns, with_geometry=True)
        test = PREDICATES[self.spec.spatial_rel]
        shapes = self.source.geometries([row[-1] for row in rows])
        kept = [
            row if with_geometry else row[:-1]
            for row, shape in zip(rows, shapes, strict=True)
            if shape is not None and test(self.filter_shape, shape)
        ]
        return kept[offset:] if limit is None else kept[offset : offset + limit]

    def _first_page_in_box(
        self, columns: Sequence[str], limit: int | None
    ) -> list[tuple[Any, ...]] | None:
        """The first page of a point-in-box query from the R*Tree alone, when that is exact.

        The R*Tree's candidates are a superset of the answer, in the same order. When every
        candidate of the page lies in the box (the usual case: only points within a float32
        rounding of an edge can be false candidates), they are the answer's first rows; the
        edge check in SQL is then not needed. None when a candidate is outside.
        """
        assert self.bbox is not None
        rows = self._select(columns, with_geometry=True, limit=limit)
        coords = self.source.point_coordinates([row[-1] for row in rows])
        if coords is None:
            return None
        xmin, ymin, xmax, ymax = self.bbox
        x, y = coords[:, 0], coords[:, 1]
        inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        return rows if bool(inside.all()) else None

    def run(self, fmt: str) -> dict[str, Any]:
        """The answer to the query, in the shape its flags ask for.

        The REST reference's precedence, in order:

        1. ``outStatistics``: statistics, with only ``where``, ``groupByFieldsForStatistics``,
           ``having``, ``orderByFields`` and ``time`` (the flags below do not apply);
        2. ``returnCountOnly`` supersedes ``returnIdsOnly`` (the ArcGIS Maps SDK counts with
           both); with ``returnExtentOnly`` it answers count and extent, with
           ``returnDistinctValues`` the count of distinct values;
        3. ``returnIdsOnly``; 4. ``returnDistinctValues``; 5. ``returnExtentOnly``;
        6. features.
        """
        spec = self.spec
        if spec.aggregation is not None:
            return self._grouped(fmt)
        if spec.count_only:
            return self._grouped(fmt) if spec.distinct else self._count(fmt)
        if spec.ids_only:
            # Never capped by maxRecordCount, but paged when asked to: the ArcGIS API for
            # Python reads the ids of query(result_offset=, result_record_count=) that way.
            rows = self._rows(
                [self._oid], with_geometry=False, limit=spec.record_count, offset=spec.offset
            )
            return {
                "objectIdFieldName": self.layer.object_id_field,
                "objectIds": [row[0] for row in rows],
            }
        if spec.distinct:
            return self._grouped(fmt)
        if spec.extent_only:
            return {"extent": self._extent(fmt)}
        return self._features(fmt)

    def _count(self, fmt: str) -> dict[str, Any]:
        """``{count}``, and the extent with ``returnExtentOnly``."""
        spec = self.spec
        total = (
            len(self._rows([self._oid], with_geometry=False, limit=None, offset=0))
            if self.exact
            else self.source.count(self._filter(points_in_box=self.points_in_box))
        )
        answer: dict[str, Any] = {"count": total}
        if spec.extent_only:
            answer["extent"] = self._extent(fmt)
        return answer

    def _narrowed(self) -> tuple[Sequence[int] | None, tuple[float, float, float, float] | None]:
        """Object ids and box to filter by; an exact spatial test becomes the ids it keeps."""
        if not self.exact:
            return self.spec.object_ids, self.bbox
        rows = self._rows([self._oid], with_geometry=False, limit=None, offset=0)
        return [row[0] for row in rows], None

    def _grouped(self, fmt: str) -> dict[str, Any]:
        spec = self.spec
        # returnCountOnly counts distinct values; statistics ignore it (see ``run``).
        counting = spec.count_only and spec.aggregation is None
        object_ids, bbox = self._narrowed()
        if spec.aggregation is not None:
            group_by = spec.aggregation.group_by
            stats = spec.aggregation.statistics
            names = [*group_by, *(s.out_name for s in stats)]
            expressions = [f"{self._field_sql(g)} AS {quote(g)}" for g in group_by]
            aggregates = self.dialect.aggregates
            expressions += [
                f"{aggregates[s.kind.upper()]}({field_sql(s.field, s.field_type, self.dialect)})"
                f" AS {quote(s.out_name)}"
                for s in stats
            ]
            out_fields = [self._field(g) for g in group_by] + [
                {"name": s.out_name, "type": s.out_type(), "alias": s.out_name} for s in stats
            ]
            having = (
                compile_where(spec.aggregation.having, self.now_ms, self.dialect)
                if spec.aggregation.having is not None
                else None
            )
            grouping = [self._field_sql(g) for g in group_by]
        else:
            names = list(spec.out_fields)
            expressions = [f"{self._field_sql(n)} AS {quote(n)}" for n in names]
            out_fields = [self._field(n) for n in names]
            having, grouping = None, []
        limit = None if counting else spec.limit + 1
        rows = self.source.grouped(
            RowFilter(
                self.compiled.sql,
                tuple(self.compiled.params),
                None if object_ids is None else tuple(object_ids),
                bbox,
                self.points_in_box and bbox is not None,
            ),
            Grouping(
                tuple(expressions),
                tuple(grouping),
                having.sql if having else None,
                tuple(having.params) if having else (),
                distinct=spec.aggregation is None,
            ),
            order_by=spec.order_by,
            limit=limit,
            offset=0 if counting else spec.offset,
        )
        if counting:
            return {"count": len(rows)}
        exceeded = len(rows) > spec.limit
        rows = rows[: spec.limit]
        types = {f["name"]: f["type"] for f in out_fields}
        features = [
            {"attributes": {n: esri_value(types[n], v) for n, v in zip(names, row, strict=True)}}
            for row in rows
        ]
        if fmt == "geojson":
            return {
                "type": "FeatureCollection",
                "properties": {"exceededTransferLimit": exceeded},
                "features": [
                    {"type": "Feature", "geometry": None, "properties": f["attributes"]}
                    for f in features
                ],
            }
        return {
            "displayFieldName": "",
            "fieldAliases": {f["name"]: f.get("alias", f["name"]) for f in out_fields},
            "fields": out_fields,
            "exceededTransferLimit": exceeded,
            "features": features,
        }

    def _geometries(
        self, blobs: list[bytes | None], target: SpatialReference | None, fmt: str
    ) -> list[dict[str, Any] | None]:
        """Esri JSON (or GeoJSON) geometries of a page of blobs, in ``target`` coordinates.

        Points are read straight from the blobs, without shapely, when they allow it.
        """
        spec = self.spec
        mover = _transformer(self.sr, target)
        coords = self.source.point_coordinates(blobs) if self.layer.geometry_type == POINT else None
        if coords is not None:
            if mover is not None and len(coords):
                x, y = mover.transform(coords[:, 0], coords[:, 1])
                coords = np.column_stack([x, y])
            if spec.precision is not None:
                coords = np.round(coords, spec.precision)
            points = finite_points(coords)
            if fmt == "geojson":
                return [
                    None if xy is None else {"type": "Point", "coordinates": xy} for xy in points
                ]
            return [None if xy is None else {"x": xy[0], "y": xy[1]} for xy in points]
        shapes = finite_shapes(_reproject(self.source.geometries(blobs), mover))
        if spec.max_allowable_offset is not None:
            tolerance = spec.max_allowable_offset
            shapes = [None if s is None else shapely.simplify(s, tolerance) for s in shapes]
        if fmt == "geojson":
            return [_geojson_geometry(shape, spec.precision) for shape in shapes]
        return esri_geometries(shapes, spec.precision)

    def _field(self, name: str) -> dict[str, Any]:
        found = self.layer.field(name)
        if found is None:
            raise KeyError(name)
        return dict(found)

    def _field_sql(self, name: str) -> str:
        return field_sql(name, self.types[name], self.dialect)

    def _filter(self, *, points_in_box: bool) -> RowFilter:
        """The rows the where clause, object ids and box choose."""
        ids = self.spec.object_ids
        return RowFilter(
            self.compiled.sql,
            tuple(self.compiled.params),
            None if ids is None else tuple(ids),
            self.bbox,
            points_in_box,
        )

    def _target(self, fmt: str) -> SpatialReference | None:
        """The spatial reference of the answer's coordinates (None: the layer's own)."""
        if self.spec.out_sr is not None:
            return self.spec.out_sr
        return resolve(GEOJSON_WKID, "outSR") if fmt == "geojson" else None

    def _extent(self, fmt: str) -> dict[str, Any] | None:
        rows = self._rows([self._oid], with_geometry=True, limit=None, offset=0)
        target = self._target(fmt)
        shapes = _reproject(
            self.source.geometries([r[-1] for r in rows]), _transformer(self.sr, target)
        )
        present = [s for s in finite_shapes(shapes) if s is not None]  # the others: no extent
        if not present:
            return None
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(present))
        sr = target.to_json() if target else self.layer.spatial_reference
        if fmt == "geojson":
            named = target.authority if target else ""
            crs = {"crs": {"type": "name", "properties": {"name": named}}} if named else {}
            return {**crs, "bbox": [xmin, ymin, xmax, ymax]}
        return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "spatialReference": sr}

    def _features(self, fmt: str) -> dict[str, Any]:
        spec = self.spec
        names = list(spec.out_fields)
        oid = self.layer.object_id_field
        hidden_id = oid not in names  # GeoJSON ids need it even when not asked for
        columns = [self._field_sql(name) for name in names]
        if hidden_id:
            columns.append(quote(self.layer.object_id_field))
        rows = self._rows(
            columns, with_geometry=spec.return_geometry, limit=spec.limit + 1, offset=spec.offset
        )
        exceeded = len(rows) > spec.limit
        rows = rows[: spec.limit]
        target = self._target(fmt)
        geometries: list[Any] = (
            self._geometries([r[-1] for r in rows], target, fmt)
            if spec.return_geometry
            else [None] * len(rows)
        )
        attributes = attribute_rows(list(self.layer.fields), names, rows)
        if fmt == "geojson":
            ids = [
                row[len(names)] if hidden_id else attrs[oid]
                for row, attrs in zip(rows, attributes, strict=True)
            ]
            return _geojson(attributes, ids, geometries, exceeded)
        sr = target.to_json() if target else self.layer.spatial_reference
        if spec.return_geometry:
            features = [
                {"attributes": attrs, "geometry": geometry}
                for attrs, geometry in zip(attributes, geometries, strict=True)
            ]
        else:
            features = [{"attributes": attrs} for attrs in attributes]
        fields = [f for f in self.layer.fields if f["name"] in names]
        fields.sort(key=lambda f: names.index(f["name"]))
        return {
            "objectIdFieldName": oid,
            "uniqueIdField": {"name": oid, "isSystemMaintained": True},
            "globalIdFieldName": self.layer.global_id_field or "",
            "displayFieldName": "",
            "geometryType": self.layer.geometry_type,
            "spatialReference": sr,
            "hasZ": False,
            "hasM": False,
            "fieldAliases": {f["name"]: f.get("alias", f["name"]) for f in fields},
            "fields": fields,
            "exceededTransferLimit": exceeded,
            "features": features,
        }


def _rounded(geometry: Any, digits: int) -> Any:
    return shapely.transform(geometry, lambda coords: np.round(coords, digits))


def _geojson_geometry(shape: Any, precision: int | None) -> dict[str, Any] | None:
    """GeoJSON of a shapely geometry (RFC 7946 ring orientation: outer rings anticlockwise)."""
    if shape is None:
        return None
    oriented = shapely.orient_polygons(shape, exterior_cw=False)
    if precision is not None:
        oriented = _rounded(oriented, precision)
    return dict(mapping(oriented))


def _geojson(
    attributes: list[dict[str, Any]],
    ids: list[Any],
    geometries: list[dict[str, Any] | None],
    exceeded: bool,
) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "properties": {"exceededTransferLimit": exceeded},
        "features": [
            {"type": "Feature", "id": object_id, "geometry": geometry, "properties": attrs}
            for attrs, object_id, geometry in zip(attributes, ids, geometries, strict=True)
        ],
    }
