"""The GeometryServer's ``reshape``: a polyline or polygon takes the shape of the reshaper
polyline from the first place the reshaper meets it to the last (in the reshaper's order).

A polyline keeps its vertices before and after the two places, the reshaper's between them
replacing its own. A polygon's ring through the two places is replaced by the larger of the
two rings the reshaper closes with it (a reshaper outside adds area, one inside cuts off the
smaller side), keeping the polygon's holes and other parts. A reshaper that meets the target
fewer than twice (or one ring or path only once) cannot reshape it: a 400, as ArcGIS
answers an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
import shapely.ops

from geosite.engines.geometry_server._common import (
    POLYGON,
    POLYLINE,
    Getter,
    Operation,
    geometry_json,
    parse_geometry,
    spatial_reference,
)
from geosite.engines.geometry_server._shapes import answered_type, guarded, parts, valid
from geosite.errors import invalid_parameter


def _reshaper(get: Getter) -> Any:
    found = parse_geometry(get, "reshaper")
    if found.geometry_type != POLYLINE:
        raise invalid_parameter("reshaper", "Expected a polyline.")
    paths = shapely.get_parts(found.shapes[0])
    if len(paths) != 1:
        raise invalid_parameter("reshaper", "Expected a polyline of one path.")
    return paths[0]


def _places(reshaper: Any, line: Any) -> tuple[float, float] | None:
    """Where, along ``reshaper``, it first and last meets ``line`` (None unless at two
    places)."""
    met = shapely.get_coordinates(shapely.intersection(reshaper, line))
    if len(met) < 2:
        return None
    along = shapely.line_locate_point(reshaper, shapely.points(met))
    first, last = float(along.min()), float(along.max())
    return (first, last) if last > first else None


def _section(line: Any, start: float, end: float) -> Any:
    """The coordinates of ``line`` from ``start`` to ``end`` along it (n by 2)."""
    return shapely.get_coordinates(shapely.ops.substring(line, start, end))


def _reshaped_path(path: Any, reshaper: Any, first: float, last: float) -> Any:
    section = _section(reshaper, first, last)
    start_at = float(shapely.line_locate_point(path, shapely.Point(section[0])))
    end_at = float(shapely.line_locate_point(path, shapely.Point(section[-1])))
    if start_at > end_at:
        section, start_at, end_at = section[::-1], end_at, start_at
    head = _section(path, 0.0, start_at)[:-1]
    tail = _section(path, end_at, float(path.length))[1:]
    return shapely.LineString(np.vstack([head, section, tail]))


def _reshape_polyline(target: Any, reshaper: Any) -> Any:
    paths = list(shapely.get_parts(target))
    for index, path in enumerate(paths):
        places = _places(reshaper, path)
        if places is not None:
            paths[index] = _reshaped_path(path, reshaper, *places)
            return shapely.MultiLineString(paths)
    return None


def _arc(ring: Any, start: float, end: float) -> Any:
    """The coordinates of ``ring`` going forward from ``start`` to ``end`` along it."""
    if start <= end:
        return _section(ring, start, end)
    return np.vstack([_section(ring, start, ring.length), _section(ring, 0.0, end)[1:]])


def _reshaped_shell(shell: Any, reshaper: Any, first: float, last: float) -> Any:
    ring = shapely.LineString(shapely.get_coordinates(shell))
    section = _section(reshaper, first, last)
    at_first = float(shapely.line_locate_point(ring, shapely.Point(section[0])))
    at_last = float(shapely.line_locate_point(ring, shapely.Point(section[-1])))
    candidates = [
        np.vstack([section, _arc(ring, at_last, at_first)[1:]]),
        np.vstack([section, _arc(ring, at_first, at_last)[::-1][1:]]),
    ]
    shapes = [parts(shapely.make_valid(shapely.Polygon(c)), 2) for c in candidates if len(c) >= 4]
    return max(shapes, key=shapely.area) if shapes else None


def _reshape_polygon(target: Any, reshaper: Any) -> Any:
    polygons = list(shapely.get_parts(target))
    for index, polygon in enumerate(polygons):
        places = _places(reshaper, polygon.exterior)
        if places is None:
            continue
        shell = _reshaped_shell(polygon.exterior, reshaper, *places)
        if shell is None:
            return None
        holes = [shapely.Polygon(h) for h in polygon.interiors]
        polygons[index] = shapely.difference(shell, shapely.union_all(holes)) if holes else shell
        return parts(shapely.union_all(polygons), 2)
    return None


def _reshape(get: Getter) -> dict[str, Any]:
    found = parse_geometry(get, "target")
    kind = answered_type(found.geometry_type)
    if kind not in (POLYLINE, POLYGON):
        raise invalid_parameter("target", "Only a polyline or a polygon can be reshaped.")
    reshaper = _reshaper(get)
    spatial_reference(get, "sr", found.spatial_reference)
    target = valid(found.shapes[0])
    how = _reshape_polygon if kind == POLYGON else _reshape_polyline
    reshaped = guarded("target", lambda: how(target, reshaper))
    if reshaped is None:
        raise invalid_parameter(
            "reshaper", "The reshaper must meet the target's path or ring at two places."
        )
    return {"geometry": geometry_json(reshaped, kind)}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "reshape",
        _reshape,
        "A polyline or polygon reshaped along a polyline.",
        (("sr", "Spatial Reference"), ("target", "Target"), ("reshaper", "Reshaper")),
    ),
)

__all__ = ["OPERATIONS"]
