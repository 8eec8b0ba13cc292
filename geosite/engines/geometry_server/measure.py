"""The GeometryServer's measures: ``areasAndLengths``, ``lengths`` and ``distance``.

``calculationType`` is ``planar`` (2D Cartesian in ``sr``'s own unit), ``geodesic`` (the
vertices joined by geodesics on ``sr``'s ellipsoid, with pyproj's ``Geod``) or
``preserveShape`` (the shape as drawn in ``sr``, densified there, then measured on the
ellipsoid).

Units: measures in ``sr``'s own unit unless ``lengthUnit``, ``areaUnit`` or ``distanceUnit``
name another. Geodesic and preserveShape measures in a geographic ``sr`` default to metres. A
planar measure in a geographic ``sr`` is what the REST reference says planar is, 2D Cartesian
in the input spatial reference's units: lengths in its angular unit (degrees; ``lengthUnit``
may name another angular unit, such as ``esriSRUnit_Radian`` or 9104 for arc-seconds) and
areas in that unit squared (square degrees). No linear or area unit can express those, so
naming one is a 400 that points to ``geodesic`` and ``preserveShape``.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from pyproj import Transformer

from geosite.data.spatial_reference import SpatialReference
from geosite.engines.geometry_server._common import (
    ENVELOPE,
    MAX_VERTICES,
    POLYGON,
    POLYLINE,
    Getter,
    Operation,
    boolean,
    parse_geometries,
    parse_geometry,
    required_sr,
)
from geosite.engines.geometry_server.geodesy import (
    checked,
    geod,
    is_geographic,
    local_crs,
    metres_per_unit,
    move,
    segmentized,
    to_lonlat,
    within,
)
from geosite.engines.geometry_server.units import angular_unit, area_unit, linear_unit
from geosite.errors import invalid_parameter

CALCULATION_TYPES = ("planar", "geodesic", "preserveShape")
#: preserveShape densifies each shape to this many metres (or a coarser step when the
#: request's shapes are long, so that it adds at most ``MAX_VERTICES`` vertices).
PRESERVE_SHAPE_STEP_M = 10_000.0
#: The same step in degrees, for a geographic spatial reference.
PRESERVE_SHAPE_STEP_DEGREES = 0.1


def calculation_type(get: Getter, default: str = "planar") -> str:
    """The ``calculationType`` parameter (``geodesic=true``, the old form, means geodesic)."""
    raw = get("calculationType")
    if raw is None:
        return "geodesic" if boolean(get, "geodesic") else default
    for known in CALCULATION_TYPES:
        if raw.strip().lower() == known.lower():
            return known
    raise invalid_parameter(
        "calculationType", f"Expected one of {', '.join(CALCULATION_TYPES)}; got '{raw[:40]}'."
    )


def _densified(shapes: list[Any], sr: SpatialReference, parameter: str) -> list[Any]:
    step = (
        PRESERVE_SHAPE_STEP_DEGREES
        if is_geographic(sr)
        else PRESERVE_SHAPE_STEP_M / metres_per_unit(sr)
    )
    total = float(sum(shapely.length(s) for s in shapes))
    step = max(step, total / MAX_VERTICES)
    if not math.isfinite(step) or step <= 0:
        return shapes
    return [segmentized(s, step, parameter) for s in shapes]


def _geodesic(
    shapes: list[Any], sr: SpatialReference, parameter: str, preserve: bool
) -> list[tuple[float, float]]:
    """(area m², length m) of each shape on ``sr``'s ellipsoid."""
    ellipsoid = geod(sr, "sr")
    if preserve:
        shapes = _densified(shapes, sr, parameter)
    found = []
    for shape in shapes:
        lonlat = to_lonlat(shape, sr, parameter)
        if shapely.get_type_id(lonlat) in (3, 6):
            lonlat = shapely.orient_polygons(lonlat, exterior_cw=False)
        if shapely.is_empty(lonlat):
            found.append((0.0, 0.0))
            continue
        if shapely.get_type_id(lonlat) in (3, 6):
            area, perimeter = ellipsoid.geometry_area_perimeter(lonlat)
            found.append((abs(float(area)), float(perimeter)))
        else:
            found.append((0.0, float(ellipsoid.geometry_length(lonlat))))
    return found


def measures(
    shapes: list[Any], sr: SpatialReference, calculation: str, parameter: str
) -> tuple[list[float], list[float]]:
    """(areas in square metres, lengths in metres) of ``shapes``."""
    if calculation == "planar" and not is_geographic(sr):
        factor = metres_per_unit(sr)
        areas = [float(shapely.area(s)) * factor * factor for s in shapes]
        lengths = [float(shapely.length(s)) * factor for s in shapes]
        return areas, lengths
    found = _geodesic(shapes, sr, parameter, calculation == "preserveShape")
    return [a for a, _ in found], [p for _, p in found]


def _default_unit(sr: SpatialReference) -> float:
    return 1.0 if is_geographic(sr) else metres_per_unit(sr)


def _planar_in_angles(
    get: Getter, sr: SpatialReference, shapes: list[Any], area_parameter: str | None
) -> tuple[list[float], list[float]]:
    """(areas, lengths) of ``shapes`` measured flat in geographic ``sr``'s own angular unit:
    lengths in ``lengthUnit`` when it is angular, areas in the sr's unit squared."""
    radians = sr.crs.axis_info[0].unit_conversion_factor if sr.crs.axis_info else math.pi / 180
    per_length = 1.0
    if get("lengthUnit") is not None:
        wanted = angular_unit(get, "lengthUnit")
        if wanted is None:
            linear_unit(get, "lengthUnit")  # an unknown unit is refused as such
            raise invalid_parameter(
                "lengthUnit",
                "A planar measure in a geographic spatial reference is in angles (degrees): "
                "name an angular unit, or use calculationType geodesic or preserveShape.",
            )
        per_length = wanted / radians
    if area_parameter is not None and get(area_parameter) is not None:
        area_unit(get, area_parameter)  # an unknown unit is refused as such
        raise invalid_parameter(
            area_parameter,
            "A planar area in a geographic spatial reference is in square degrees, which no "
            "area unit expresses: leave areaUnit out, or use calculationType geodesic or "
            "preserveShape.",
        )
    areas = [float(shapely.area(s)) for s in shapes]
    lengths = [float(shapely.length(s)) / per_length for s in shapes]
    return areas, lengths


def _areas_and_lengths(get: Getter) -> dict[str, Any]:
    polygons = parse_geometries(get, "polygons")
    if polygons.geometry_type not in (POLYGON, ENVELOPE):
        raise invalid_parameter("polygons", "Expected polygons.")
    sr = required_sr(get, "sr", polygons.spatial_reference)
    within(polygons.shapes, sr, "polygons")
    calculation = calculation_type(get)
    if calculation == "planar" and is_geographic(sr):
        areas, lengths = _planar_in_angles(get, sr, polygons.shapes, "areaUnit")
        return {
            "areas": [checked(a, "areas") for a in areas],
            "lengths": [checked(p, "lengths") for p in lengths],
        }
    length_m = linear_unit(get, "lengthUnit") or _default_unit(sr)
    area_m2 = area_unit(get, "areaUnit") or _default_unit(sr) ** 2
    areas, lengths = measures(polygons.shapes, sr, calculation, "polygons")
    return {
        "areas": [checked(a / area_m2, "areas") for a in areas],
        "lengths": [checked(p / length_m, "lengths") for p in lengths],
    }


def _lengths(get: Getter) -> dict[str, Any]:
    polylines = parse_geometries(get, "polylines")
    if polylines.geometry_type != POLYLINE:
        raise invalid_parameter("polylines", "Expected polylines.")
    sr = required_sr(get, "sr", polylines.spatial_reference)
    within(polylines.shapes, sr, "polylines")
    calculation = calculation_type(get)
    if calculation == "planar" and is_geographic(sr):
        _, lengths = _planar_in_angles(get, sr, polylines.shapes, None)
        return {"lengths": [checked(p, "lengths") for p in lengths]}
    length_m = linear_unit(get, "lengthUnit") or _default_unit(sr)
    _, lengths = measures(polylines.shapes, sr, calculation, "polylines")
    return {"lengths": [checked(p / length_m, "lengths") for p in lengths]}


def _geodesic_distance(one: Any, other: Any, sr: SpatialReference) -> float:
    """The geodesic distance between two shapes: exact between points; otherwise between
    the nearest points found in an azimuthal equidistant projection centred between them."""
    a = to_lonlat(one, sr, "geometry1")
    b = to_lonlat(other, sr, "geometry2")
    ellipsoid = geod(sr, "sr")
    geographic = sr.crs.geodetic_crs
    if geographic is None:
        raise invalid_parameter("sr", "The spatial reference has no geographic datum.")
    if shapely.get_type_id(a) != 0 or shapely.get_type_id(b) != 0:
        middle = shapely.centroid(shapely.GeometryCollection([a, b]))
        local = local_crs(float(middle.x), float(middle.y), "geometry1")
        there = Transformer.from_crs(geographic, local, always_xy=True)
        back = Transformer.from_crs(local, geographic, always_xy=True)
        near = shapely.shortest_line(move(a, there, "geometry1"), move(b, there, "geometry2"))
        (x1, y1), (x2, y2) = shapely.get_coordinates(move(near, back, "geometry1")).tolist()
    else:
        x1, y1, x2, y2 = a.x, a.y, b.x, b.y
    _, _, metres = ellipsoid.inv(x1, y1, x2, y2)
    return float(metres)


def _distance(get: Getter) -> dict[str, Any]:
    first = parse_geometry(get, "geometry1")
    second = parse_geometry(get, "geometry2")
    sr = required_sr(get, "sr", first.spatial_reference or second.spatial_reference)
    one, other = first.shapes[0], second.shapes[0]
    within([one], sr, "geometry1")
    within([other], sr, "geometry2")
    if shapely.is_empty(one) or shapely.is_empty(other):
        return {"distance": "NaN"}
    unit_m = linear_unit(get, "distanceUnit") or _default_unit(sr)
    if boolean(get, "geodesic") or is_geographic(sr):
        if shapely.intersects(one, other):
            return {"distance": 0.0}
        metres = _geodesic_distance(one, other, sr)
    else:
        metres = float(shapely.distance(one, other)) * metres_per_unit(sr)
    return {"distance": checked(metres / unit_m, "distance")}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "areasAndLengths",
        _areas_and_lengths,
        "The area and perimeter of each polygon.",
        (
            ("polygons", "Polygons"),
            ("sr", "Spatial Reference"),
            ("lengthUnit", "Length Unit"),
            ("areaUnit", "Area Unit"),
            ("calculationType", "Calculation Type"),
        ),
    ),
    Operation(
        "lengths",
        _lengths,
        "The length of each polyline.",
        (
            ("polylines", "Polylines"),
            ("sr", "Spatial Reference"),
            ("lengthUnit", "Length Unit"),
            ("calculationType", "Calculation Type"),
        ),
    ),
    Operation(
        "distance",
        _distance,
        "The distance between two geometries.",
        (
            ("geometry1", "Geometry 1"),
            ("geometry2", "Geometry 2"),
            ("sr", "Spatial Reference"),
            ("distanceUnit", "Distance Unit"),
            ("geodesic", "Geodesic"),
        ),
    ),
)

__all__ = ["CALCULATION_TYPES", "OPERATIONS", "calculation_type", "measures"]
