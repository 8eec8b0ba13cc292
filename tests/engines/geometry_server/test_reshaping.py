"""reshape, checked against shapes built here with shapely, and its bad inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely

from geosite.engines.geometry_server import reshaping
from geosite.engines.geometry_server._common import POLYGON, POLYLINE, shape_of
from tests.engines.geometry_server._run import refused

(RESHAPE,) = reshaping.OPERATIONS


def run(**params: Any) -> dict[str, Any]:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    answer = RESHAPE.run(lambda n: raw.get(n))
    json.dumps(answer, allow_nan=False)
    return answer


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"rings": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


def path(*xy: tuple[float, float]) -> dict[str, Any]:
    return {"paths": [[list(p) for p in xy]]}


BUMP = path((1, 1), (1, 3), (3, 3), (3, 1))


@pytest.mark.parametrize(
    ("target", "reshaper", "expected"),
    [
        # a reshaper outside adds area
        (square(0, 0, 4, 2), BUMP, shapely.box(0, 0, 4, 2).union(shapely.box(1, 2, 3, 3))),
        # one inside cuts off the smaller side
        (
            square(0, 0, 4, 4),
            path((1, 5), (1, 3), (3, 3), (3, 5)),
            shapely.box(0, 0, 4, 4).difference(shapely.box(1, 3, 3, 4)),
        ),
        (
            square(0, 0, 4, 4),
            path((-1, 1), (5, 1)),
            shapely.box(0, 1, 4, 4),
        ),
        # the holes stay
        (
            {"rings": [*square(0, 0, 10, 4)["rings"], [[6, 1], [8, 1], [8, 3], [6, 3], [6, 1]]]},
            path((1, 1), (1, 6), (3, 6), (3, 1)),
            shapely.Polygon(
                [(0, 0), (0, 4), (1, 4), (1, 6), (3, 6), (3, 4), (10, 4), (10, 0)],
                [[(6, 1), (8, 1), (8, 3), (6, 3)]],
            ),
        ),
    ],
)
def test_reshape_polygons(target: dict[str, Any], reshaper: dict[str, Any], expected: Any) -> None:
    answer = run(sr=3857, target={"geometryType": POLYGON, "geometry": target}, reshaper=reshaper)
    assert set(answer) == {"geometry"}
    got = shape_of(answer["geometry"], POLYGON, "test")
    assert got.area == pytest.approx(expected.area)
    assert shapely.equals(got, expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ([(0, 0), (10, 0)], [(0, 0), (2, 0), (2, 3), (5, 3), (5, 0), (10, 0)]),
        ([(10, 0), (0, 0)], [(10, 0), (5, 0), (5, 3), (2, 3), (2, 0), (0, 0)]),
        (
            [(0, 0), (4, 0), (8, 0), (10, 0)],
            [(0, 0), (2, 0), (2, 3), (5, 3), (5, 0), (8, 0), (10, 0)],
        ),
    ],
)
def test_reshape_polylines(
    line: list[tuple[float, float]], expected: list[tuple[float, float]]
) -> None:
    reshaper = path((2, -1), (2, 3), (5, 3), (5, -1))
    answer = run(target={"geometryType": POLYLINE, "geometry": path(*line)}, reshaper=reshaper)
    assert [tuple(p) for p in answer["geometry"]["paths"][0]] == expected
    got = shape_of(answer["geometry"], POLYLINE, "test")
    assert shapely.equals(got, shapely.LineString(expected))


BAD = [
    ({"target": {"geometryType": POLYGON, "geometry": square(0, 0, 1, 1)}}, "reshaper"),
    ({"reshaper": BUMP}, "target"),
    (
        {
            "target": {"geometryType": "esriGeometryPoint", "geometry": {"x": 1, "y": 1}},
            "reshaper": BUMP,
        },
        "target",
    ),
    (
        {
            "target": {"geometryType": POLYGON, "geometry": square(0, 0, 4, 2)},
            "reshaper": square(0, 0, 1, 1),
        },
        "reshaper",
    ),
    (
        {
            "target": {"geometryType": POLYGON, "geometry": square(0, 0, 4, 2)},
            "reshaper": {"paths": [[[1, 1], [1, 3]], [[3, 3], [3, 1]]]},
        },
        "reshaper",
    ),
    (
        {
            "target": {"geometryType": POLYGON, "geometry": square(0, 0, 4, 2)},
            "reshaper": path((1, 1), (1, 3)),
        },
        "reshaper",
    ),
    (
        {
            "target": {"geometryType": POLYGON, "geometry": square(0, 0, 4, 2)},
            "reshaper": path((9, 9), (9, 19)),
        },
        "reshaper",
    ),
    (
        {
            "target": {"geometryType": POLYLINE, "geometry": path((0, 0), (1, 0))},
            "reshaper": BUMP,
            "sr": "nonsense",
        },
        "sr",
    ),
]


@pytest.mark.parametrize(("params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(params: dict[str, Any], parameter: str) -> None:
    refused("reshape", params, parameter)
