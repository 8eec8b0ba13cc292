"""What every GeometryServer operation shares: its parameters' Esri JSON geometries, spatial
references and units, read within limits, and its answers' geometries.

An operation is a function of a ``Getter`` (the request's parameter by name: None when absent
or empty) that answers a JSON object; bad input raises ``invalid_parameter`` (a 400 naming the
parameter), never anything else.

The input forms ArcGIS accepts:

- ``geometries``: ``{"geometryType": "...", "geometries": [...]}``, or a JSON array of
  geometries with ``geometryType`` given apart (default: inferred from the first), or for
  points ``x1,y1,x2,y2,...``;
- one geometry (``geometry``, ``geometry1``, ``target``, ``cutter``...):
  ``{"geometryType": "...", "geometry": {...}}``, or the geometry object itself;
- a spatial reference: a wkid, ``{"wkid": n}`` or ``{"wkt": "..."}`` (``resolve``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely

from geosite.data.spatial_reference import SpatialReference, resolve
from geosite.engines.features import esri_geometry
from geosite.engines.rings import assemble
from geosite.errors import InvalidParameter, invalid_parameter

Getter = Callable[[str], str | None]

POINT = "esriGeometryPoint"
MULTIPOINT = "esriGeometryMultipoint"
POLYLINE = "esriGeometryPolyline"
POLYGON = "esriGeometryPolygon"
ENVELOPE = "esriGeometryEnvelope"
GEOMETRY_TYPES = (POINT, MULTIPOINT, POLYLINE, POLYGON, ENVELOPE)

#: Vertices one request may carry in all its geometries (the edit limit of issue 16).
MAX_VERTICES = 1_000_000
#: Geometries one request may carry.
MAX_GEOMETRIES = 100_000


@dataclass(frozen=True)
class Geometries:
    """Parsed geometries of one type (envelopes become polygons, answered as envelopes)."""

    geometry_type: str
    shapes: list[Any]
    #: The spatial reference the input carried in its JSON, if any (the operation's own
    #: parameter, such as ``sr`` or ``inSR``, wins).
    spatial_reference: Any = None


class _Budget:
    def __init__(self, parameter: str) -> None:
        self.parameter = parameter
        self.vertices = 0

    def take(self, count: int) -> None:
        self.vertices += count
        if self.vertices > MAX_VERTICES:
            raise invalid_parameter(
                self.parameter, f"The request holds more than {MAX_VERTICES:,} vertices."
            )


def _json(get: Getter, name: str) -> Any:
    raw = get(name)
    if raw is None:
        raise invalid_parameter(name, "The parameter is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # plain text: the simple syntaxes


def _points(items: Any, parameter: str, budget: _Budget, least: int = 1) -> np.ndarray:
    if not isinstance(items, list) or len(items) < least:
        raise invalid_parameter(parameter, f"Expected a list of at least {least} [x, y] points.")
    budget.take(len(items))
    array = _rows(items)
    if array is None:
        try:
            rows = [(float(p[0]), float(p[1])) for p in items]
        except (TypeError, ValueError, IndexError, KeyError):
            raise invalid_parameter(parameter, "Coordinates must be [x, y] numbers.") from None
        array = np.array(rows, dtype=float).reshape(-1, 2)
    if not np.isfinite(array).all():
        raise invalid_parameter(parameter, "Coordinates must be finite numbers.")
    return array


def _rows(items: list[Any]) -> np.ndarray | None:
    """``items``' [x, y, ...] rows as an n by 2 array in one numpy call, or None when they are
    not all lists of as many numbers (the caller then reads them one by one, and says which
    is wrong)."""
    try:
        array = np.array(items, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.ndim != 2 or array.shape[1] < 2:
        return None
    return array[:, :2]


def _point_shapes(items: list[Any], parameter: str, budget: _Budget) -> list[Any]:
    """Esri JSON points made in one vectorised shapely call (a point at a time costs some
    50 µs in Python; 10,000 points this way take about 10 ms)."""
    if not all(isinstance(item, dict) for item in items):
        raise invalid_parameter(parameter, "Expected a geometry object.")
    xy = _points([[item.get("x"), item.get("y")] for item in items], parameter, budget, least=0)
    return list(shapely.points(xy))


def _single_ring_polygons(items: list[Any], parameter: str, budget: _Budget) -> list[Any] | None:
    """Polygons of one ring each (most are) made all at once, as ``assemble`` makes each: a
    lone ring is a shell whatever its orientation. None when any has another number of
    rings (or is not an object): the caller then reads them one by one."""
    rings = []
    before = budget.vertices
    for item in items:
        found = item.get("rings") if isinstance(item, dict) else None
        if not isinstance(found, list) or len(found) != 1:
            budget.vertices = before  # the caller counts them again
            return None
        rings.append(_points(found[0], parameter, budget, least=3))
    if not rings:
        return []
    sizes = np.array([len(ring) for ring in rings])
    try:
        made = shapely.linearrings(
            np.concatenate(rings), indices=np.repeat(np.arange(len(rings)), sizes)
        )
        polygons = shapely.multipolygons(shapely.polygons(made), indices=np.arange(len(rings)))
    except (ValueError, shapely.errors.GEOSException):
        budget.vertices = before
        return None  # one is not a valid ring: read one by one, which says so
    return list(polygons)


def infer_type(value: Any) -> str:
    """The geometry type an Esri JSON geometry's keys show ("" when none)."""
    if not isinstance(value, dict):
        return ""
    for key, kind in (
        ("rings", POLYGON),
        ("paths", POLYLINE),
        ("points", MULTIPOINT),
        ("xmin", ENVELOPE),
        ("x", POINT),
    ):
        if key in value:
            return kind
    return ""


def shape_of(value: Any, geometry_type: str, parameter: str, budget: _Budget | None = None) -> Any:
    """A shapely geometry from one Esri JSON geometry of ``geometry_type``."""
    budget = budget or _Budget(parameter)
    if not isinstance(value, dict):
        raise invalid_parameter(parameter, "Expected a geometry object.")
    try:
        if geometry_type == POINT:
            (xy,) = _points([[value.get("x"), value.get("y")]], parameter, budget)
            return shapely.Point(xy)
        if geometry_type == ENVELOPE:
            box = [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
            (a, b) = _points([box[:2], box[2:]], parameter, budget)
            return shapely.box(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        if geometry_type == MULTIPOINT:
            return shapely.MultiPoint(_points(value.get("points"), parameter, budget))
        if geometry_type == POLYLINE:
            paths = value.get("paths")
            if not isinstance(paths, list):
                raise invalid_parameter(parameter, "A polyline needs 'paths'.")
            return shapely.MultiLineString(
                [_points(path, parameter, budget, least=2) for path in paths]
            )
        if geometry_type == POLYGON:
            rings = value.get("rings")
            if not isinstance(rings, list):
                raise invalid_parameter(parameter, "A polygon needs 'rings'.")
            parts = [_points(ring, parameter, budget, least=3) for ring in rings]
            if not parts:
                return shapely.MultiPolygon()
            coords = np.concatenate(parts)
            offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
            return assemble(coords, offsets)
    except (ValueError, shapely.errors.GEOSException):
        raise invalid_parameter(parameter, "The geometry is not a valid shape.") from None
    raise invalid_parameter(parameter, f"Unknown geometry type '{geometry_type[:40]}'.")


def _checked_type(geometry_type: Any, parameter: str) -> str:
    if geometry_type not in GEOMETRY_TYPES:
        shown = str(geometry_type)[:40]
        raise invalid_parameter(parameter, f"Unknown geometry type '{shown}'.")
    return str(geometry_type)


def parse_geometries(
    get: Getter, name: str = "geometries", type_parameter: str = "geometryType"
) -> Geometries:
    """The ``geometries`` parameter, in any of the forms ArcGIS accepts."""
    value = _json(get, name)
    given_type = get(type_parameter)
    spatial_reference = None
    if isinstance(value, dict):
        spatial_reference = value.get("spatialReference")
        given_type = value.get("geometryType", given_type)
        value = value.get("geometries")
    elif isinstance(value, str):  # x1,y1,x2,y2,...: points
        numbers = [t for t in value.split(",") if t.strip()]
        if len(numbers) % 2:
            raise invalid_parameter(name, "Expected x,y pairs.")
        value = [{"x": numbers[i], "y": numbers[i + 1]} for i in range(0, len(numbers), 2)]
        given_type = given_type or POINT
    if not isinstance(value, list):
        raise invalid_parameter(name, "Expected a list of geometries.")
    if len(value) > MAX_GEOMETRIES:
        raise invalid_parameter(name, f"The request holds more than {MAX_GEOMETRIES:,} geometries.")
    geometry_type = _checked_type(given_type or (infer_type(value[0]) if value else POINT), name)
    budget = _Budget(name)
    if geometry_type == POINT:
        return Geometries(geometry_type, _point_shapes(value, name, budget), spatial_reference)
    if geometry_type == POLYGON:
        single = _single_ring_polygons(value, name, budget)
        if single is not None:
            return Geometries(geometry_type, single, spatial_reference)
    shapes = [shape_of(item, geometry_type, name, budget) for item in value]
    return Geometries(geometry_type, shapes, spatial_reference)


def parse_geometry(get: Getter, name: str, type_parameter: str | None = None) -> Geometries:
    """One geometry (``geometry``, ``target``...): ``{geometryType, geometry}`` or the
    geometry itself; ``Geometries`` with one shape."""
    value = _json(get, name)
    given_type = get(type_parameter) if type_parameter else None
    spatial_reference = None
    if isinstance(value, dict) and "geometry" in value:
        given_type = value.get("geometryType", given_type)
        value = value["geometry"]
    if isinstance(value, dict):
        spatial_reference = value.get("spatialReference", spatial_reference)
    geometry_type = _checked_type(given_type or infer_type(value), name)
    shape = shape_of(value, geometry_type, name)
    return Geometries(geometry_type, [shape], spatial_reference)


def spatial_reference(get: Getter, name: str, fallback: Any = None) -> SpatialReference | None:
    """The spatial reference parameter ``name`` (or ``fallback``, a geometry's own), or None."""
    raw = get(name)
    if raw is not None:
        return resolve(raw, name)
    if fallback is not None:
        return resolve(fallback, name)
    return None


def required_sr(get: Getter, name: str, fallback: Any = None) -> SpatialReference:
    """As ``spatial_reference``, but a 400 when there is none."""
    found = spatial_reference(get, name, fallback)
    if found is None:
        raise invalid_parameter(name, "A spatial reference is required.")
    return found


def number(get: Getter, name: str, default: float | None = None) -> float:
    """A finite number parameter (a 400 naming it otherwise, or when missing without
    ``default``)."""
    raw = get(name)
    if raw is None:
        if default is None:
            raise invalid_parameter(name, "The parameter is required.")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise invalid_parameter(name, "Expected a number.") from None
    if not np.isfinite(value):
        raise invalid_parameter(name, "Expected a finite number.")
    return value


def boolean(get: Getter, name: str, default: bool = False) -> bool:
    """A boolean parameter in any case."""
    raw = get(name)
    if raw is None:
        return default
    folded = raw.strip().lower()
    if folded in ("true", "1", "yes"):
        return True
    if folded in ("false", "0", "no"):
        return False
    raise invalid_parameter(name, "Expected true or false.")


def geometry_json(shape: Any, geometry_type: str) -> dict[str, Any]:
    """Esri JSON of ``shape`` as a geometry of ``geometry_type`` (an empty one when the shape
    is empty: ArcGIS answers ``{"rings": []}``, not null)."""
    if geometry_type == ENVELOPE and not shapely.is_empty(shape):
        xmin, ymin, xmax, ymax = shapely.bounds(shape).tolist()
        return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}
    found = esri_geometry(shape)
    if found is not None:
        return found
    empty: dict[str, dict[str, Any]] = {
        POINT: {"x": "NaN", "y": "NaN"},
        MULTIPOINT: {"points": []},
        POLYLINE: {"paths": []},
        POLYGON: {"rings": []},
        ENVELOPE: {"xmin": "NaN", "ymin": "NaN", "xmax": "NaN", "ymax": "NaN"},
    }
    return dict(empty[geometry_type])


def geometries_json(shapes: list[Any], geometry_type: str) -> list[dict[str, Any]]:
    """``geometry_json`` of each shape, written with a few vectorised shapely calls when
    every shape is a non-empty, finite geometry of the answer's type (else one at a time)."""
    kinds = {POINT: (0,), POLYLINE: (1, 5), POLYGON: (3, 6)}.get(geometry_type)
    if not shapes or kinds is None:
        return [geometry_json(shape, geometry_type) for shape in shapes]
    array = np.array(shapes, dtype=object)
    coords = shapely.get_coordinates(array)
    if (
        shapely.is_empty(array).any()
        or not np.isin(shapely.get_type_id(array), kinds).all()
        or not np.isfinite(coords).all()
    ):
        return [geometry_json(shape, geometry_type) for shape in shapes]
    if geometry_type == POINT:
        return [{"x": x, "y": y} for x, y in coords.tolist()]
    if geometry_type == POLYGON:  # ArcGIS's orientation: shells clockwise, holes not
        parts, owner = shapely.get_parts(
            shapely.orient_polygons(array, exterior_cw=True), return_index=True
        )
        lines, line_part = shapely.get_rings(parts, return_index=True)
        owner, key = owner[line_part], "rings"
    else:
        lines, owner = shapely.get_parts(array, return_index=True)
        key = "paths"
    flat, line_of = shapely.get_coordinates(lines, return_index=True)
    ends = np.cumsum(np.bincount(line_of, minlength=len(lines))).tolist()
    rows = flat.tolist()
    answered: list[dict[str, Any]] = [{key: []} for _ in shapes]
    start = 0
    for end, shape in zip(ends, owner.tolist(), strict=True):
        answered[shape][key].append(rows[start:end])
        start = end
    return answered


def type_of_shape(shape: Any) -> str:
    """The Esri geometry type of a shapely geometry (polygons for collections of areas)."""
    kind = shapely.get_type_id(shape)
    return {0: POINT, 4: MULTIPOINT, 1: POLYLINE, 5: POLYLINE, 3: POLYGON, 6: POLYGON}.get(
        int(kind), POLYGON
    )


def too_big(parameter: str, why: str) -> InvalidParameter:
    """A 400 for an input whose answer would exceed what one request may cost."""
    return invalid_parameter(parameter, why)


@dataclass(frozen=True)
class Operation:
    """One GeometryServer operation: its name as in the URL, what it does, the parameters its
    HTML form offers (each ``(name, label)``), and the function that answers it."""

    name: str
    run: Callable[[Getter], dict[str, Any]]
    description: str
    parameters: tuple[tuple[str, str], ...] = ()
