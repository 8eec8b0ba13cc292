"""cut, trimExtend and autoComplete, checked against shapely computed here, with their answer
shapes and bad inputs."""

from __future__ import annotations

from typing import Any

import pytest
import shapely

from geosite.engines.geometry_server._common import POLYGON, POLYLINE, shape_of
from geosite.errors import InvalidParameter
from tests.engines.geometry_server._run import refused, run


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"rings": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


def path(*xy: tuple[float, float]) -> dict[str, Any]:
    return {"paths": [[list(p) for p in xy]]}


def polygons(*items: dict[str, Any]) -> dict[str, Any]:
    return {"geometryType": POLYGON, "geometries": list(items)}


def area(answer: dict[str, Any]) -> float:
    return float(shape_of(answer, POLYGON, "test").area)


NORTH = path((1, -1), (1, 3))  # left of it is west
ZIGZAG = path((1, -1), (1, 3), (3, 3), (3, -1))


@pytest.mark.parametrize(
    ("target", "cutter", "indexes", "areas"),
    [
        (polygons(square(0, 0, 2, 2)), NORTH, [0, 0], [2.0, 2.0]),
        (polygons(square(0, 0, 2, 2), square(5, 5, 6, 6)), NORTH, [0, 0], [2.0, 2.0]),
        (polygons(square(0, 0, 4, 2)), ZIGZAG, [0, 0], [4.0, 4.0]),  # west+east left, middle right
        (polygons(square(0, 0, 3, 2)), path((1, -1), (1, 3)), [0, 0], [2.0, 4.0]),
        (polygons(square(0, 0, 3, 2)), path((1, 3), (1, -1)), [0, 0], [4.0, 2.0]),
        (polygons(square(5, 5, 6, 6)), NORTH, [], []),
    ],
)
def test_cut_polygons(
    target: dict[str, Any], cutter: dict[str, Any], indexes: list[int], areas: list[float]
) -> None:
    answer = run("cut", sr=3857, target=target, cutter=cutter)
    assert set(answer) == {"cutIndexes", "geometries"}
    assert answer["cutIndexes"] == indexes
    assert [area(g) for g in answer["geometries"]] == pytest.approx(areas)
    for index in set(indexes):
        pieces = [
            shape_of(g, POLYGON, "test")
            for g, i in zip(answer["geometries"], indexes, strict=True)
            if i == index
        ]
        whole = shape_of(target["geometries"][index], POLYGON, "test")
        assert shapely.equals(shapely.union_all(pieces), whole)


def test_cut_left_pieces_come_first() -> None:
    answer = run("cut", target=polygons(square(0, 0, 3, 2)), cutter=NORTH)
    west = shape_of(answer["geometries"][0], POLYGON, "test")
    assert shapely.equals(west, shapely.box(0, 0, 1, 2))


def test_cut_polylines() -> None:
    target = {"geometryType": POLYLINE, "geometries": [path((0, 1), (4, 1)), path((8, 8), (9, 9))]}
    answer = run("cut", target=target, cutter=ZIGZAG)
    assert answer["cutIndexes"] == [0, 0]
    left = shape_of(answer["geometries"][0], POLYLINE, "test")
    right = shape_of(answer["geometries"][1], POLYLINE, "test")
    expected_left = shapely.MultiLineString([[(0, 1), (1, 1)], [(3, 1), (4, 1)]])
    assert shapely.equals(left, expected_left)
    assert shapely.equals(right, shapely.LineString([(1, 1), (3, 1)]))


@pytest.mark.parametrize(
    ("line", "flags", "expected"),
    [
        (path((0, 0), (2, 0)), "0", [(0, 0), (2, 0), (3, 0)]),  # extended, a vertex added
        (path((0, 0), (2, 0)), "1", [(0, 0), (3, 0)]),  # the end moved
        (path((2, 0), (0, 0)), "0", [(3, 0), (2, 0), (0, 0)]),  # extended at its from end
        (path((2, 0), (0, 0)), "8", []),  # ...which flag 8 forbids
        (path((0, 0), (2, 0)), "16", []),  # the to end, which flag 16 forbids
        (path((0, 1), (5, 1)), "0", [(0, 1), (3, 1)]),  # trimmed: the part left of the guide
        (path((5, 1), (0, 1)), "0", [(3, 1), (0, 1)]),
        (path((0, 5), (0, 6)), "0", []),  # parallel: neither
    ],
)
def test_trim_extend(line: dict[str, Any], flags: str, expected: list[tuple[float, float]]) -> None:
    guide = path((3, -2), (3, 4))
    answer = run("trimExtend", sr=3857, polylines=[line], trimExtendTo=guide, extendHow=flags)
    (got,) = answer["geometries"]
    if not expected:
        assert got == {"paths": []}
    else:
        assert shapely.equals(shape_of(got, POLYLINE, "test"), shapely.LineString(expected))
        assert [tuple(p) for p in got["paths"][0]] == expected


def test_auto_complete() -> None:
    existing = [square(0, 0, 2, 2), square(3, 0, 5, 2)]
    lines = [path((2, 2), (2, 4), (3, 4), (3, 2)), path((2, 0), (3, 0))]
    answer = run("autoComplete", sr=3857, polygons=existing, polylines=lines)
    (face,) = answer["geometries"]
    assert shapely.equals(shape_of(face, POLYGON, "test"), shapely.box(2, 0, 3, 4))
    roof = run(
        "autoComplete", polygons=[square(0, 0, 4, 4)], polylines=[path((0, 4), (2, 7), (4, 4))]
    )
    (face,) = roof["geometries"]
    assert area(face) == pytest.approx(6.0)
    assert shapely.equals(
        shape_of(face, POLYGON, "test"), shapely.Polygon([(0, 4), (2, 7), (4, 4)])
    )
    # a line that closes nothing answers nothing; faces inside the polygons are not answered
    across = run("autoComplete", polygons=[square(0, 0, 4, 4)], polylines=[path((2, -1), (2, 5))])
    assert across == {"geometries": []}


BAD = [
    ("cut", {"target": polygons(square(0, 0, 1, 1))}, "cutter"),
    ("cut", {"target": polygons(square(0, 0, 1, 1)), "cutter": square(0, 0, 1, 1)}, "cutter"),
    ("cut", {"target": polygons(square(0, 0, 1, 1)), "cutter": {"paths": []}}, "cutter"),
    ("cut", {"target": "1,2,3,4", "cutter": NORTH}, "target"),
    ("cut", {"cutter": NORTH}, "target"),
    ("trimExtend", {"polylines": [path((0, 0), (1, 0))]}, "trimExtendTo"),
    ("trimExtend", {"polylines": [square(0, 0, 1, 1)], "trimExtendTo": NORTH}, "polylines"),
    (
        "trimExtend",
        {"polylines": [path((0, 0), (1, 0))], "trimExtendTo": NORTH, "extendHow": "x"},
        "extendHow",
    ),
    (
        "trimExtend",
        {"polylines": [path((0, 0), (1, 0))], "trimExtendTo": NORTH, "extendHow": "64"},
        "extendHow",
    ),
    ("trimExtend", {"polylines": [path((0, 0), (1, 0))], "trimExtendTo": NORTH, "sr": "-5"}, "sr"),
    ("autoComplete", {"polygons": [square(0, 0, 1, 1)]}, "polylines"),
    ("autoComplete", {"polygons": [path((0, 0), (1, 0))], "polylines": [NORTH]}, "polygons"),
    (
        "autoComplete",
        {"polygons": [square(0, 0, 1, 1)], "polylines": [square(0, 0, 1, 1)]},
        "polylines",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)


def test_cut_work_is_bounded() -> None:
    ring = [[float(i % 2), float(i)] for i in range(5000)] + [
        [-1.0, 4999.0],
        [-1.0, 0.0],
        [0.0, 0.0],
    ]
    cutter = {"paths": [[[-2.0, y / 2], [3.0, y / 2 + 0.1]] for y in range(5000)]}
    with pytest.raises(InvalidParameter):
        run("cut", target=polygons({"rings": [ring]}), cutter=cutter)


def test_auto_complete_of_lines_alone_and_of_nothing() -> None:
    none: dict[str, Any] = {"geometryType": POLYGON, "geometries": []}
    ring = path((0, 0), (0, 1), (1, 1), (1, 0), (0, 0))
    (face,) = run("autoComplete", polygons=none, polylines=[ring])["geometries"]
    assert shapely.equals(shape_of(face, POLYGON, "test"), shapely.box(0, 0, 1, 1))
    empty = {"geometryType": POLYLINE, "geometries": []}
    assert run("autoComplete", polygons=none, polylines=empty) == {"geometries": []}
    grid = [path((i, 0), (i, 30)) for i in range(31)] + [path((0, i), (30, i)) for i in range(31)]
    assert len(run("autoComplete", polygons=none, polylines=grid)["geometries"]) == 900


def test_auto_complete_refuses_lines_crossing_too_often() -> None:
    none: dict[str, Any] = {"geometryType": POLYGON, "geometries": []}
    grid = [path((i, 0), (i, 1000)) for i in range(200)]
    grid += [path((0, i), (1000, i)) for i in range(200)]
    with pytest.raises(InvalidParameter):
        run("autoComplete", polygons=none, polylines=grid)


def test_cut_refuses_too_many_crossings() -> None:
    teeth = [
        [[2.0 * i, 10.0], [2.0 * i + 1, 10.0], [2.0 * i + 1, 1.0], [2.0 * i + 2, 1.0]]
        for i in range(300)
    ]
    ring = [[0.0, 0.0], *[p for tooth in teeth for p in tooth], [600.0, 0.0], [0.0, 0.0]][::-1]
    lines = {"paths": [[[-1.0, 1.5 + y / 20], [601.0, 1.5 + y / 20]] for y in range(160)]}
    with pytest.raises(InvalidParameter):
        run("cut", target=polygons({"rings": [ring]}), cutter=lines)
    few = {"paths": [[[-1.0, 5.0], [601.0, 5.0]]]}
    answer = run("cut", target=polygons({"rings": [ring]}), cutter=few)
    assert answer["cutIndexes"] == [0, 0]
    total = sum(area(g) for g in answer["geometries"])
    assert total == pytest.approx(shapely.Polygon(ring).area)
