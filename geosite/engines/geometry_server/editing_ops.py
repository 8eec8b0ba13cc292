"""The GeometryServer's editing operations ``cut``, ``trimExtend`` and ``autoComplete``,
planar in the geometries' own spatial reference.

``cut`` splits each target polyline or polygon where the cutter polyline crosses it, as
ArcGIS's: of each target that is cut, the pieces left of the (oriented) cutter as one
geometry, then those right of it (with pieces along it, for polylines), then each piece
with no single side on its own; ``cutIndexes`` gives each answered geometry's target. A
target the cutter does not cut gives nothing.

``trimExtend`` trims each polyline the guide crosses, keeping its pieces left of the guide,
or extends its ends along their end segments until they meet the guide (``extendHow``:
ArcGIS's flags, 1 moves the end instead of adding a vertex, 8 and 16 keep the from and the
to end as they are); a polyline neither trimmed nor extended answers an empty polyline.

``autoComplete`` answers the polygons the polylines close with the existing polygons: the
faces of the polylines noded with the polygons' boundaries, not covered by the polygons and
bounded in part by a polyline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from geosite.engines.geometry_server._common import (
    POLYGON,
    POLYLINE,
    Getter,
    Operation,
    geometry_json,
    parse_geometries,
    parse_geometry,
    spatial_reference,
)
from geosite.engines.geometry_server._shapes import (
    answered_type,
    guarded,
    parts,
    valid,
    vertices,
)
from geosite.errors import invalid_parameter

LEFT, RIGHT, NONE = 1, -1, 0


def _polyline(get: Getter, name: str) -> Any:
    found = parse_geometry(get, name)
    if found.geometry_type != POLYLINE:
        raise invalid_parameter(name, "Expected a polyline.")
    line = found.shapes[0]
    if shapely.is_empty(line):
        raise invalid_parameter(name, "The polyline is empty.")
    return line


def _tolerance(*shapes: Any) -> float:
    """A distance below which two points of these shapes are the same one."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(shapes, dtype=object)).tolist()
    return 1e-9 * float(
        max(abs(xmin), abs(ymin), abs(xmax), abs(ymax), xmax - xmin, ymax - ymin, 1.0)
    )


class Guide:
    """The segments of a cutter or guide polyline, indexed to find the nearest to points."""

    def __init__(self, line: Any, tolerance: float) -> None:
        self.line = line
        self.tolerance = tolerance
        coords, index = shapely.get_coordinates(shapely.get_parts(line), return_index=True)
        same = index[:-1] == index[1:]
        self.starts, self.ends = coords[:-1][same], coords[1:][same]
        self.tree = shapely.STRtree(shapely.linestrings(np.stack([self.starts, self.ends], 1)))

    def nearest(self, xy: Any) -> tuple[Any, Any]:
        """For each point of ``xy`` (n by 2): its nearest segment and the distance to it."""
        points = shapely.points(xy)
        (found, segment), distance = self.tree.query_nearest(
            points, return_distance=True, all_matches=False
        )
        # a point with no nearest segment (coordinates too large to measure) is far from all
        nearest = np.zeros(len(points), dtype=np.int64)
        far = np.full(len(points), np.inf)
        nearest[found] = segment
        far[found] = distance
        return nearest, far

    def sides(self, xy: Any) -> Any:
        """LEFT or RIGHT of the nearest segment each point of ``xy`` lies, NONE on it."""
        if not len(xy):
            return np.zeros(0, dtype=int)
        segment, distance = self.nearest(xy)
        direction = self.ends[segment] - self.starts[segment]
        offset = xy - self.starts[segment]
        cross = direction[:, 0] * offset[:, 1] - direction[:, 1] * offset[:, 0]
        found = np.sign(cross).astype(int)
        found[distance <= self.tolerance] = NONE
        return found


#: Target vertices times cutter (or guide) vertices one request may compare.
MAX_EDIT_WORK = 20_000_000
#: Segments of the targets a cutter (or guide) may cross in one request: the pieces are as
#: many.
MAX_CROSSINGS = 20_000


def bounded_edits(parameter: str, targets: list[Any], guide: Guide) -> None:
    """A 400 when editing ``targets`` with ``guide`` would cost too much: too many vertex
    pairs to compare, or too many crossings (and so pieces) to build."""
    count = sum(vertices(t) for t in targets)
    if count * len(guide.starts) > MAX_EDIT_WORK:
        raise invalid_parameter(
            parameter,
            f"Editing {count:,} vertices with a line of {len(guide.starts):,} segments is more "
            f"than one request may do (at most {MAX_EDIT_WORK:,} vertex pairs).",
        )
    crossings = 0
    for target in targets:
        lines = shapely.boundary(target) if shapely.get_dimensions(target) == 2 else target
        coords, index = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
        same = index[:-1] == index[1:]
        segments = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], 1))
        crossings += len(guide.tree.query(segments, predicate="intersects")[0])
        if crossings > MAX_CROSSINGS:
            raise invalid_parameter(
                parameter,
                f"The line crosses the geometries more than {MAX_CROSSINGS:,} times, more than "
                "one request may cut.",
            )


def split(line: Any, guide: Guide) -> Any:
    """The pieces of ``line`` between the points where ``guide`` meets it."""
    noded = shapely.node(
        shapely.MultiLineString([*shapely.get_parts(line), *shapely.get_parts(guide.line)])
    )
    pieces = shapely.get_parts(noded)
    shapely.prepare(line)
    return pieces[shapely.dwithin(line, shapely.points(_middles(pieces)), guide.tolerance)]


def _middles(pieces: Any) -> Any:
    return shapely.get_coordinates(shapely.line_interpolate_point(pieces, 0.5, normalized=True))


def _face_sides(faces: Any, guide: Guide) -> Any:
    """For each face: LEFT when each of its edges along the cutter runs with the cutter (its
    rings oriented with the interior on their left), RIGHT when each runs against it, NONE
    otherwise."""
    oriented = shapely.orient_polygons(faces, exterior_cw=False)
    rings, face_of_ring = shapely.get_rings(oriented, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    starts, ends, face = coords[:-1][same], coords[1:][same], face_of_ring[ring_of[:-1][same]]
    segment, distance = guide.nearest((starts + ends) / 2)
    along = distance <= guide.tolerance
    direction = guide.ends[segment] - guide.starts[segment]
    with_it = np.einsum("ij,ij->i", direction, ends - starts) > 0
    left = np.zeros(len(faces), dtype=bool)
    right = np.zeros(len(faces), dtype=bool)
    np.logical_or.at(left, face[along & with_it], True)
    np.logical_or.at(right, face[along & ~with_it], True)
    return np.where(left & ~right, LEFT, np.where(right & ~left, RIGHT, NONE))


def _cut_polygon(target: Any, guide: Guide) -> list[Any]:
    inside = shapely.intersection(guide.line, target)
    linework = shapely.node(
        shapely.MultiLineString(
            [
                *shapely.get_parts(parts(inside, 1)),
                *shapely.get_parts(shapely.boundary(target)),
            ]
        )
    )
    every = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    shapely.prepare(target)
    faces = every[shapely.within(shapely.point_on_surface(every), target)].tolist()
    if len(faces) < 2:
        return []
    sides = _face_sides(np.array(faces, dtype=object), guide).tolist()
    left = [f for f, s in zip(faces, sides, strict=True) if s == LEFT]
    right = [f for f, s in zip(faces, sides, strict=True) if s == RIGHT]
    others = [f for f, s in zip(faces, sides, strict=True) if s == NONE]
    # Faces of one side meet at most at points: together they are a valid MultiPolygon.
    grouped = [shapely.MultiPolygon(g) for g in (left, right) if g]
    return grouped + others


def _cut_polyline(target: Any, guide: Guide) -> list[Any]:
    pieces = list(split(target, guide))
    if len(pieces) < 2:
        return []
    sides = guide.sides(_middles(np.array(pieces, dtype=object)))
    left = [p for p, s in zip(pieces, sides, strict=True) if s == LEFT]
    right = [p for p, s in zip(pieces, sides, strict=True) if s != LEFT]
    return [shapely.MultiLineString(g) for g in (left, right) if g]


def _cut(get: Getter) -> dict[str, Any]:
    targets = parse_geometries(get, "target")
    kind = answered_type(targets.geometry_type)
    if kind not in (POLYLINE, POLYGON):
        raise invalid_parameter("target", "Only polylines and polygons can be cut.")
    cutter = _polyline(get, "cutter")
    spatial_reference(get, "sr", targets.spatial_reference)
    shapes = [valid(s) for s in targets.shapes]
    near = [
        not shapely.is_empty(s)
        and shapely.intersects(shapely.envelope(s), shapely.envelope(cutter))
        for s in shapes
    ]
    guide = Guide(cutter, _tolerance(cutter, *shapes))
    bounded_edits("target", [s for s, hit in zip(shapes, near, strict=True) if hit], guide)
    how = _cut_polygon if kind == POLYGON else _cut_polyline

    def compute() -> tuple[list[int], list[Any]]:
        indexes: list[int] = []
        pieces: list[Any] = []
        for index, (shape, hit) in enumerate(zip(shapes, near, strict=True)):
            found = how(shape, guide) if hit else []
            indexes.extend([index] * len(found))
            pieces.extend(found)
        return indexes, pieces

    indexes, pieces = guarded("target", compute)
    dimension = 2 if kind == POLYGON else 1
    return {
        "cutIndexes": indexes,
        "geometries": [geometry_json(parts(p, dimension), kind) for p in pieces],
    }


#: ``extendHow`` flags.
RELOCATE_ENDS, NO_EXTEND_AT_FROM, NO_EXTEND_AT_TO = 1, 8, 16


def _extend_how(get: Getter) -> int:
    raw = get("extendHow")
    if raw is None:
        return 0
    try:
        flags = int(raw.strip())
    except ValueError:
        raise invalid_parameter("extendHow", "Expected an integer of flags.") from None
    if not 0 <= flags <= 31:
        raise invalid_parameter("extendHow", "Expected flags from 0 to 31.")
    return flags


def _reach(end: Any, before: Any, guide: Any, span: float, tolerance: float) -> Any:
    """Where the ray from ``before`` through ``end`` first meets ``guide`` beyond ``end``, or
    None."""
    direction = end - before
    length = float(np.hypot(*direction))
    if length <= tolerance:
        return None
    far = end + direction / length * span
    ray = shapely.LineString([end, far])
    met = shapely.get_coordinates(shapely.intersection(ray, guide))
    if not len(met):
        return None
    distances = np.hypot(*(met - end).T)
    ahead = distances > tolerance
    if not ahead.any():
        return None
    return met[ahead][int(np.argmin(distances[ahead]))]


def _extended(path: Any, guide: Any, flags: int, span: float, tolerance: float) -> Any:
    xy = shapely.get_coordinates(path)
    changed = False
    if not flags & NO_EXTEND_AT_TO:
        met = _reach(xy[-1], xy[-2], guide, span, tolerance)
        if met is not None:
            xy = np.vstack([xy[:-1], [met]]) if flags & RELOCATE_ENDS else np.vstack([xy, [met]])
            changed = True
    if not flags & NO_EXTEND_AT_FROM:
        met = _reach(xy[0], xy[1], guide, span, tolerance)
        if met is not None:
            xy = np.vstack([[met], xy[1:]]) if flags & RELOCATE_ENDS else np.vstack([[met], xy])
            changed = True
    return shapely.LineString(xy) if changed else None


def trim_extend(line: Any, guide: Guide, flags: int) -> Any:
    """``line`` trimmed to its pieces left of ``guide`` when the guide crosses it, else its
    paths extended to the guide; an empty MultiLineString when neither."""
    if shapely.crosses(line, guide.line):
        pieces = split(line, guide)
        kept = pieces[guide.sides(_middles(pieces)) == LEFT]
        return shapely.MultiLineString(kept.tolist())
    xmin, ymin, xmax, ymax = shapely.total_bounds(
        np.array([line, guide.line], dtype=object)
    ).tolist()
    span = 2.0 * float(np.hypot(xmax - xmin, ymax - ymin)) + 1.0
    paths = list(shapely.get_parts(line))
    grown = [_extended(p, guide.line, flags, span, guide.tolerance) for p in paths]
    if all(g is None for g in grown):
        return shapely.MultiLineString()
    return shapely.MultiLineString(
        [g if g is not None else p for g, p in zip(grown, paths, strict=True)]
    )


def _trim_extend(get: Getter) -> dict[str, Any]:
    polylines = parse_geometries(get, "polylines")
    if polylines.geometry_type != POLYLINE:
        raise invalid_parameter("polylines", "Expected polylines.")
    guide = _polyline(get, "trimExtendTo")
    spatial_reference(get, "sr", polylines.spatial_reference)
    flags = _extend_how(get)
    segments = Guide(guide, _tolerance(guide, *polylines.shapes))
    bounded_edits("polylines", polylines.shapes, segments)
    shapes = guarded(
        "polylines",
        lambda: [
            shapely.MultiLineString() if shapely.is_empty(s) else trim_extend(s, segments, flags)
            for s in polylines.shapes
        ],
    )
    return {"geometries": [geometry_json(s, POLYLINE) for s in shapes]}


#: Vertices one ``autoComplete`` may take (its polylines are noded with one another).
MAX_AUTO_COMPLETE_VERTICES = 100_000


def _along(faces: Any, guide: Guide) -> Any:
    """For each face: whether an edge of it lies along the guide's lines."""
    rings, face_of_ring = shapely.get_rings(faces, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    middles = (coords[:-1][same] + coords[1:][same]) / 2
    found = np.zeros(len(faces), dtype=bool)
    if len(middles):
        _segment, distance = guide.nearest(middles)
        np.logical_or.at(found, face_of_ring[ring_of[:-1][same]][distance <= guide.tolerance], True)
    return found


def _auto_complete(get: Getter) -> dict[str, Any]:
    polygons = parse_geometries(get, "polygons")
    if answered_type(polygons.geometry_type) != POLYGON:
        raise invalid_parameter("polygons", "Expected polygons.")
    polylines = parse_geometries(get, "polylines")
    if polylines.geometry_type != POLYLINE:
        raise invalid_parameter("polylines", "Expected polylines.")
    spatial_reference(get, "sr", polygons.spatial_reference or polylines.spatial_reference)
    total = sum(map(vertices, polygons.shapes)) + sum(map(vertices, polylines.shapes))
    if total > MAX_AUTO_COMPLETE_VERTICES:
        raise invalid_parameter(
            "polylines", f"autoComplete takes at most {MAX_AUTO_COMPLETE_VERTICES:,} vertices."
        )
    lines = shapely.MultiLineString(
        [line for shape in polylines.shapes for line in shapely.get_parts(shape)]
    )
    if shapely.is_empty(lines):
        return {"geometries": []}
    areas = shapely.union_all([valid(s) for s in polygons.shapes])
    guide = Guide(lines, _tolerance(areas, lines))
    # the lines cross one another or the polygons' boundaries at most MAX_CROSSINGS times
    # (each segment meets itself and its neighbours besides)
    met = len(guide.tree.query(guide.tree.geometries, predicate="intersects")[0])
    if met > MAX_CROSSINGS + 3 * len(guide.starts):
        raise invalid_parameter("polylines", "The polylines cross one another too many times.")
    bounded_edits("polygons", [areas], guide)

    def compute() -> list[Any]:
        linework = shapely.node(
            shapely.MultiLineString(
                [*shapely.get_parts(lines), *shapely.get_parts(parts(shapely.boundary(areas), 1))]
            )
        )
        faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
        if not len(faces):
            return []
        shapely.prepare(areas)
        outside = ~shapely.within(shapely.point_on_surface(faces), areas)
        return list(faces[outside & _along(faces, guide)])

    faces = guarded("polylines", compute)
    return {"geometries": [geometry_json(f, POLYGON) for f in faces]}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "cut",
        _cut,
        "Polylines or polygons split where a polyline crosses them.",
        (("sr", "Spatial Reference"), ("target", "Target"), ("cutter", "Cutter")),
    ),
    Operation(
        "trimExtend",
        _trim_extend,
        "Polylines trimmed or extended to a guide polyline.",
        (
            ("sr", "Spatial Reference"),
            ("polylines", "Polylines"),
            ("trimExtendTo", "Trim/Extend To"),
            ("extendHow", "Extend How"),
        ),
    ),
    Operation(
        "autoComplete",
        _auto_complete,
        "The polygons polylines close with existing polygons.",
        (("sr", "Spatial Reference"), ("polygons", "Polygons"), ("polylines", "Polylines")),
    ),
)

__all__ = ["OPERATIONS", "Guide", "bounded_edits", "trim_extend"]
