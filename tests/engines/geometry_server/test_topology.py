"""simplify, union, convexHull, labelPoints, offset, intersect, difference and relation,
checked against shapely computed here, with their answer shapes and bad inputs."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pytest
import shapely

from geosite.engines.features import esri_geometry
from geosite.engines.geometry_server._common import POLYGON, POLYLINE, shape_of
from geosite.errors import InvalidParameter
from tests.engines.geometry_server._run import refused, run


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"rings": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


def polygons(*items: dict[str, Any]) -> dict[str, Any]:
    return {"geometryType": POLYGON, "geometries": list(items)}


def lines(*paths: list[list[float]]) -> dict[str, Any]:
    return {"geometryType": POLYLINE, "geometries": [{"paths": [p]} for p in paths]}


def shape(answer: dict[str, Any], kind: str) -> Any:
    if kind == POLYGON and len(answer["rings"]) > 1:  # each ring flips what it covers
        rings = [shapely.Polygon(r) for r in answer["rings"]]
        return functools.reduce(shapely.symmetric_difference, rings, shapely.Polygon())
    return shape_of(answer, kind, "test")


BOW = {"rings": [[[0, 0], [0, 10], [10, 0], [10, 10], [0, 0]]]}
DONUT = {
    "rings": [
        [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
        [[3, 3], [7, 3], [7, 7], [3, 7], [3, 3]],
    ]
}
A, B, C = square(0, 0, 2, 2), square(1, 1, 3, 3), square(5, 5, 6, 6)


def test_simplify_makes_polygons_valid_keeping_areas() -> None:
    answer = run("simplify", sr=4326, geometries=polygons(BOW, DONUT, A))
    assert set(answer) == {"geometries"}
    got = [shape(g, POLYGON) for g in answer["geometries"]]
    assert all(shapely.is_valid(g) for g in got)
    assert got[0].area == pytest.approx(50.0)
    expected = shapely.make_valid(shapely.Polygon(BOW["rings"][0]))
    assert shapely.equals(got[0], expected)
    assert got[1].area == pytest.approx(84.0)
    assert shapely.equals(got[2], shapely.box(0, 0, 2, 2))
    # rings clockwise outside, as ArcGIS's
    assert not shapely.is_ccw(shapely.LinearRing(answer["geometries"][2]["rings"][0]))


def test_simplify_nodes_polylines_and_drops_duplicates() -> None:
    cross = {"paths": [[[0, 0], [0, 0], [10, 10]], [[0, 10], [10, 0]]]}
    answer = run("simplify", geometries={"geometryType": POLYLINE, "geometries": [cross]})
    got = shape(answer["geometries"][0], POLYLINE)
    assert len(answer["geometries"][0]["paths"]) == 4
    assert got.length == pytest.approx(2 * 200**0.5)
    assert shapely.equals(got, shapely.node(shape(cross, POLYLINE)))
    points = {
        "geometryType": "esriGeometryMultipoint",
        "geometries": [{"points": [[1, 1], [1, 1], [2, 2]]}],
    }
    assert run("simplify", geometries=points)["geometries"] == [
        {"points": [[1.0, 1.0], [2.0, 2.0]]}
    ]


@pytest.mark.parametrize(
    ("items", "kind", "area"),
    [
        ([A, B], POLYGON, 7.0),
        ([A, C], POLYGON, 5.0),
        ([DONUT, square(4, 4, 6, 6)], POLYGON, 88.0),
        ([BOW], POLYGON, 50.0),
    ],
)
def test_union_of_polygons(items: list[dict[str, Any]], kind: str, area: float) -> None:
    answer = run("union", sr=3857, geometries=polygons(*items))
    assert answer["geometryType"] == kind
    got = shape(answer["geometry"], kind)
    assert got.area == pytest.approx(area)
    expected = shapely.union_all([shapely.make_valid(shape(i, POLYGON)) for i in items])
    assert shapely.equals(got, expected)


def test_union_of_points_and_lines() -> None:
    points = {
        "geometryType": "esriGeometryPoint",
        "geometries": [{"x": 1, "y": 1}, {"x": 2, "y": 2}],
    }
    assert run("union", geometries=points) == {
        "geometryType": "esriGeometryMultipoint",
        "geometry": {"points": [[1.0, 1.0], [2.0, 2.0]]},
    }
    answer = run("union", geometries=lines([[0, 0], [2, 0]], [[1, 0], [3, 0]]))
    assert answer["geometryType"] == POLYLINE
    assert shape(answer["geometry"], POLYLINE).length == pytest.approx(3.0)


def test_convex_hull() -> None:
    answer = run("convexHull", geometries=polygons(A, C, BOW))
    expected = shapely.convex_hull(
        shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(5, 5, 6, 6)]).union(
            shapely.box(0, 0, 10, 10)
        )
    )
    assert answer["geometryType"] == POLYGON
    assert shapely.equals(shape(answer["geometry"], POLYGON), expected)
    two = {"geometryType": "esriGeometryPoint", "geometries": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}
    assert run("convexHull", geometries=two)["geometryType"] == POLYLINE
    one = {"geometryType": "esriGeometryPoint", "geometries": [{"x": 4, "y": 5}]}
    assert run("convexHull", geometries=one)["geometry"] == {"x": 4.0, "y": 5.0}


def test_label_points_lie_inside() -> None:
    answer = run("labelPoints", sr=4326, polygons=[A, DONUT, BOW, {"rings": []}])
    points = answer["labelPoints"]
    assert len(points) == 4
    for item, point in zip([A, DONUT, BOW], points, strict=False):
        area = shapely.make_valid(shape(item, POLYGON))
        assert shapely.contains(area, shapely.Point(point["x"], point["y"]))
    assert points[3] == {"x": "NaN", "y": "NaN"}


@pytest.mark.parametrize(
    ("how", "join"),
    [
        ("esriGeometryOffsetRounded", "round"),
        ("esriGeometryOffsetBevelled", "bevel"),
        ("esriGeometryOffsetMitered", "mitre"),
    ],
)
def test_offset_is_to_the_right(how: str, join: str) -> None:
    path = [[0, 0], [10, 0], [10, 10]]
    answer = run("offset", sr=3857, geometries=lines(path), offsetDistance="2", offsetHow=how)
    got = shape(answer["geometries"][0], POLYLINE)
    expected = shapely.offset_curve(
        shapely.LineString(path), -2, join_style=join, mitre_limit=10 if join == "mitre" else 1.1
    )
    assert shapely.equals(got, expected)
    assert got.bounds[1] == pytest.approx(-2.0)  # right of an eastward line is south
    shrunk = run(
        "offset",
        sr=3857,
        geometries=polygons(square(0, 0, 10, 10)),
        offsetDistance="1",
        offsetHow=how,
    )
    assert shape(shrunk["geometries"][0], POLYGON).area == pytest.approx(64.0)
    grown = run(
        "offset",
        sr=3857,
        geometries=polygons(square(0, 0, 10, 10)),
        offsetDistance="-1",
        offsetHow=how,
    )
    assert shape(grown["geometries"][0], POLYGON).area > 100.0


def test_offset_in_another_unit() -> None:
    answer = run(
        "offset",
        sr=3857,
        geometries=lines([[0, 0], [10000, 0]]),
        offsetDistance="1",
        offsetUnit="esriSRUnit_Kilometer",
    )
    assert shape(answer["geometries"][0], POLYLINE).bounds[1] == pytest.approx(-1000.0)
    answer = run(
        "offset",
        sr=3857,
        geometries=lines([[0, 0], [10000, 0]]),
        offsetDistance="1",
        offsetUnit="9036",
    )
    assert shape(answer["geometries"][0], POLYLINE).bounds[1] == pytest.approx(-1000.0)


INTERSECT_CASES = [
    (polygons(A, C), {"geometryType": POLYGON, "geometry": B}, POLYGON, [1.0, 0.0]),
    (
        polygons(A, C),
        {"geometryType": POLYLINE, "geometry": {"paths": [[[-1, 1], [3, 1]]]}},
        POLYLINE,
        [2.0, 0.0],
    ),
    (lines([[-1, 1], [3, 1]]), {"geometryType": POLYGON, "geometry": A}, POLYLINE, [2.0]),
    (
        polygons(A),
        {"geometryType": "esriGeometryPoint", "geometry": {"x": 1, "y": 1}},
        "esriGeometryPoint",
        [0.0],
    ),
    (
        polygons(DONUT),
        {
            "geometryType": "esriGeometryEnvelope",
            "geometry": {"xmin": 0, "ymin": 0, "xmax": 5, "ymax": 5},
        },
        POLYGON,
        [21.0],
    ),
]


@pytest.mark.parametrize(("geometries", "geometry", "kind", "measures"), INTERSECT_CASES)
def test_intersect(
    geometries: dict[str, Any], geometry: dict[str, Any], kind: str, measures: list[float]
) -> None:
    answer = run("intersect", sr=3857, geometries=geometries, geometry=geometry)
    assert set(answer) == {"geometries"}
    other = shape(geometry["geometry"], geometry["geometryType"])
    for item, got_json, measure in zip(
        geometries["geometries"], answer["geometries"], measures, strict=True
    ):
        got = (
            shape(got_json, kind)
            if "x" not in got_json
            else shapely.Point(got_json["x"], got_json["y"])
        )
        expected = shapely.intersection(shape(item, geometries["geometryType"]), other)
        assert shapely.equals(got, expected) or (got.is_empty and expected.is_empty)
        assert (got.area if kind == POLYGON else got.length) == pytest.approx(measure)


def test_intersect_empty_answers_and_points() -> None:
    answer = run(
        "intersect",
        geometries=polygons(C),
        geometry={"geometryType": "esriGeometryPoint", "geometry": {"x": 1, "y": 1}},
    )
    assert answer == {"geometries": [{"x": "NaN", "y": "NaN"}]}
    answer = run(
        "intersect", geometries=polygons(C), geometry={"geometryType": POLYGON, "geometry": A}
    )
    assert answer == {"geometries": [{"rings": []}]}


@pytest.mark.parametrize(
    ("item", "other", "area"),
    [(A, B, 3.0), (C, B, 1.0), (DONUT, square(0, 0, 5, 10), 42.0), (B, A, 3.0)],
)
def test_difference(item: dict[str, Any], other: dict[str, Any], area: float) -> None:
    answer = run(
        "difference",
        sr=3857,
        geometries=polygons(item),
        geometry={"geometryType": POLYGON, "geometry": other},
    )
    got = shape(answer["geometries"][0], POLYGON)
    expected = shapely.difference(shape(item, POLYGON), shape(other, POLYGON))
    assert shapely.equals(got, expected)
    assert got.area == pytest.approx(area)


def test_difference_keeps_the_input_type() -> None:
    answer = run(
        "difference",
        geometries=lines([[-1, 1], [3, 1]]),
        geometry={"geometryType": POLYGON, "geometry": A},
    )
    got = shape(answer["geometries"][0], POLYLINE)
    assert got.length == pytest.approx(2.0)
    answer = run(
        "difference",
        geometries=polygons(A),
        geometry={"geometryType": POLYLINE, "geometry": {"paths": [[[-1, 1], [3, 1]]]}},
    )
    assert shape(answer["geometries"][0], POLYGON).area == pytest.approx(4.0)


BIG = square(0, 0, 10, 10)
EDGE = {"paths": [[[0, 0], [0, 10]]]}
RELATION_CASES = [
    ("esriGeometryRelationIntersection", polygons(A, C, B), polygons(B), [(0, 0), (2, 0)]),
    (
        "esriGeometryRelationDisjoint",
        polygons(A, C),
        polygons(B, square(20, 20, 21, 21)),
        [(0, 1), (1, 0), (1, 1)],
    ),
    ("esriGeometryRelationOverlap", polygons(A, C), polygons(B), [(0, 0)]),
    (
        "esriGeometryRelationTouch",
        polygons(A),
        polygons(square(2, 0, 4, 2), square(2, 2, 4, 4), B),
        [(0, 0), (0, 1)],
    ),
    (
        "esriGeometryRelationLineTouch",
        polygons(A),
        polygons(square(2, 0, 4, 2), square(2, 2, 4, 4)),
        [(0, 0)],
    ),
    (
        "esriGeometryRelationPointTouch",
        polygons(A),
        polygons(square(2, 0, 4, 2), square(2, 2, 4, 4)),
        [(0, 1)],
    ),
    (
        "esriGeometryRelationIn",
        {"geometryType": POLYLINE, "geometries": [EDGE, {"paths": [[[1, 1], [2, 2]]]}]},
        polygons(BIG),
        [(1, 0)],
    ),
    (
        "esriGeometryRelationWithin",
        {"geometryType": POLYLINE, "geometries": [EDGE, {"paths": [[[1, 1], [2, 2]]]}]},
        polygons(BIG),
        [(0, 0), (1, 0)],
    ),
    (
        "esriGeometryRelationCross",
        lines([[-1, 5], [5, 5]], [[1, 1], [2, 2]]),
        polygons(BIG),
        [(0, 0)],
    ),
    (
        "esriGeometryRelationInteriorIntersection",
        polygons(A, square(3, 1, 5, 2)),
        polygons(B),
        [(0, 0)],
    ),
    (
        "esriGeometryRelationLineCoincidence",
        polygons(A, C),
        polygons(square(2, 0, 4, 2)),
        [(0, 0)],
    ),
]


@pytest.mark.parametrize(("relation", "first", "second", "pairs"), RELATION_CASES)
def test_relation(
    relation: str, first: dict[str, Any], second: dict[str, Any], pairs: list[tuple[int, int]]
) -> None:
    answer = run("relation", sr=4326, geometries1=first, geometries2=second, relation=relation)
    got = [(r["geometry1Index"], r["geometry2Index"]) for r in answer["relations"]]
    assert got == pairs


@pytest.mark.parametrize(
    ("param", "pattern"),
    [
        ('RELATE(G1, G2, "T********")', "T********"),
        ("RELATE(G1,G2,'FF*FF****')", "FF*FF****"),
        ("T*F**F***", "T*F**F***"),
        ("2********", "2********"),
    ],
)
def test_relation_param_matches_shapely(param: str, pattern: str) -> None:
    first, second = polygons(A, C, BIG), polygons(B, C)
    answer = run(
        "relation",
        geometries1=first,
        geometries2=second,
        relation="esriGeometryRelationRelation",
        relationParam=param,
    )
    got = [(r["geometry1Index"], r["geometry2Index"]) for r in answer["relations"]]
    expected = [
        (i, j)
        for i, a in enumerate(first["geometries"])
        for j, b in enumerate(second["geometries"])
        if shapely.relate_pattern(shape(a, POLYGON), shape(b, POLYGON), pattern)
    ]
    assert got == expected


BAD = [
    ("simplify", {"geometries": "nonsense{"}, "geometries"),
    ("simplify", {"geometries": polygons(A), "sr": "123456789"}, "sr"),
    ("union", {}, "geometries"),
    (
        "union",
        {"geometries": {"geometryType": "esriGeometryBogus", "geometries": []}},
        "geometries",
    ),
    ("labelPoints", {"polygons": lines([[0, 0], [1, 1]])}, "polygons"),
    ("offset", {"geometries": lines([[0, 0], [1, 1]])}, "offsetDistance"),
    ("offset", {"geometries": lines([[0, 0], [1, 1]]), "offsetDistance": "NaN"}, "offsetDistance"),
    (
        "offset",
        {"geometries": lines([[0, 0], [1, 1]]), "offsetDistance": "1e30", "sr": "3857"},
        "offsetDistance",
    ),
    (
        "offset",
        {
            "geometries": lines([[0, 0], [1, 1]]),
            "offsetDistance": "1",
            "offsetHow": "esriGeometryOffsetWobbly",
        },
        "offsetHow",
    ),
    (
        "offset",
        {
            "geometries": lines([[0, 0], [1, 1]]),
            "offsetDistance": "1",
            "offsetUnit": "esriSRUnit_Meter",
        },
        "sr",
    ),
    (
        "offset",
        {
            "geometries": lines([[0, 0], [1, 1]]),
            "offsetDistance": "1",
            "offsetUnit": "furlongs",
            "sr": "3857",
        },
        "offsetUnit",
    ),
    (
        "offset",
        {"geometries": lines([[0, 0], [1, 1]]), "offsetDistance": "1", "bevelRatio": "-1"},
        "bevelRatio",
    ),
    (
        "offset",
        {
            "geometries": {"geometryType": "esriGeometryPoint", "geometries": [{"x": 1, "y": 1}]},
            "offsetDistance": "1",
        },
        "geometries",
    ),
    ("intersect", {"geometries": polygons(A)}, "geometry"),
    (
        "intersect",
        {
            "geometries": polygons(A),
            "geometry": {
                "geometryType": POLYGON,
                "geometry": {"rings": [[[0, 0], [1, "x"], [1, 1]]]},
            },
        },
        "geometry",
    ),
    ("difference", {"geometry": {"geometryType": POLYGON, "geometry": A}}, "geometries"),
    ("relation", {"geometries1": polygons(A), "geometries2": polygons(B)}, "relation"),
    (
        "relation",
        {
            "geometries1": polygons(A),
            "geometries2": polygons(B),
            "relation": "esriGeometryRelationNear",
        },
        "relation",
    ),
    (
        "relation",
        {
            "geometries1": polygons(A),
            "geometries2": polygons(B),
            "relation": "esriGeometryRelationRelation",
        },
        "relationParam",
    ),
    (
        "relation",
        {
            "geometries1": polygons(A),
            "geometries2": polygons(B),
            "relation": "esriGeometryRelationRelation",
            "relationParam": "TTTT",
        },
        "relationParam",
    ),
    (
        "relation",
        {
            "geometries1": polygons(A),
            "geometries2": polygons(B),
            "relation": "esriGeometryRelationRelation",
            "relationParam": 'RELATE(G1, G2, "X********")',
        },
        "relationParam",
    ),
    (
        "relation",
        {"geometries1": polygons(A), "relation": "esriGeometryRelationTouch"},
        "geometries2",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)


def test_relation_refuses_too_many_pairs() -> None:
    points = ",".join(f"{i},{i}" for i in range(1001))
    with pytest.raises(InvalidParameter):
        run(
            "relation",
            geometries1=points,
            geometries2=points,
            relation="esriGeometryRelationDisjoint",
        )
    # a relation that needs the envelopes to meet tests only the candidate pairs
    answer = run(
        "relation",
        geometries1=points,
        geometries2=points,
        relation="esriGeometryRelationIntersection",
    )
    assert len(answer["relations"]) == 1001


def test_answers_are_esri_json() -> None:
    answer = run("union", geometries=polygons(A, B))
    expected = esri_geometry(shapely.union_all([shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)]))
    assert shapely.equals(shape(answer["geometry"], POLYGON), shape(expected, POLYGON))


HUGE = square(0, 0, 1e300, 1e300)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("convexHull", {"geometries": polygons(HUGE, A)}),
        ("union", {"geometries": polygons(HUGE, A)}),
        ("simplify", {"geometries": polygons(HUGE)}),
        ("labelPoints", {"polygons": [HUGE]}),
        (
            "intersect",
            {"geometries": polygons(HUGE), "geometry": {"geometryType": POLYGON, "geometry": B}},
        ),
        (
            "difference",
            {"geometries": polygons(A), "geometry": {"geometryType": POLYGON, "geometry": HUGE}},
        ),
        (
            "relation",
            {
                "geometries1": polygons(HUGE),
                "geometries2": polygons(A),
                "relation": "esriGeometryRelationLineTouch",
            },
        ),
        ("offset", {"geometries": polygons(HUGE), "offsetDistance": "1"}),
    ],
)
def test_huge_coordinates_answer_json_or_a_400(name: str, params: dict[str, Any]) -> None:
    with contextlib.suppress(InvalidParameter):
        run(name, **params)  # valid JSON, no warning (warnings are errors in the tests)
