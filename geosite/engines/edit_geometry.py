"""Edited geometries: Esri JSON checked, repaired and written as GeoPackage blobs.

A feature's geometry must be of the layer's type; it is projected from its own
``spatialReference`` to the layer's. Polygons follow ArcGIS: clockwise rings are shells, the
others holes; an invalid polygon is repaired (``shapely.make_valid``).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import shapely

from geosite.data.spatial_reference import SpatialReference, resolve
from geosite.engines.query.geometry import reproject
from geosite.errors import GeositeError

INVALID = 1000
_INVALID = INVALID
_MAX_VERTICES = 1_000_000


class EditError(Exception):
    """One edit cannot be made: its result carries this code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _pairs(items: Any, what: str) -> list[tuple[float, float]]:
    if not isinstance(items, list) or not items or len(items) > _MAX_VERTICES:
        raise EditError(_INVALID, f"The geometry's {what} must be a non-empty list of points.")
    out = []
    for item in items:
        if not isinstance(item, list) or len(item) < 2:
            raise EditError(_INVALID, f"The geometry's {what} must hold [x, y] pairs.")
        out.append(_xy(item[0], item[1]))
    return out


def _xy(x: Any, y: Any) -> tuple[float, float]:
    if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, int | float):
        raise EditError(_INVALID, "Coordinates must be numbers.")
    if not isinstance(y, int | float) or not (math.isfinite(x) and math.isfinite(y)):
        raise EditError(_INVALID, "Coordinates must be finite numbers.")
    return float(x), float(y)


def _polygon(rings: Any) -> Any:
    """Esri rings as a MultiPolygon: clockwise rings are shells, the others holes."""
    if not isinstance(rings, list) or not rings:
        raise EditError(_INVALID, "A polygon needs at least one ring.")
    closed = []
    for ring in rings:
        points = _pairs(ring, "rings")
        if len(points) < 3:
            raise EditError(_INVALID, "A polygon ring needs at least three points.")
        closed.append(shapely.LinearRing(points))
    shells = [r for r in closed if not r.is_ccw] or closed
    holes = [r for r in closed if r.is_ccw] if len(shells) < len(closed) else []
    polygons = []
    for shell in shells:
        outline = shapely.Polygon(shell)
        inner = [h for h in holes if outline.contains(shapely.Polygon(h).representative_point())]
        polygons.append(shapely.Polygon(shell, inner))
    shape = shapely.MultiPolygon(polygons)
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
        parts = [g for g in getattr(shape, "geoms", [shape]) if g.geom_type.endswith("Polygon")]
        shape = shapely.MultiPolygon(
            [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
        )
    if shape.is_empty:
        raise EditError(_INVALID, "The polygon has no area.")
    return shape


def _shape(geometry: dict[str, Any], geometry_type: str) -> Any:
    try:
        if geometry_type == "esriGeometryPoint":
            if "x" not in geometry:
                raise EditError(_INVALID, "The layer holds points: the geometry needs x and y.")
            return shapely.Point(_xy(geometry.get("x"), geometry.get("y")))
        if geometry_type == "esriGeometryMultipoint":
            if "points" not in geometry:
                raise EditError(_INVALID, "The layer holds multipoints: the geometry needs points.")
            return shapely.MultiPoint(_pairs(geometry["points"], "points"))
        if geometry_type == "esriGeometryPolyline":
            paths = geometry.get("paths")
            if not isinstance(paths, list) or not paths:
                raise EditError(_INVALID, "The layer holds polylines: the geometry needs paths.")
            lines = [_pairs(p, "paths") for p in paths]
            if any(len(line) < 2 for line in lines):
                raise EditError(_INVALID, "A path needs at least two points.")
            return shapely.MultiLineString(lines)
        if geometry_type == "esriGeometryPolygon":
            if "rings" not in geometry:
                raise EditError(_INVALID, "The layer holds polygons: the geometry needs rings.")
            return _polygon(geometry["rings"])
    except shapely.errors.GEOSException:
        raise EditError(_INVALID, "The geometry is not a valid shape.") from None
    raise EditError(_INVALID, f"Features of geometry type {geometry_type} cannot be edited.")


def geometry_blob(
    geometry: Any, layer: dict[str, Any], sr: SpatialReference, srs_id: int
) -> bytes | None:
    """A GeoPackage blob of Esri JSON ``geometry`` in the layer's coordinates (None: none)."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise EditError(_INVALID, "The geometry must be a JSON object.")
    shape = _shape(geometry, str(layer["geometryType"]))
    own = geometry.get("spatialReference")
    if own:
        try:
            shape = reproject(shape, resolve(own, "spatialReference"), sr, "spatialReference")
        except GeositeError:
            raise EditError(_INVALID, "The geometry's spatial reference is not usable.") from None
    if shape.geom_type == "Point":  # the common case, written without shapely's WKB
        return b"GP\x00\x01" + struct.pack("<iBIdd", srs_id, 1, 1, shape.x, shape.y)
    header = b"GP\x00\x03" + struct.pack("<i", srs_id)
    xmin, ymin, xmax, ymax = shapely.bounds(shape)
    header += struct.pack("<4d", xmin, xmax, ymin, ymax)
    wkb: bytes = shapely.to_wkb(shape, byte_order=1)
    return header + wkb
