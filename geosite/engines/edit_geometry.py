"""Edited geometries: Esri JSON checked, repaired and made into GeoPackage blobs.

A feature's geometry must be of the layer's type; it is projected from its own
``spatialReference`` to the layer's, and its coordinates must lie within both spatial
references' areas (``SpatialReference.check_coordinates``). Polygons follow ArcGIS: clockwise
rings are shells, the others holes; an invalid polygon is repaired (``geosite.engines.rings``).

Everything here runs before the layer's write lock is taken (``prepare``), and is bounded:
the service's limits (``GeometryLimits``) cap the vertices and parts of a feature and the
vertices of a request before any coordinate is read; small polygons are checked here, and
large or invalid ones are checked and repaired in a worker process with a deadline and a
memory cap (``geosite.engines.repair_pool``).
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geosite.core.models import LayerDescription
from geosite.data.spatial_reference import SpatialReference, resolve
from geosite.engines.query.geometry import reproject
from geosite.engines.repair_pool import MEMORY_CAP_BYTES, POOL, RepairFailed
from geosite.engines.rings import assemble
from geosite.errors import GeositeError

INVALID = 1000
_INVALID = INVALID
#: Polygons up to this size are checked in the server (0.01 s at most measured); larger ones,
#: and invalid ones of any size, in a repair worker.
INLINE_VERTICES = 10_000
INLINE_PARTS = 1_000
#: The repairs of one request take at most this many times ``maxGeometryRepairSeconds`` in
#: all: a thousand tangles in one request hold a worker for 10 s, not 1,000.
REQUEST_REPAIR_FACTOR = 10
_NUMBER = (int, float)


class EditError(Exception):
    """One edit cannot be made: its result carries this code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class GeometryLimits:
    """A service's limits on edited geometries (its ``properties``, see docs/security.md)."""

    #: ``maxVerticesPerFeature``: points of one geometry, all parts together.
    vertices_per_feature: int = 250_000
    #: ``maxPartsPerFeature``: rings of a polygon, paths of a polyline.
    parts_per_feature: int = 10_000
    #: ``maxVerticesPerRequest``: points of every geometry of one edit request.
    vertices_per_request: int = 1_000_000
    #: ``maxGeometryRepairSeconds``: how long one polygon's check and repair may take.
    repair_seconds: float = 1.0


class GeometryBudget:
    """The vertices one request has left (``maxVerticesPerRequest``)."""

    def __init__(self, limits: GeometryLimits) -> None:
        self.limits = limits
        self.left = limits.vertices_per_request
        self.repair_left = limits.repair_seconds * REQUEST_REPAIR_FACTOR

    def take(self, parts: int, vertices: int) -> None:
        """Count one geometry; raises ``EditError`` naming the limit it goes over."""
        limits = self.limits
        if parts > limits.parts_per_feature:
            raise EditError(
                _INVALID,
                f"The geometry has {parts} parts, more than maxPartsPerFeature "
                f"({limits.parts_per_feature}) allows.",
            )
        if vertices > limits.vertices_per_feature:
            raise EditError(
                _INVALID,
                f"The geometry has {vertices} vertices, more than maxVerticesPerFeature "
                f"({limits.vertices_per_feature}) allows.",
            )
        if vertices > self.left:
            raise EditError(
                _INVALID,
                "The request's geometries have more vertices in all than "
                f"maxVerticesPerRequest ({limits.vertices_per_request}) allows.",
            )
        self.left -= vertices


@dataclass(frozen=True)
class PreparedGeometry:
    """A checked geometry, ready to be written: its blob lacks only the layer's ``srs_id``."""

    head: bytes
    body: bytes

    def blob(self, srs_id: int) -> bytes:
        """The GeoPackage blob."""
        return self.head + struct.pack("<i", srs_id) + self.body

    def wkb(self) -> bytes:
        """The geometry as little-endian ISO WKB (the blob without its header)."""
        return self.body[32:] if self.head[3] & 0b1110 else self.body

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax)."""
        if self.head[3] & 0b1110:
            xmin, xmax, ymin, ymax = struct.unpack_from("<4d", self.body)
            return xmin, ymin, xmax, ymax
        x, y = struct.unpack_from("<dd", self.body, 5)
        return x, y, x, y


def _pairs(items: Any, what: str) -> list[tuple[float, float]]:
    if not isinstance(items, list) or not items:
        raise EditError(_INVALID, f"The geometry's {what} must be a non-empty list of points.")
    out: list[tuple[float, float]] = []
    append = out.append
    for item in items:
        if not isinstance(item, list) or len(item) < 2:
            raise EditError(_INVALID, f"The geometry's {what} must hold [x, y] pairs.")
        x, y = item[0], item[1]
        if type(x) not in _NUMBER or type(y) not in _NUMBER:  # not bool, not text
            raise EditError(_INVALID, "Coordinates must be numbers.")
        try:
            finite = math.isfinite(x) and math.isfinite(y)
        except OverflowError:  # an integer beyond a double
            finite = False
        if not finite:
            raise EditError(_INVALID, "Coordinates must be finite numbers.")
        append((float(x), float(y)))
    return out


def _xy(x: Any, y: Any) -> tuple[float, float]:
    return _pairs([[x, y]], "point")[0]


def _counted(items: Any, key: str, budget: GeometryBudget) -> list[Any]:
    """The parts of a geometry (``rings``, ``paths``), counted against the limits before any
    coordinate is read."""
    if not isinstance(items, list) or not items:
        raise EditError(_INVALID, f"The geometry's {key} must be a non-empty list.")
    vertices = sum(len(part) if isinstance(part, list) else 0 for part in items)
    budget.take(len(items), vertices)
    return items


_REPAIR_FAILURES = {
    "empty": "The polygon has no area.",
    "shape": "The geometry is not a valid shape.",
    "busy": "The geometry is not valid and no repair worker was free; try again later.",
    "gone": "The geometry could not be checked: the repair worker ended; try again later.",
    "memory": (
        "The geometry is not valid and could not be repaired within the repair memory limit "
        f"({MEMORY_CAP_BYTES >> 20} MiB)."
    ),
}


def _repaired(coords: np.ndarray, offsets: np.ndarray, budget: GeometryBudget) -> Any:
    """The rings assembled, checked and repaired by a worker, within the deadline."""
    limits = budget.limits
    deadline = min(limits.repair_seconds, budget.repair_left)
    if deadline <= 0:
        raise EditError(
            _INVALID,
            "The request's invalid geometries took longer to repair in all than "
            f"{REQUEST_REPAIR_FACTOR} x maxGeometryRepairSeconds "
            f"({limits.repair_seconds:g} s) allows.",
        )
    started = time.monotonic()
    try:
        return shapely.from_wkb(POOL.repair(coords, offsets, deadline))
    except RepairFailed as failed:
        why = _REPAIR_FAILURES.get(failed.reason) or (
            "The geometry is not valid and could not be checked and repaired within "
            f"maxGeometryRepairSeconds ({limits.repair_seconds:g} s)."
        )
        raise EditError(_INVALID, why) from None
    finally:
        budget.repair_left -= time.monotonic() - started


def _polygon(rings: list[Any], budget: GeometryBudget) -> Any:
    """Esri rings as a valid MultiPolygon (repaired in a worker when needed)."""
    parts = []
    for ring in rings:
        points = _pairs(ring, "rings")
        if len(points) < 3:
            raise EditError(_INVALID, "A polygon ring needs at least three points.")
        parts.append(points)
    coords = np.array([p for part in parts for p in part], dtype=float).reshape(-1, 2)
    offsets = np.concatenate([[0], np.cumsum([len(part) for part in parts])]).astype(np.int64)
    if len(coords) <= INLINE_VERTICES and len(parts) <= INLINE_PARTS:
        try:
            shape = assemble(coords, offsets)
        except (ValueError, shapely.errors.GEOSException):
            raise EditError(_INVALID, "The geometry is not a valid shape.") from None
        if shapely.is_valid(shape):
            return shape
    return _repaired(coords, offsets, budget)


def _shape(geometry: dict[str, Any], geometry_type: str, budget: GeometryBudget) -> Any:
    try:
        if geometry_type == "esriGeometryPoint":
            if "x" not in geometry:
                raise EditError(_INVALID, "The layer holds points: the geometry needs x and y.")
            budget.take(1, 1)
            return shapely.Point(_xy(geometry.get("x"), geometry.get("y")))
        if geometry_type == "esriGeometryMultipoint":
            if "points" not in geometry:
                raise EditError(_INVALID, "The layer holds multipoints: the geometry needs points.")
            points = _counted([geometry["points"]], "points", budget)[0]
            return shapely.MultiPoint(_pairs(points, "points"))
        if geometry_type == "esriGeometryPolyline":
            if not isinstance(geometry.get("paths"), list) or not geometry["paths"]:
                raise EditError(_INVALID, "The layer holds polylines: the geometry needs paths.")
            lines = [_pairs(p, "paths") for p in _counted(geometry["paths"], "paths", budget)]
            if any(len(line) < 2 for line in lines):
                raise EditError(_INVALID, "A path needs at least two points.")
            return shapely.MultiLineString(lines)
        if geometry_type == "esriGeometryPolygon":
            if "rings" not in geometry:
                raise EditError(_INVALID, "The layer holds polygons: the geometry needs rings.")
            return _polygon(_counted(geometry["rings"], "rings", budget), budget)
    except (ValueError, shapely.errors.GEOSException):
        raise EditError(_INVALID, "The geometry is not a valid shape.") from None
    raise EditError(_INVALID, f"Features of geometry type {geometry_type} cannot be edited.")


def _within(shape: Any, sr: SpatialReference) -> None:
    if isinstance(shape, shapely.Point):  # most edits: no array for four numbers
        x, y = shape.x, shape.y
        problem = sr.coordinates_problem(x, y, x, y)
    else:
        problem = sr.coordinates_problem(*shapely.bounds(shape).tolist())
    if problem:
        raise EditError(_INVALID, problem)


def prepare(
    geometry: Any,
    layer: LayerDescription,
    sr: SpatialReference,
    limits: GeometryLimits | None = None,
    budget: GeometryBudget | None = None,
) -> PreparedGeometry | None:
    """Esri JSON ``geometry`` checked, in the layer's coordinates (None: no geometry)."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise EditError(_INVALID, "The geometry must be a JSON object.")
    budget = budget or GeometryBudget(limits or GeometryLimits())
    shape = _shape(geometry, layer.geometry_type, budget)
    own = geometry.get("spatialReference")
    if own:
        try:
            source = resolve(own, "spatialReference")
        except GeositeError:
            raise EditError(_INVALID, "The geometry's spatial reference is not usable.") from None
        _within(shape, source)
        try:
            shape = reproject(shape, source, sr, "spatialReference")
        except GeositeError:
            raise EditError(
                _INVALID, "The geometry cannot be projected to the layer's spatial reference."
            ) from None
    _within(shape, sr)
    if shape.geom_type == "Point":  # the common case, written without shapely's WKB
        return PreparedGeometry(b"GP\x00\x01", struct.pack("<BIdd", 1, 1, shape.x, shape.y))
    xmin, ymin, xmax, ymax = shapely.bounds(shape)
    wkb: bytes = shapely.to_wkb(shape, byte_order=1)
    return PreparedGeometry(b"GP\x00\x03", struct.pack("<4d", xmin, xmax, ymin, ymax) + wkb)
