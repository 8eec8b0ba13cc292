"""The GeometryServer's ``intersect``, ``difference`` and ``relation``: planar set
operations and spatial relations in the geometries' own spatial reference.

``intersect`` answers each geometry of ``geometries`` intersected with ``geometry``, as the
lower-dimensional of the two types (a polygon with a polyline gives polylines); ``difference``
each geometry less ``geometry``, as the input type. ``relation`` lists the pairs
``(geometry1Index, geometry2Index)`` that are in the relation, found among the candidate pairs
an STRtree gives (every pair only for relations that hold between disjoint shapes).

The relations, as ArcGIS defines them: Cross, Disjoint, Intersection, Overlap and Touch as
in DE-9IM; In (geometry 1 within geometry 2, interiors meeting), Within (geometry 1 covered
by geometry 2: a polyline along a polygon's boundary is within it), InteriorIntersection
(interiors meet), LineCoincidence (the boundaries of areas, or the lines, share a segment),
LineTouch and PointTouch (touching along a line, or only at points), and Relation
(``relationParam``, a 9-character DE-9IM pattern, bare or as ``RELATE(G1, G2, "...")``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from geosite.engines.geometry_server._common import (
    MULTIPOINT,
    POINT,
    Getter,
    Operation,
    geometry_json,
    parse_geometries,
    parse_geometry,
    spatial_reference,
)
from geosite.engines.geometry_server._shapes import (
    DIMENSION,
    answered_type,
    as_type,
    bounded_pairs,
    guarded,
    valid,
    vertices,
)
from geosite.errors import invalid_parameter

#: Pairs of shapes whose envelopes meet one ``relation`` may test.
MAX_PAIRS = 2_000_000
#: Pairs one ``relation`` may test when the relation may hold between far apart shapes.
MAX_ALL_PAIRS = 1_000_000
#: Pairs one ``relation`` may answer.
MAX_RELATIONS = 1_000_000

_PATTERN = re.compile(r"[TF*012]{9}")
_RELATE = re.compile(
    r"""\s*RELATE\s*\(\s*G1\s*,\s*G2\s*,\s*(["'])([TF*012]{9})\1\s*\)\s*""", re.IGNORECASE
)


def _overlaid(
    get: Getter, combine: Callable[[Any, Any], Any], kind_of: Callable[[str, str], str]
) -> dict[str, Any]:
    geometries = parse_geometries(get, "geometries")
    other = parse_geometry(get, "geometry", "geometryType")
    spatial_reference(get, "sr", geometries.spatial_reference or other.spatial_reference)
    kind = kind_of(answered_type(geometries.geometry_type), answered_type(other.geometry_type))
    one = valid(other.shapes[0])
    shapes = [valid(s) for s in geometries.shapes]
    near = shapely.intersects(
        shapely.envelope(np.array(shapes, dtype=object)), shapely.envelope(one)
    )
    bounded_pairs("geometries", int(near.sum()) * vertices(one) + sum(map(vertices, shapes)))
    shapely.prepare(one)
    answers = guarded(
        "geometries",
        lambda: [
            combine(s, one) if hit else combine(s, None)
            for s, hit in zip(shapes, near, strict=True)
        ],
    )
    return {"geometries": [geometry_json(as_type(s, kind), kind) for s in answers]}


def _lower(first: str, second: str) -> str:
    if DIMENSION[first] <= DIMENSION[second]:
        if DIMENSION[first] == 0:
            return POINT if POINT in (first, second) else MULTIPOINT
        return first
    if DIMENSION[second] == 0:
        return POINT if POINT in (first, second) else MULTIPOINT
    return second


def _intersect(get: Getter) -> dict[str, Any]:
    def combine(shape: Any, one: Any) -> Any:
        return shapely.Point() if one is None else shapely.intersection(shape, one)

    return _overlaid(get, combine, _lower)


def _difference(get: Getter) -> dict[str, Any]:
    def combine(shape: Any, one: Any) -> Any:
        return shape if one is None else shapely.difference(shape, one)

    return _overlaid(get, combine, lambda first, _second: first)


def _linework(shape: Any) -> Any:
    """The lines of a shape (an area's boundary); empty for points."""
    dimension = int(shapely.get_dimensions(shape))
    if dimension == 2:
        return shapely.boundary(shape)
    return shape if dimension == 1 else shapely.LineString()


def _matrix_test(test: Callable[[str], bool]) -> Callable[[Any, Any], Any]:
    def run(first: Any, second: Any) -> Any:
        matrices = shapely.relate(first, second)
        return np.array([test(str(m)) for m in matrices], dtype=bool)

    return run


def _line_coincidence(first: Any, second: Any) -> Any:
    one = np.array([_linework(s) for s in first], dtype=object)
    two = np.array([_linework(s) for s in second], dtype=object)
    return shapely.relate_pattern(one, two, "1********")


#: Each relation: its test on arrays of pairs, and whether it can hold between shapes whose
#: envelopes do not meet (then every pair is tested).
_RELATIONS: dict[str, tuple[Callable[[Any, Any], Any], bool]] = {
    "esriGeometryRelationCross": (shapely.crosses, False),
    "esriGeometryRelationDisjoint": (shapely.disjoint, True),
    "esriGeometryRelationIn": (shapely.within, False),
    "esriGeometryRelationInteriorIntersection": (
        lambda a, b: shapely.relate_pattern(a, b, "T********"),
        False,
    ),
    "esriGeometryRelationIntersection": (shapely.intersects, False),
    "esriGeometryRelationLineCoincidence": (_line_coincidence, False),
    "esriGeometryRelationLineTouch": (
        _matrix_test(lambda m: m[0] == "F" and "1" in (m[1], m[3], m[4])),
        False,
    ),
    "esriGeometryRelationOverlap": (shapely.overlaps, False),
    "esriGeometryRelationPointTouch": (
        _matrix_test(
            lambda m: m[0] == "F" and "0" in (m[1], m[3], m[4]) and "1" not in (m[1], m[3], m[4])
        ),
        False,
    ),
    "esriGeometryRelationTouch": (shapely.touches, False),
    "esriGeometryRelationWithin": (shapely.covered_by, False),
}


def relation_pattern(raw: str | None) -> str:
    """The DE-9IM pattern of ``relationParam``: ``T*F**F***`` or ``RELATE(G1, G2, "...")``."""
    if raw is None:
        raise invalid_parameter("relationParam", "esriGeometryRelationRelation needs it.")
    text = raw.strip()
    if _PATTERN.fullmatch(text.upper()):
        return text.upper()
    found = _RELATE.fullmatch(text)
    if found is None:
        raise invalid_parameter(
            "relationParam",
            'Expected a 9-character DE-9IM pattern of T, F, *, 0, 1, 2, or RELATE(G1, G2, "...").',
        )
    return found.group(2).upper()


def _relation_test(get: Getter) -> tuple[Callable[[Any, Any], Any], bool]:
    raw = get("relation")
    if raw is None:
        raise invalid_parameter("relation", "The parameter is required.")
    name = raw.strip()
    if name.lower() == "esrigeometryrelationrelation":
        pattern = relation_pattern(get("relationParam"))
        # Shapes whose envelopes do not meet have the matrix FF*FF****: a pattern that this
        # matches may hold for such pairs.
        everywhere = all(p in ("F", "*") for p in (pattern[0], pattern[1], pattern[3], pattern[4]))
        return (lambda a, b: shapely.relate_pattern(a, b, pattern)), everywhere
    for known, found in _RELATIONS.items():
        if name.lower() == known.lower():
            return found
    raise invalid_parameter(
        "relation", f"Unknown relation '{name[:60]}'; expected esriGeometryRelation<Name>."
    )


def _pairs(one: Any, two: Any, everywhere: bool) -> tuple[Any, Any]:
    if everywhere:
        if len(one) * len(two) > MAX_ALL_PAIRS:
            raise invalid_parameter(
                "geometries2", f"This relation tests every pair: at most {MAX_ALL_PAIRS:,} pairs."
            )
        left, right = np.divmod(np.arange(len(one) * len(two)), max(len(two), 1))
        return left, right
    left, right = shapely.STRtree(two).query(one)
    if len(left) > MAX_PAIRS:
        raise invalid_parameter("geometries2", f"More than {MAX_PAIRS:,} pairs of shapes meet.")
    return left, right


def _relation(get: Getter) -> dict[str, Any]:
    first = parse_geometries(get, "geometries1")
    second = parse_geometries(get, "geometries2")
    spatial_reference(get, "sr", first.spatial_reference or second.spatial_reference)
    test, everywhere = _relation_test(get)
    one = np.array([valid(s) for s in first.shapes], dtype=object)
    two = np.array([valid(s) for s in second.shapes], dtype=object)
    left, right = _pairs(one, two, everywhere)
    counts_one = shapely.get_num_coordinates(one) if len(one) else np.zeros(0, dtype=int)
    counts_two = shapely.get_num_coordinates(two) if len(two) else np.zeros(0, dtype=int)
    bounded_pairs("geometries2", int(counts_one[left].sum()) + int(counts_two[right].sum()))
    hits = (
        guarded("geometries1", lambda: np.asarray(test(one[left], two[right]), dtype=bool))
        if len(left)
        else np.zeros(0, dtype=bool)
    )
    found_left, found_right = left[hits], right[hits]
    if len(found_left) > MAX_RELATIONS:
        raise invalid_parameter("geometries2", f"More than {MAX_RELATIONS:,} pairs relate.")
    order = np.lexsort((found_right, found_left))
    return {
        "relations": [
            {"geometry1Index": int(i), "geometry2Index": int(j)}
            for i, j in zip(found_left[order], found_right[order], strict=True)
        ]
    }


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "intersect",
        _intersect,
        "Each geometry intersected with one geometry.",
        (("sr", "Spatial Reference"), ("geometries", "Geometries"), ("geometry", "Geometry")),
    ),
    Operation(
        "difference",
        _difference,
        "Each geometry less one geometry.",
        (("sr", "Spatial Reference"), ("geometries", "Geometries"), ("geometry", "Geometry")),
    ),
    Operation(
        "relation",
        _relation,
        "The pairs of geometries in a spatial relation.",
        (
            ("sr", "Spatial Reference"),
            ("geometries1", "Geometries 1"),
            ("geometries2", "Geometries 2"),
            ("relation", "Spatial Relationship"),
            ("relationParam", "Relation Parameter"),
        ),
    ),
)

__all__ = ["OPERATIONS", "relation_pattern"]
