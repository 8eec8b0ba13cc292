"""The GeometryServer's ``simplify``, ``union``, ``convexHull``, ``labelPoints`` and
``offset``: planar operations in the geometries' own spatial reference (``sr``, optional,
is read only to be checked, as every shape is in it).

``simplify`` makes shapes topologically correct as ArcGIS's does: polygons made valid
(areas only, rings oriented clockwise), polylines noded at their crossings with repeated
vertices removed, multipoints without duplicate points. ``offset`` draws a polyline's
offset curve or a polygon's inward (positive distance) or outward (negative) outline: as
ArcGIS's, a positive distance is to the right of the oriented input, and a polygon's right
side is its inside.
"""

from __future__ import annotations

from typing import Any

import shapely

from geosite.engines.geometry_server._common import (
    MULTIPOINT,
    POINT,
    POLYGON,
    POLYLINE,
    Getter,
    Operation,
    boolean,
    geometry_json,
    number,
    parse_geometries,
    spatial_reference,
    type_of_shape,
)
from geosite.engines.geometry_server._shapes import (
    answered_type,
    as_type,
    checked_sr,
    guarded,
    parts,
    valid,
    vertices,
)
from geosite.engines.geometry_server.geodesy import HALF_EARTH_M, is_geographic, metres_per_unit
from geosite.engines.geometry_server.units import linear_unit
from geosite.errors import invalid_parameter

#: Metres per degree at the equator: an offset in a geographic ``sr`` given in a linear unit.
METRES_PER_DEGREE = 111_319.49079327357
#: Input vertices one ``offset`` may round or bevel (each join adds vertices).
MAX_OFFSET_VERTICES = 200_000
#: Segments per quarter circle of a rounded offset.
QUADRANT_SEGMENTS = 8
OFFSET_HOWS = {
    "esriGeometryOffsetMitered": "mitre",
    "esriGeometryOffsetBevelled": "bevel",
    "esriGeometryOffsetRounded": "round",
}


def simplified(shape: Any, geometry_type: str) -> Any:
    """``shape`` made topologically correct as a geometry of ``geometry_type``."""
    kind = answered_type(geometry_type)
    if shapely.is_empty(shape) or kind == POINT:
        return shape
    if kind == MULTIPOINT:
        return shapely.MultiPoint(shapely.get_coordinates(shapely.union_all(shape)))
    if kind == POLYLINE:
        lines = shapely.remove_repeated_points(shape)
        noded = shapely.node(lines)
        kept = [p for p in shapely.get_parts(noded) if shapely.length(p) > 0]
        return shapely.MultiLineString(kept)
    cleaned = shapely.remove_repeated_points(shape)
    if shapely.is_valid(cleaned):
        return cleaned
    return parts(shapely.normalize(parts(shapely.make_valid(cleaned), 2)), 2)


def _simplify(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    checked_sr(get, geometries)
    kind = answered_type(geometries.geometry_type)
    shapes = guarded("geometries", lambda: [simplified(s, kind) for s in geometries.shapes])
    return {"geometries": [geometry_json(s, kind) for s in shapes]}


def _union(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    checked_sr(get, geometries)
    kind = answered_type(geometries.geometry_type)
    shapes = [valid(s) for s in geometries.shapes]
    joined = guarded("geometries", lambda: shapely.union_all(shapes))
    if kind in (POINT, MULTIPOINT):
        points = parts(joined, 0)
        kind = POINT if len(shapely.get_parts(points)) == 1 else MULTIPOINT
        joined = as_type(points, kind)
    else:
        joined = as_type(joined, kind)
    return {"geometryType": kind, "geometry": geometry_json(joined, kind)}


def _convex_hull(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    checked_sr(get, geometries)
    points = [shapely.get_coordinates(s) for s in geometries.shapes]
    cloud = shapely.MultiPoint([xy for block in points for xy in block.tolist()])
    hull = guarded("geometries", lambda: shapely.convex_hull(cloud))
    kind = POLYGON if shapely.is_empty(hull) else type_of_shape(hull)
    return {"geometryType": kind, "geometry": geometry_json(hull, kind)}


def _label(shape: Any) -> dict[str, Any]:
    areas = parts(shapely.make_valid(shape), 2) if not shapely.is_valid(shape) else shape
    point = shapely.point_on_surface(areas) if not shapely.is_empty(areas) else None
    if point is None or shapely.is_empty(point):
        return {"x": "NaN", "y": "NaN"}
    return geometry_json(point, POINT)


def _label_points(get: Getter) -> dict[str, Any]:
    polygons = parse_geometries(get, "polygons")
    if answered_type(polygons.geometry_type) != POLYGON:
        raise invalid_parameter("polygons", "Expected polygons.")
    checked_sr(get, polygons)
    labels = guarded("polygons", lambda: [_label(s) for s in polygons.shapes])
    return {"labelPoints": labels}


def _offset_distance(get: Getter, geometries_sr: Any) -> float:
    """``offsetDistance`` in the units of ``sr`` (``offsetUnit``, when given, needs ``sr``)."""
    distance = number(get, "offsetDistance")
    unit_m = linear_unit(get, "offsetUnit")
    sr = spatial_reference(get, "sr", geometries_sr)
    if unit_m is not None and sr is None:
        raise invalid_parameter("sr", "A spatial reference is required with offsetUnit.")
    per_unit = 1.0
    if sr is not None:
        per_unit = METRES_PER_DEGREE if is_geographic(sr) else metres_per_unit(sr)
    metres = abs(distance) * (unit_m if unit_m is not None else per_unit)
    if metres > HALF_EARTH_M:
        raise invalid_parameter("offsetDistance", "The distance exceeds half the Earth's girth.")
    return distance if unit_m is None else distance * unit_m / per_unit


def _offset_how(get: Getter) -> str:
    raw = get("offsetHow")
    if raw is None:
        return "round"
    for name, join in OFFSET_HOWS.items():
        if raw.strip().lower() == name.lower():
            return join
    raise invalid_parameter("offsetHow", f"Expected one of {', '.join(OFFSET_HOWS)}.")


def offset_shape(shape: Any, kind: str, distance: float, join: str, mitre: float) -> Any:
    """``shape`` offset by ``distance`` to its right (ArcGIS's sign)."""
    if shapely.is_empty(shape) or distance == 0:
        return shape
    if kind == POLYGON:
        drawn = shapely.buffer(
            valid(shape),
            -distance,
            quad_segs=QUADRANT_SEGMENTS,
            join_style=join,
            mitre_limit=mitre,
        )
        return parts(drawn, 2)
    drawn = shapely.offset_curve(
        shape, -distance, quad_segs=QUADRANT_SEGMENTS, join_style=join, mitre_limit=mitre
    )
    return parts(drawn, 1)


def _offset(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    kind = answered_type(geometries.geometry_type)
    if kind not in (POLYLINE, POLYGON):
        raise invalid_parameter("geometries", "Only polylines and polygons can be offset.")
    checked_sr(get, geometries)
    distance = _offset_distance(get, geometries.spatial_reference)
    join = _offset_how(get)
    mitre = number(get, "bevelRatio", 10.0 if join == "mitre" else 1.1)
    if not 0 < mitre <= 1000:
        raise invalid_parameter("bevelRatio", "Expected a number above 0 and at most 1000.")
    if sum(vertices(s) for s in geometries.shapes) > MAX_OFFSET_VERTICES:
        raise invalid_parameter(
            "geometries", f"Offset takes at most {MAX_OFFSET_VERTICES:,} vertices a request."
        )
    simplify = boolean(get, "simplifyResult")

    def compute() -> list[Any]:
        drawn = [offset_shape(s, kind, distance, join, mitre) for s in geometries.shapes]
        return [simplified(s, kind) for s in drawn] if simplify else drawn

    shapes = guarded("geometries", compute)
    return {"geometries": [geometry_json(as_type(s, kind), kind) for s in shapes]}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "simplify",
        _simplify,
        "Geometries made topologically correct.",
        (("sr", "Spatial Reference"), ("geometries", "Geometries")),
    ),
    Operation(
        "union",
        _union,
        "The union of geometries of one type.",
        (("sr", "Spatial Reference"), ("geometries", "Geometries")),
    ),
    Operation(
        "convexHull",
        _convex_hull,
        "The convex hull of geometries.",
        (("sr", "Spatial Reference"), ("geometries", "Geometries")),
    ),
    Operation(
        "labelPoints",
        _label_points,
        "A point inside each polygon, to label it.",
        (("sr", "Spatial Reference"), ("polygons", "Polygons")),
    ),
    Operation(
        "offset",
        _offset,
        "Polylines and polygons offset by a distance (positive: to the right).",
        (
            ("geometries", "Geometries"),
            ("sr", "Spatial Reference"),
            ("offsetDistance", "Offset Distance"),
            ("offsetUnit", "Offset Unit"),
            ("offsetHow", "Offset How"),
            ("bevelRatio", "Bevel Ratio"),
            ("simplifyResult", "Simplify Result"),
        ),
    ),
)

__all__ = ["OPERATIONS", "offset_shape", "simplified"]
