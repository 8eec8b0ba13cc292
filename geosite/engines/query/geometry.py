"""The query geometry: Esri JSON or the simple syntaxes, projected, buffered, and tested.

``geometry`` may be an envelope, a point, a multipoint, a polyline or a polygon (Esri JSON),
or ``xmin,ymin,xmax,ymax`` / ``x,y``. It is projected from ``inSR`` (or its own
``spatialReference``) to the layer's coordinate system; ``distance`` with ``units`` buffers it
on the ground (in an azimuthal equidistant projection centred on it), whatever the layer's
units. ``spatialRel`` is the relation of the query geometry to each feature, as ArcGIS defines
it: ``Contains`` keeps features inside the query geometry, ``Within`` features that contain it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geosite.data.spatial_reference import SpatialReference, resolve, transformer
from geosite.errors import InvalidParameter, invalid_parameter

Getter = Callable[[str], str | None]
ENVELOPE_ONLY = ("esriSpatialRelEnvelopeIntersects", "esriSpatialRelIndexIntersects")
PREDICATES: dict[str, Callable[[Any, Any], bool]] = {
    "esriSpatialRelIntersects": shapely.intersects,
    "esriSpatialRelContains": shapely.contains,
    "esriSpatialRelWithin": shapely.within,
    "esriSpatialRelCrosses": shapely.crosses,
    "esriSpatialRelTouches": shapely.touches,
    "esriSpatialRelOverlaps": shapely.overlaps,
}
SPATIAL_RELS = (*PREDICATES, *ENVELOPE_ONLY)
UNITS_M = {
    "esriSRUnit_Meter": 1.0,
    "esriSRUnit_Kilometer": 1000.0,
    "esriSRUnit_Foot": 0.3048,
    "esriSRUnit_SurveyFoot": 1200 / 3937,
    "esriSRUnit_StatuteMile": 1609.344,
    "esriSRUnit_NauticalMile": 1852.0,
    "esriSRUnit_USNauticalMile": 1852.0,
    "9001": 1.0,
    "9036": 1000.0,
    "9002": 0.3048,
    "9003": 1200 / 3937,
    "9093": 1609.344,
    "9030": 1852.0,
}
MAX_VERTICES = 100_000


def _invalid(why: str, parameter: str = "geometry") -> InvalidParameter:
    return invalid_parameter(parameter, why)


@dataclass(frozen=True)
class QueryGeometry:
    """A parsed query geometry, still in its own coordinates."""

    shape: Any
    is_box: bool
    spatial_reference: Any
    distance_m: float | None


def _numbers(values: Any, count: int) -> list[float]:
    if not isinstance(values, list) or len(values) < count:
        raise _invalid("Expected coordinate pairs.")
    try:
        numbers = [float(v) for v in values[:count]]
    except (TypeError, ValueError):
        raise _invalid("Coordinates must be numbers.") from None
    if not all(np.isfinite(numbers)):
        raise _invalid("Coordinates must be finite numbers.")
    return numbers


def _coords(items: Any) -> list[list[float]]:
    if not isinstance(items, list) or len(items) > MAX_VERTICES:
        raise _invalid("Expected a list of coordinate pairs.")
    return [_numbers(item, 2) for item in items]


def _parts(items: Any, least: int, what: str) -> list[list[list[float]]]:
    """Paths or rings, each with at least ``least`` points (shapely refuses fewer)."""
    parts = items if isinstance(items, list) else None
    if not parts:
        raise _invalid(f"A {what} needs at least one part.")
    found = [_coords(part) for part in parts]
    if any(len(part) < least for part in found):
        raise _invalid(f"Each part of a {what} needs at least {least} points.")
    return found


def _from_json(value: dict[str, Any], kind: str) -> tuple[Any, bool]:
    if "xmin" in value or kind == "esriGeometryEnvelope":
        xmin, ymin, xmax, ymax = _numbers(
            [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")], 4
        )
        return shapely.box(min(xmin, xmax), min(ymin, ymax), max(xmin, xmax), max(ymin, ymax)), True
    if "x" in value:
        x, y = _numbers([value.get("x"), value.get("y")], 2)
        return shapely.Point(x, y), False
    if "points" in value:
        return shapely.MultiPoint(_coords(value["points"])), False
    if "paths" in value:
        return shapely.MultiLineString(_parts(value["paths"], 2, "polyline")), False
    if "rings" in value:
        rings = _parts(value["rings"], 3, "polygon")
        shape = shapely.make_valid(shapely.polygonize([shapely.LinearRing(r) for r in rings]))
        return shape, False
    raise _invalid("Unrecognised geometry.")


def parse_query_geometry(get: Getter) -> QueryGeometry | None:
    """The ``geometry`` (with ``geometryType``, ``distance``, ``units``) of a request."""
    raw = get("geometry")
    if raw is None:
        return None
    kind = get("geometryType") or "esriGeometryEnvelope"
    text = raw.strip()
    sr: Any = None
    try:
        if text.startswith("{"):
            value = orjson.loads(text)
            if not isinstance(value, dict):
                raise _invalid("Expected a geometry object.")
            sr = value.get("spatialReference")
            shape, is_box = _from_json(value, kind)
        else:
            parts = _numbers(text.split(","), len(text.split(",")))
            if len(parts) == 2:
                shape, is_box = shapely.Point(parts), False
            elif len(parts) == 4:
                shape, is_box = (
                    shapely.box(
                        min(parts[0], parts[2]),
                        min(parts[1], parts[3]),
                        max(parts[0], parts[2]),
                        max(parts[1], parts[3]),
                    ),
                    True,
                )
            else:
                raise _invalid("Expected xmin,ymin,xmax,ymax or x,y.")
    except orjson.JSONDecodeError:
        raise _invalid("The geometry is not valid JSON.") from None
    except (ValueError, TypeError, shapely.errors.GEOSException):
        raise _invalid("The geometry is not a valid shape.") from None
    if shapely.is_empty(shape):
        raise _invalid("The geometry is empty.")
    return QueryGeometry(shape, is_box, sr, _distance(get))


#: Half the Earth's circumference, in metres.
MAX_DISTANCE_M = 20_037_508.0
#: Buffering unions a circle per vertex: 1,000 random points took 18 s, a 2,000-vertex star
#: 12 s (found by the fuzzer). At 200 the worst case measured is 0.6 s.
MAX_BUFFERED_VERTICES = 200


def _distance(get: Getter) -> float | None:
    raw = get("distance")
    if raw is None:
        return None
    try:
        distance = float(raw)
    except ValueError:
        raise _invalid("Expected a number.", "distance") from None
    if not np.isfinite(distance) or distance < 0:
        raise _invalid("Expected a positive number.", "distance")
    units = get("units") or "esriSRUnit_Meter"
    if units not in UNITS_M:
        raise _invalid(f"Unknown unit '{units[:40]}'.", "units")
    metres = distance * UNITS_M[units]
    if metres > MAX_DISTANCE_M:
        # Half the Earth's circumference already reaches every place; more only costs time
        # (a multipoint buffered by 5e16 m took 75 s and gigabytes: found by the fuzzer).
        raise _invalid("The distance is larger than half the Earth's circumference.", "distance")
    return metres if distance > 0 else None


def _moved(shape: Any, mover: Transformer | None) -> Any:
    if mover is None:
        return shape
    transform = mover.transform

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    moved = shapely.transform(shape, move)
    if not np.all(np.isfinite(shapely.get_coordinates(moved))):
        raise _invalid("The geometry cannot be projected to the layer's spatial reference.")
    return moved


def project(shape: Any, source: CRS, target: CRS) -> Any:
    """``shape`` moved from ``source`` to ``target`` coordinates."""
    if source == target:
        return shape
    return _moved(shape, Transformer.from_crs(source, target, always_xy=True))


def reproject(
    shape: Any, source: SpatialReference, target: SpatialReference, parameter: str = "inSR"
) -> Any:
    """``shape`` moved between two spatial references, with a cached transformer."""
    return _moved(shape, transformer(source, target, parameter))


def _within_area(query: QueryGeometry, source: SpatialReference) -> Any:
    """The query shape, when it lies within its spatial reference's area (an envelope is cut
    to that area: clients send world-spanning boxes such as +-1e38 to mean everywhere)."""
    shape = query.shape
    low_x, low_y, high_x, high_y = source.coordinate_bounds
    if query.is_box:
        xmin, ymin, xmax, ymax = shapely.bounds(shape).tolist()
        cut = (max(xmin, low_x), max(ymin, low_y), min(xmax, high_x), min(ymax, high_y))
        if cut[0] <= cut[2] and cut[1] <= cut[3]:
            return shapely.box(*cut)
    problem = source.coordinates_problem(*shapely.bounds(shape).tolist())
    if problem:
        raise _invalid(problem)
    return shape


def in_layer(
    query: QueryGeometry, in_sr: SpatialReference | None, layer_sr: SpatialReference
) -> Any:
    """The query geometry in the layer's coordinates, buffered by its distance."""
    source = in_sr or layer_sr
    shape = _within_area(query, source)
    if query.is_box and not source.same_as(layer_sr) and shapely.length(shape) > 0:
        shape = shapely.segmentize(shape, max_segment_length=shapely.length(shape) / 84)
    if query.distance_m is not None:
        if shapely.get_num_coordinates(shape) > MAX_BUFFERED_VERTICES:
            raise _invalid(
                f"A geometry with a distance may have at most {MAX_BUFFERED_VERTICES} vertices.",
                "distance",
            )
        centre = reproject(shapely.centroid(shape), source, resolve(4326, "inSR"))
        if shapely.is_empty(centre):  # a shape without area, length or points
            raise _invalid("The geometry cannot be buffered: it has no centre.")
        try:
            local = CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +units=m")
        except CRSError:  # a centre beyond the poles
            raise _invalid("The geometry cannot be buffered: it lies outside the world.") from None
        try:
            buffered = project(shape, source.crs, local).buffer(query.distance_m, 16)
        except shapely.errors.GEOSException:  # e.g. a subnormal distance (5e-324) makes NaNs
            raise _invalid(
                "The geometry cannot be buffered by this distance.", "distance"
            ) from None
        return project(buffered, local, layer_sr.crs)
    return reproject(shape, source, layer_sr)
