"""The GeometryServer's ``buffer``, ``densify`` and ``generalize``.

``buffer`` answers one polygon per distance and geometry (distances first: every geometry's
buffer at the first distance, then at the second...), or one per distance with
``unionResults``. A planar buffer is drawn in ``bufferSR`` (default ``inSR``), in its unit
unless ``unit`` names another; a geodesic one (``geodesic=true``, or a ``unit`` with a
geographic ``bufferSR``) in an azimuthal equidistant projection centred on each geometry.

``densify`` adds vertices so that no segment is longer than ``maxSegmentLength`` (in ``sr``'s
unit; geodesic: along geodesics, in ``lengthUnit``, metres by default); ``generalize`` is
Douglas-Peucker within ``maxDeviation`` (in ``sr``'s unit, or ``deviationUnit``), as
ArcGIS's, which may change topology.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from pyproj.exceptions import ProjError

from geosite.data.spatial_reference import SpatialReference, transformer
from geosite.engines.geometry_server._common import (
    ENVELOPE,
    MAX_VERTICES,
    MULTIPOINT,
    POINT,
    POLYGON,
    Getter,
    Operation,
    boolean,
    geometry_json,
    number,
    parse_geometries,
    required_sr,
    spatial_reference,
)
from geosite.engines.geometry_server.geodesy import (
    HALF_EARTH_M,
    from_lonlat,
    geod,
    is_geographic,
    local_crs,
    lonlat_to,
    metres_per_unit,
    move,
    segmentized,
    to_lonlat,
    within,
)
from geosite.engines.geometry_server.units import linear_unit
from geosite.errors import invalid_parameter

#: Distances one buffer request may carry.
MAX_DISTANCES = 100
#: Input vertices times distances one buffer request may buffer (each buffer unions a circle
#: per vertex): for simple lines and valid polygons (a 794-vertex country: 0.4 s; a spiky
#: 2,000-vertex star by 5,000 km: 1.4 s)...
MAX_BUFFER_WORK = 2_000
#: ... and for multipoints and self-crossing shapes, whose circles overlap everywhere (as the
#: query's distance: 200 vertices, 0.6 s at worst).
MAX_TANGLED_WORK = 200
#: Parts times distances one geodesic buffer request may buffer (each in its own projection).
MAX_GEODESIC_PARTS = 200
#: Segments per quarter circle of a buffer.
QUAD_SEGMENTS = 16
#: Distances (in the buffer's own unit) below this are 0.
TINY_DISTANCE = 1e-12
#: Metres per degree along the equator, to read a deviation in metres in a geographic sr.
METRES_PER_DEGREE = 111_319.49079327357


def _distances(get: Getter) -> list[float]:
    raw = get("distances")
    if raw is None:
        raise invalid_parameter("distances", "The parameter is required.")
    parts = [p for p in raw.replace("[", "").replace("]", "").split(",") if p.strip()]
    if not parts or len(parts) > MAX_DISTANCES:
        raise invalid_parameter("distances", f"Expected 1 to {MAX_DISTANCES} distances.")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise invalid_parameter("distances", "Expected comma-separated numbers.") from None
    if not all(math.isfinite(v) for v in values):
        raise invalid_parameter("distances", "Expected finite numbers.")
    return values


def _buffered(shape: Any, distance: float, parameter: str) -> Any:
    if abs(distance) < TINY_DISTANCE:  # subnormal distances make GEOS divide by zero
        distance = 0.0
    try:
        return shapely.buffer(shape, distance, quad_segs=QUAD_SEGMENTS)
    except shapely.errors.GEOSException:
        raise invalid_parameter(parameter, "The geometry cannot be buffered this far.") from None


def _circle(lon: float, lat: float, metres: float, sr: SpatialReference) -> Any:
    """The geodesic circle of ``metres`` around (lon, lat) on ``sr``'s ellipsoid, in
    longitudes unwrapped around the centre; a cap closed along the pole when it holds one."""
    count = 4 * QUAD_SEGMENTS
    azimuths = np.linspace(0.0, 360.0, count, endpoint=False)
    lons, lats, _ = geod(sr, "inSR").fwd(
        np.full(count, lon), np.full(count, lat), azimuths, np.full(count, metres)
    )
    lons = np.unwrap(np.asarray(lons, dtype=float), period=360.0)
    lons += lon - lons[0] + ((lons[0] - lon + 180.0) % 360.0 - 180.0)
    lats = np.asarray(lats, dtype=float)
    if abs(lons[-1] - lons[0]) < 180:  # an ordinary circle
        return shapely.Polygon(np.column_stack([lons, lats]))
    # The circle goes round a pole: a cap from -180 to 180 closed along the pole.
    pole = 90.0 if lat > 0 else -90.0
    wrapped = (lons + 180.0) % 360.0 - 180.0
    order = np.argsort(wrapped)
    ring = np.column_stack([wrapped[order], lats[order]])
    (last_lon, last_lat), (first_lon, first_lat) = ring[-1], ring[0]
    step = first_lon + 360.0 - last_lon
    edge = last_lat + (180.0 - last_lon) / step * (first_lat - last_lat) if step else last_lat
    ends = np.array([[180.0, edge], [180.0, pole], [-180.0, pole], [-180.0, edge]])
    return shapely.Polygon(np.concatenate([ring, ends]))


def _geodesic_part(
    part: Any, metres: float, source: SpatialReference, target: SpatialReference
) -> Any:
    """One part (point, line or polygon) buffered in an azimuthal equidistant projection
    centred on it (a point: its exact geodesic circle)."""
    centre = to_lonlat(shapely.centroid(part), source, "geometries")
    if shapely.get_type_id(part) == 0:
        if metres <= 0:
            return shapely.Polygon()
        circle = _circle(float(centre.x), float(centre.y), metres, source)
        return lonlat_to(circle, source, target, "outSR")
    local = local_crs(float(centre.x), float(centre.y), "geometries")
    try:
        there = Transformer.from_crs(source.crs, local, always_xy=True)
        back = Transformer.from_crs(local, target.crs, always_xy=True)
    except ProjError:
        raise invalid_parameter("outSR", "No transformation to this spatial reference.") from None
    drawn = _buffered(move(part, there, "geometries"), metres, "distances")
    if shapely.is_empty(drawn):
        return drawn
    return move(drawn, back, "outSR")


def _union(shapes: list[Any]) -> Any:
    try:
        return shapely.union_all(shapely.make_valid(np.array(shapes, dtype=object)))
    except shapely.errors.GEOSException:
        raise invalid_parameter("geometries", "The buffers cannot be joined.") from None


def _geodesic_buffer(
    shape: Any, metres: float, source: SpatialReference, target: SpatialReference
) -> Any:
    if shapely.is_empty(shape):
        return shapely.Polygon()
    parts = [p for p in shapely.get_parts(shape).tolist() if not shapely.is_empty(p)]
    drawn = [_geodesic_part(p, metres, source, target) for p in parts]
    return drawn[0] if len(drawn) == 1 else _union(drawn)


def _check_work(shapes: list[Any], distances: int, geodesic: bool) -> None:
    """A 400 when buffering would cost more than one request may: GEOS unions a circle per
    vertex, which for points or self-crossing shapes grows far faster than their vertices
    (a 500-vertex zigzag buffered by 10,000 km took 7.6 s; 20,000 points by 1 km, 10 s)."""
    vertices = int(sum(shapely.get_num_coordinates(s) for s in shapes))
    parts = int(sum(shapely.get_num_geometries(s) for s in shapes))
    tangled = any(
        shapely.get_type_id(s) == 4 or not bool(shapely.is_valid(s) and shapely.is_simple(s))
        for s in shapes
    )
    limit = MAX_TANGLED_WORK if tangled else MAX_BUFFER_WORK
    if vertices * distances > limit or (geodesic and parts * distances > MAX_GEODESIC_PARTS):
        raise invalid_parameter(
            "geometries",
            f"Buffering {vertices:,} vertices in {parts:,} parts by {distances} distances is "
            f"more than one request may do (vertices times distances at most {limit:,}"
            f"{'' if not tangled else ' for multipoints and self-crossing shapes'}; parts "
            f"times distances at most {MAX_GEODESIC_PARTS:,} when geodesic).",
        )


def _buffer(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    source = required_sr(get, "inSR", geometries.spatial_reference)
    within(geometries.shapes, source, "geometries")
    target = spatial_reference(get, "outSR") or source
    drawn_in = spatial_reference(get, "bufferSR") or source
    distances = _distances(get)
    unit_m = linear_unit(get, "unit")
    geodesic = boolean(get, "geodesic") or (is_geographic(drawn_in) and unit_m is not None)
    _check_work(geometries.shapes, len(distances), geodesic)
    if geodesic:
        scale = unit_m or 1.0
    elif unit_m is None:
        scale = metres_per_unit(drawn_in) if not is_geographic(drawn_in) else METRES_PER_DEGREE
    else:
        scale = unit_m
    if max(abs(d) * scale for d in distances) > HALF_EARTH_M:
        raise invalid_parameter("distances", "A distance is larger than half the Earth's girth.")
    rounds: list[list[Any]] = []
    there = (
        [] if geodesic else move_all(geometries.shapes, transformer(source, drawn_in, "bufferSR"))
    )
    for distance in distances:
        if geodesic:
            shapes = [
                _geodesic_buffer(s, distance * scale, source, target) for s in geometries.shapes
            ]
        else:
            step = distance * (unit_m or 1.0) / (metres_per_unit(drawn_in) if unit_m else 1.0)
            drawn = [_buffered(s, step, "distances") for s in there]
            shapes = move_all(drawn, transformer(drawn_in, target, "outSR"))
        rounds.append(shapes)
    if boolean(get, "unionResults"):
        rounds = [[_union(shapes)] for shapes in rounds]
    return {"geometries": [geometry_json(s, POLYGON) for shapes in rounds for s in shapes]}


def move_all(shapes: list[Any], mover: Transformer | None) -> list[Any]:
    """Each shape moved by ``mover``, skipping empty ones."""
    return [s if shapely.is_empty(s) else move(s, mover, "geometries") for s in shapes]


def _answered_type(kind: str) -> str:
    return POLYGON if kind == ENVELOPE else kind


def _geodesic_densify(shape: Any, sr: SpatialReference, step_m: float) -> Any:
    ellipsoid = geod(sr, "sr")
    lonlat = to_lonlat(shape, sr, "geometries")
    coords = shapely.get_coordinates(lonlat)
    if len(coords) < 2:
        return shape
    _, _, lengths = ellipsoid.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    total = float(np.sum(np.ceil(np.asarray(lengths) / step_m)))
    if total > MAX_VERTICES:
        raise invalid_parameter(
            "maxSegmentLength", f"The answer would hold more than {MAX_VERTICES:,} vertices."
        )

    def densified(part: np.ndarray) -> np.ndarray:
        rows = [part[:1]]
        for (x1, y1), (x2, y2) in itertools.pairwise(part.tolist()):
            _, _, length = ellipsoid.inv(x1, y1, x2, y2)
            count = math.ceil(length / step_m) - 1
            if count > 0:
                rows.append(np.array(ellipsoid.npts(x1, y1, x2, y2, count), dtype=float))
            rows.append(np.array([[x2, y2]]))
        return np.concatenate(rows)

    parts = []
    for line in _lines(lonlat):
        parts.append(densified(shapely.get_coordinates(line)))
    rebuilt = _rebuilt(lonlat, parts)
    return from_lonlat(rebuilt, sr, "geometries")


def _lines(shape: Any) -> list[Any]:
    if isinstance(shape, shapely.MultiLineString):
        return list(shape.geoms)
    if isinstance(shape, shapely.LineString):
        return [shape]
    rings = []
    for polygon in getattr(shape, "geoms", [shape]):
        rings.append(polygon.exterior)
        rings.extend(polygon.interiors)
    return rings


def _rebuilt(shape: Any, parts: list[np.ndarray]) -> Any:
    if isinstance(shape, shapely.MultiLineString | shapely.LineString):
        return shapely.MultiLineString(parts)
    polygons = []
    index = 0
    for polygon in getattr(shape, "geoms", [shape]):
        count = 1 + len(polygon.interiors)
        polygons.append(shapely.Polygon(parts[index], parts[index + 1 : index + count]))
        index += count
    return shapely.MultiPolygon(polygons)


def _densify(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    sr = required_sr(get, "sr", geometries.spatial_reference)
    within(geometries.shapes, sr, "geometries")
    step = number(get, "maxSegmentLength")
    if step <= 0:
        raise invalid_parameter("maxSegmentLength", "Expected a positive number.")
    kind = geometries.geometry_type
    if kind in (POINT, MULTIPOINT):
        return {"geometries": [geometry_json(s, kind) for s in geometries.shapes]}
    geodesic = boolean(get, "geodesic")
    answered = []
    if geodesic:
        step_m = step * (linear_unit(get, "lengthUnit") or 1.0)
        for shape in geometries.shapes:
            answered.append(_geodesic_densify(shape, sr, step_m))
    else:
        added = float(sum(shapely.length(s) for s in geometries.shapes)) / step
        if added > MAX_VERTICES:
            raise invalid_parameter(
                "maxSegmentLength", f"The answer would hold more than {MAX_VERTICES:,} vertices."
            )
        answered = [segmentized(s, step, "geometries") for s in geometries.shapes]
    return {"geometries": [geometry_json(s, _answered_type(kind)) for s in answered]}


def _generalize(get: Getter) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    sr = required_sr(get, "sr", geometries.spatial_reference)
    within(geometries.shapes, sr, "geometries")
    deviation = number(get, "maxDeviation")
    if deviation < 0:
        raise invalid_parameter("maxDeviation", "Expected a positive number.")
    unit_m = linear_unit(get, "deviationUnit")
    if unit_m is not None:
        per_unit = METRES_PER_DEGREE if is_geographic(sr) else metres_per_unit(sr)
        deviation = deviation * unit_m / per_unit
    kind = geometries.geometry_type
    answered = []
    for shape in geometries.shapes:
        simple = shapely.simplify(shape, deviation, preserve_topology=False)
        answered.append(geometry_json(simple, _answered_type(kind)))
    return {"geometries": answered}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "buffer",
        _buffer,
        "Polygons around geometries at the given distances.",
        (
            ("geometries", "Geometries"),
            ("inSR", "Input Spatial Reference"),
            ("outSR", "Output Spatial Reference"),
            ("bufferSR", "Buffer Spatial Reference"),
            ("distances", "Distances"),
            ("unit", "Distance Units"),
            ("unionResults", "Union Results"),
            ("geodesic", "Geodesic"),
        ),
    ),
    Operation(
        "densify",
        _densify,
        "Geometries with vertices added so no segment is longer than a length.",
        (
            ("geometries", "Geometries"),
            ("sr", "Spatial Reference"),
            ("maxSegmentLength", "Maximum Segment Length"),
            ("lengthUnit", "Length Unit"),
            ("geodesic", "Geodesic"),
        ),
    ),
    Operation(
        "generalize",
        _generalize,
        "Geometries simplified within a maximum deviation (Douglas-Peucker).",
        (
            ("geometries", "Geometries"),
            ("sr", "Spatial Reference"),
            ("maxDeviation", "Maximum Deviation"),
            ("deviationUnit", "Deviation Unit"),
        ),
    ),
)

__all__ = ["OPERATIONS", "move_all"]
