"""Helpers of the topological operations (``topology``, ``overlay``, ``editing_ops``): input
shapes made valid, results cast to the Esri geometry type the answer carries, and the bound
on pairwise work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from geosite.engines.geometry_server._common import (
    ENVELOPE,
    MULTIPOINT,
    POINT,
    POLYGON,
    POLYLINE,
    Geometries,
    Getter,
    spatial_reference,
)
from geosite.errors import InvalidParameter, invalid_parameter

#: Vertex-pairs one request may overlay (each input against the other geometry).
MAX_PAIR_WORK = 20_000_000

DIMENSION = {POINT: 0, MULTIPOINT: 0, POLYLINE: 1, POLYGON: 2, ENVELOPE: 2}


def answered_type(geometry_type: str) -> str:
    """The type an answer gives for an input type (envelopes become polygons)."""
    return POLYGON if geometry_type == ENVELOPE else geometry_type


def valid(shape: Any) -> Any:
    """``shape`` with its invalid polygons made valid (areas only), so overlays succeed."""
    if shapely.is_empty(shape) or shapely.get_type_id(shape) not in (3, 6):
        return shape
    if shapely.is_valid(shape):
        return shape
    return parts(shapely.make_valid(shape), 2)


def parts(shape: Any, dimension: int) -> Any:
    """The parts of ``shape`` of ``dimension`` (0 points, 1 lines, 2 areas), as one
    MultiPoint, MultiLineString or MultiPolygon (empty when there are none)."""
    found = [p for p in shapely.get_parts(_flat(shape)) if shapely.get_dimensions(p) == dimension]
    if dimension == 0:
        return shapely.MultiPoint(shapely.get_coordinates(np.array(found, dtype=object)))
    if dimension == 1:
        lines = [line for p in found for line in shapely.get_parts(p) if not line.is_empty]
        return shapely.MultiLineString(lines)
    polygons = [poly for p in found for poly in shapely.get_parts(p) if not poly.is_empty]
    return shapely.MultiPolygon(polygons)


def _flat(shape: Any) -> Any:
    """A GeometryCollection's members flattened one level into their simple parts."""
    if shapely.get_type_id(shape) != 7:
        return shape
    return shapely.GeometryCollection(
        [q for p in shapely.get_parts(shape) for q in shapely.get_parts(_flat(p))]
    )


def as_type(shape: Any, geometry_type: str) -> Any:
    """``shape``'s parts of ``geometry_type``'s dimension, as that type's shapely geometry."""
    kind = answered_type(geometry_type)
    found = parts(shape, DIMENSION[kind])
    if kind == POINT:
        points = shapely.get_parts(found)
        return points[0] if len(points) else shapely.Point()
    return found


def vertices(shape: Any) -> int:
    """The number of vertices of ``shape``."""
    return int(shapely.get_num_coordinates(shape))


def checked_sr(get: Getter, geometries: Geometries, name: str = "sr") -> None:
    """Reads (and so validates) the optional spatial reference ``name``: a topological
    operation works in the geometries' own plane whatever it is."""
    spatial_reference(get, name, geometries.spatial_reference)


def guarded(parameter: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, with shapely's refusals of a shape as a 400 naming ``parameter``."""
    try:
        with np.errstate(all="ignore"):  # coordinates too large overflow: not finite, dropped
            return compute()
    except InvalidParameter:
        raise
    except (shapely.errors.GEOSException, ValueError):
        raise invalid_parameter(parameter, "The geometries could not be processed.") from None


def bounded_pairs(parameter: str, work: int) -> None:
    """A 400 when the pairwise overlay work ``work`` (vertex pairs) is too large."""
    if work > MAX_PAIR_WORK:
        raise invalid_parameter(
            parameter,
            f"Comparing these geometries is more than one request may do "
            f"({work:,} vertex pairs; at most {MAX_PAIR_WORK:,}).",
        )
