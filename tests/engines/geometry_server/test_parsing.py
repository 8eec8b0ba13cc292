"""The vectorised reading and writing of geometries (points, single-ring polygons, and the
answers of project) give exactly what reading and writing one geometry at a time gives."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import shapely

from geosite.engines.geometry_server._common import (
    MAX_VERTICES,
    geometries_json,
    geometry_json,
    parse_geometries,
    shape_of,
)
from tests.engines.geometry_server._run import refused, run

random.seed(17)
POINTS = [{"x": random.uniform(-170, 170), "y": random.uniform(-80, 80)} for _ in range(500)]
SQUARE = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]
POLYGONS: list[dict[str, Any]] = [
    {"rings": [SQUARE]},
    {"rings": [SQUARE[::-1]]},  # counter-clockwise alone: still a shell
    {"rings": [[[0, 0], [0, 1], [1, 1]]]},  # not closed
    {"rings": [[[0, 0, 5], [0, 1, 5], [1, 1, 5], [0, 0, 5]]]},  # with z
    {"rings": [[["0", "0"], ["0", "2"], ["2", "2"], ["0", "0"]]]},  # numbers as text
    {"rings": [[[0, 0], [1, 1], [0, 0]]]},  # degenerate, taken as before
]
HOLED = {"rings": [[[0, 0], [0, 4], [4, 4], [4, 0], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]}
LINES = [{"paths": [[[0, 0], [1, 1]], [[2, 2], [3, 3], [4, 2]]]}, {"paths": [[[5, 5], [6, 6]]]}]


def _parsed(kind: str, items: list[Any]) -> list[Any]:
    text = json.dumps({"geometryType": kind, "geometries": items})
    return parse_geometries({"geometries": text}.get).shapes


def _same(kind: str, items: list[Any]) -> None:
    together = _parsed(kind, items)
    alone = [shape_of(item, kind, "geometries") for item in items]
    assert len(together) == len(alone)
    for a, b in zip(together, alone, strict=True):
        assert shapely.to_wkb(a) == shapely.to_wkb(b)
    assert geometries_json(together, kind) == [geometry_json(s, kind) for s in alone]


def test_vectorised_parsing_equals_one_at_a_time() -> None:
    _same("esriGeometryPoint", POINTS)
    _same("esriGeometryPolygon", POLYGONS)
    _same("esriGeometryPolygon", [*POLYGONS, HOLED])  # one with two rings: one at a time
    _same("esriGeometryPolyline", LINES)
    _same("esriGeometryMultipoint", [{"points": [[1, 2], [3, 4]]}])


def test_vectorised_answers_equal_one_at_a_time() -> None:
    multi = shapely.MultiPolygon(
        [shapely.box(0, 0, 1, 1), shapely.Polygon([(5, 5), (9, 5), (9, 9), (5, 5)])]
    )
    holed = shapely.box(0, 0, 4, 4).difference(shapely.box(1, 1, 2, 2))
    for kind, shapes in (
        ("esriGeometryPolygon", [multi, holed, shapely.box(0, 0, 1, 1)]),
        ("esriGeometryPolygon", [multi, shapely.Polygon()]),  # an empty one: one at a time
        (
            "esriGeometryPolyline",
            [shapely.LineString([(0, 0), (1, 1)]), *_parsed("esriGeometryPolyline", LINES)],
        ),
        ("esriGeometryPoint", [shapely.Point(1, 2), shapely.Point()]),
        ("esriGeometryPoint", [shapely.Point(1, 2), shapely.Point(float("inf"), 0)]),
    ):
        assert geometries_json(shapes, kind) == [geometry_json(s, kind) for s in shapes]


def test_bad_geometries_are_still_refused_naming_the_parameter() -> None:
    for kind, items in (
        ("esriGeometryPoint", [{"x": 1, "y": 2}, {"x": None, "y": 2}]),
        ("esriGeometryPoint", [{"x": 1, "y": 2}, [1, 2]]),
        ("esriGeometryPoint", [{"x": 1, "y": "NaN"}]),
        ("esriGeometryPolygon", [{"rings": [SQUARE]}, {"rings": [[[0, 0], [1, 1]]]}]),
        ("esriGeometryPolygon", [{"rings": [[[0, 0], [0, 1], ["x", 1]]]}]),
    ):
        refused(
            "project",
            {
                "geometries": {"geometryType": kind, "geometries": items},
                "inSR": 4326,
                "outSR": 3857,
            },
            "geometries",
        )


def test_the_vertex_budget_is_counted_once() -> None:
    """A request just under the limit, with single-ring polygons and one of two rings (read
    one at a time after the vectorised attempt), is not refused for counting twice."""
    ring = [[0, y / 10] for y in range(10)] + [[1, y / 10] for y in range(9, -1, -1)]
    ring.append(ring[0])  # 21 vertices
    count = MAX_VERTICES // 21 - 1
    items: list[Any] = [{"rings": [ring]}] * count + [HOLED]
    assert len(_parsed("esriGeometryPolygon", items)) == count + 1


def test_ten_thousand_points_are_read_and_projected_quickly() -> None:
    points = {"geometryType": "esriGeometryPoint", "geometries": POINTS * 20}
    started = time.perf_counter()
    answer = run("project", geometries=points, inSR=4326, outSR=3857)
    assert len(answer["geometries"]) == 10_000
    assert time.perf_counter() - started < 2.0  # some 30 ms; one at a time it took 0.35 s
