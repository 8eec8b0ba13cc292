"""buffer, densify and generalize checked against pyproj's Geod and shapely; bad inputs and
unbounded work are 400s."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from geosite.engines.features import esri_geometry
from geosite.engines.geometry_server._common import shape_of
from tests.engines.geometry_server._run import refused, run

WGS84 = Geod(ellps="WGS84")


def polygon(answer: dict[str, Any]) -> Any:
    return shape_of(answer, "esriGeometryPolygon", "test")


def geodesic_area(shape: Any) -> float:
    area, _ = WGS84.geometry_area_perimeter(shapely.orient_polygons(shape))
    return abs(float(area))


@pytest.mark.parametrize(("lon", "lat"), [(10.0, 50.0), (-70.0, -33.0), (0.0, 0.0), (150, 75)])
@pytest.mark.parametrize("radius_km", [1.0, 100.0, 1000.0])
def test_geodesic_buffer_of_a_point_is_a_circle(lon: float, lat: float, radius_km: float) -> None:
    answer = run(
        "buffer",
        geometries={"geometryType": "esriGeometryPoint", "geometries": [{"x": lon, "y": lat}]},
        inSR=4326,
        distances=str(radius_km),
        unit="esriSRUnit_Kilometer",
        geodesic="true",
    )
    circle = polygon(answer["geometries"][0])
    radius = radius_km * 1000
    assert geodesic_area(circle) == pytest.approx(math.pi * radius**2, rel=0.01)
    ring = shapely.get_coordinates(circle)
    _, _, distances = WGS84.inv(np.full(len(ring), lon), np.full(len(ring), lat), *ring.T)
    assert np.allclose(distances, radius, rtol=0.01)


def test_buffers_per_distance_and_geometry_and_their_union() -> None:
    points = [{"x": 0, "y": 0}, {"x": 1000, "y": 0}]
    answer = run("buffer", geometries=points, inSR=32633, distances="100,600")
    shapes = [polygon(g) for g in answer["geometries"]]
    assert len(shapes) == 4  # distances first: 100 m around each, then 600 m around each
    expected = [math.pi * d * d for d in (100, 100, 600, 600)]
    for shape, area in zip(shapes, expected, strict=True):
        assert shapely.area(shape) == pytest.approx(area, rel=0.01)
    assert shapes[1].centroid.x == pytest.approx(1000)
    union = run("buffer", geometries=points, inSR=32633, distances="100,600", unionResults="true")[
        "geometries"
    ]
    assert len(union) == 2
    assert shapely.area(polygon(union[0])) == pytest.approx(2 * math.pi * 100**2, rel=0.01)
    assert shapely.area(polygon(union[1])) < 2 * math.pi * 600**2  # the two overlap


def test_planar_buffer_in_another_sr_and_unit() -> None:
    answer = run(
        "buffer",
        geometries={"geometryType": "esriGeometryPoint", "geometries": [{"x": 13.4, "y": 52.5}]},
        inSR=4326,
        bufferSR=32633,
        outSR=102100,
        distances="1",
        unit=9093,  # a statute mile
    )
    circle = polygon(answer["geometries"][0])
    back = Transformer.from_crs(3857, 32633, always_xy=True)
    in_utm = shapely.transform(circle, lambda c: np.column_stack(back.transform(*c.T)))
    assert shapely.area(in_utm) == pytest.approx(math.pi * 1609.344**2, rel=0.01)
    # Without a unit, distances are in the buffer sr's own unit (US feet in NY's plane).
    feet = run("buffer", geometries=[{"x": 1e6, "y": 2e5}], inSR=2263, distances="100")
    assert shapely.area(polygon(feet["geometries"][0])) == pytest.approx(math.pi * 100**2, rel=0.01)


def test_negative_buffer_of_a_polygon_shrinks_it_to_nothing() -> None:
    square = {"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]]}
    answer = run("buffer", geometries=[square], inSR=32633, distances="-1,-6")
    assert shapely.area(polygon(answer["geometries"][0])) == pytest.approx(64)
    assert answer["geometries"][1] == {"rings": []}


def test_densify_planar_and_geodesic() -> None:
    line = {"paths": [[[0, 0], [10, 0]]]}
    planar = run("densify", geometries=[line], sr=32633, maxSegmentLength=1)
    assert len(planar["geometries"][0]["paths"][0]) == 11
    path = {"paths": [[[-74, 40.7], [2.35, 48.85]]]}
    answer = run(
        "densify",
        geometries=[path],
        sr=4326,
        maxSegmentLength=500,
        lengthUnit=9036,
        geodesic="true",
    )
    vertices = np.array(answer["geometries"][0]["paths"][0])
    _, _, whole = WGS84.inv(-74, 40.7, 2.35, 48.85)
    assert len(vertices) == math.ceil(whole / 500_000) + 1
    _, _, steps = WGS84.inv(*vertices[:-1].T, *vertices[1:].T)
    assert np.all(steps <= 500_000 + 1e-6)
    assert float(np.sum(steps)) == pytest.approx(whole, rel=1e-9)  # along the geodesic
    square = {"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]]}
    dense = run("densify", geometries=[square], sr=32633, maxSegmentLength=5)["geometries"][0]
    assert len(dense["rings"][0]) == 9
    points = run("densify", geometries=[{"x": 1, "y": 2}], sr=4326, maxSegmentLength=1)
    assert points == {"geometries": [{"x": 1.0, "y": 2.0}]}


def test_generalize_is_douglas_peucker() -> None:
    zigzag = shapely.LineString([(x, (x % 2) * 0.4) for x in range(20)] + [(20, 5)])
    answer = run("generalize", geometries=[esri_geometry(zigzag)], sr=32633, maxDeviation=0.5)[
        "geometries"
    ][0]
    expected = shapely.simplify(zigzag, 0.5, preserve_topology=False)
    assert shape_of(answer, "esriGeometryPolyline", "test").equals(expected)
    in_feet = run(
        "generalize",
        geometries=[esri_geometry(zigzag)],
        sr=32633,
        maxDeviation=0.1,
        deviationUnit="esriSRUnit_Foot",
    )["geometries"][0]
    assert len(in_feet["paths"][0]) == 21  # 3 cm keeps every vertex


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "buffer",
        {"geometries": [{"x": 1e308, "y": 0}], "inSR": 3857, "distances": "1"},
        "geometries",
    ),
    (
        "densify",
        {"geometries": [{"paths": [[[0, 0], [1e300, 0]]]}], "sr": 32633, "maxSegmentLength": 1},
        "geometries",
    ),
    ("buffer", {"geometries": [{"x": 0, "y": 0}], "inSR": 4326}, "distances"),
    ("buffer", {"geometries": [{"x": 0, "y": 0}], "distances": "1"}, "inSR"),
    ("buffer", {"geometries": [{"x": 0, "y": 0}], "inSR": 4326, "distances": "a"}, "distances"),
    (
        "buffer",
        {"geometries": [{"x": 0, "y": 0}], "inSR": 4326, "distances": "1", "unit": "furlong"},
        "unit",
    ),
    (
        "buffer",
        {"geometries": [{"x": 0, "y": 0}], "inSR": 32633, "distances": "1e300"},
        "distances",
    ),
    (
        "buffer",
        {
            "geometries": [{"x": 0, "y": 0}],
            "inSR": 4326,
            "distances": "30000",
            "unit": 9036,
            "geodesic": "true",
        },
        "distances",
    ),
    (
        "buffer",
        {"geometries": [{"x": 0, "y": 0}], "inSR": 4326, "distances": ",".join(["1"] * 101)},
        "distances",
    ),
    (
        "buffer",
        {
            "geometries": {
                "geometryType": "esriGeometryMultipoint",
                "geometries": [{"points": [[i, 0] for i in range(30_000)]}],
            },
            "inSR": 32633,
            "distances": "1",
        },
        "geometries",
    ),
    ("densify", {"geometries": [{"paths": [[[0, 0], [1, 1]]]}], "sr": 4326}, "maxSegmentLength"),
    (
        "densify",
        {"geometries": [{"paths": [[[0, 0], [1e7, 0]]]}], "sr": 32633, "maxSegmentLength": 1},
        "maxSegmentLength",
    ),
    (
        "densify",
        {
            "geometries": [{"paths": [[[0, 0], [100, 0]]]}],
            "sr": 4326,
            "maxSegmentLength": 1,
            "geodesic": "true",
        },
        "maxSegmentLength",
    ),
    (
        "densify",
        {"geometries": [{"paths": [[[0, 0], [1, 0]]]}], "sr": 4326, "maxSegmentLength": -1},
        "maxSegmentLength",
    ),
    ("generalize", {"geometries": [{"paths": [[[0, 0], [1, 0]]]}], "sr": 4326}, "maxDeviation"),
    (
        "generalize",
        {"geometries": [{"paths": [[[0, 0], [1, 0]]]}], "sr": 4326, "maxDeviation": "nan"},
        "maxDeviation",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)


@pytest.mark.parametrize(("lon", "lat"), [(150.0, 75.0), (-20.0, -80.0)])
def test_geodesic_buffer_round_a_pole_is_a_cap(lon: float, lat: float) -> None:
    radius = 2_000_000.0
    answer = run(
        "buffer",
        geometries=[{"x": lon, "y": lat}],
        inSR=4326,
        distances=str(radius),
        unit="9001",
        geodesic="true",
    )
    cap = polygon(answer["geometries"][0])
    assert cap.is_valid
    pole = 90.0 if lat > 0 else -90.0
    assert cap.covers(shapely.Point(lon, pole - math.copysign(0.5, pole)))
    assert geodesic_area(cap) == pytest.approx(math.pi * radius**2, rel=0.01)


def test_geodesic_buffer_across_the_antimeridian_stays_whole() -> None:
    answer = run(
        "buffer",
        geometries=[{"x": 179.5, "y": 10}],
        inSR=4326,
        distances="200",
        unit="9036",
        geodesic="true",
    )
    circle = polygon(answer["geometries"][0])
    assert circle.is_valid and shapely.bounds(circle)[2] > 180
    assert geodesic_area(circle) == pytest.approx(math.pi * 200_000**2, rel=0.01)
