"""areasAndLengths, lengths and distance checked against pyproj's Geod and shapely computed
here, on Natural Earth's countries and small shapes, in every unit; bad inputs are 400s."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from geosite.demo import DATA_DIR
from geosite.engines.features import esri_geometry
from geosite.engines.geometry_server.units import AREA_UNITS, LINEAR_UNITS
from tests.engines.geometry_server._run import refused, run

WGS84 = Geod(ellps="WGS84")


def _countries() -> dict[str, Any]:
    _, _, geometries, fields = pyogrio.raw.read(f"/vsizip/{DATA_DIR / 'naturalearth_lowres.zip'}")
    names = fields[2]
    wanted = ("France", "Brazil", "Australia", "Canada", "Egypt", "Japan")
    return {
        str(name): shapely.from_wkb(geometry)
        for name, geometry in zip(names, geometries, strict=True)
        if name in wanted
    }


COUNTRIES = _countries()


def test_geodesic_areas_of_countries_match_pyproj() -> None:
    names = sorted(COUNTRIES)
    polygons = [esri_geometry(COUNTRIES[n]) for n in names]
    answer = run(
        "areasAndLengths",
        polygons=polygons,
        sr=4326,
        calculationType="geodesic",
        areaUnit={"areaUnit": "esriSquareKilometers"},
        lengthUnit=9036,
    )
    for name, area, length in zip(names, answer["areas"], answer["lengths"], strict=True):
        expected_area, expected_length = WGS84.geometry_area_perimeter(
            shapely.orient_polygons(COUNTRIES[name])
        )
        assert area == pytest.approx(abs(expected_area) / 1e6, rel=1e-3), name
        assert length == pytest.approx(expected_length / 1000, rel=1e-3), name
    # France is about 550,000 km² in Natural Earth's coarse outline (with Corsica).
    assert 500_000 < answer["areas"][names.index("France")] < 700_000


def test_geodesic_area_of_a_projected_polygon_is_measured_on_its_datum() -> None:
    egypt = COUNTRIES["Egypt"]
    mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    projected = shapely.transform(egypt, lambda c: np.column_stack(mercator.transform(*c.T)))
    answer = run(
        "areasAndLengths",
        polygons={"geometryType": "esriGeometryPolygon", "geometries": [esri_geometry(projected)]},
        sr=102100,
        calculationType="geodesic",
        areaUnit="esriSquareMeters",
        lengthUnit="esriSRUnit_Meter",
    )
    expected, _ = WGS84.geometry_area_perimeter(shapely.orient_polygons(egypt))
    assert answer["areas"][0] == pytest.approx(abs(expected), rel=1e-3)
    preserved = run(
        "areasAndLengths",
        polygons=[esri_geometry(projected)],
        sr=102100,
        calculationType="preserveShape",
        areaUnit="esriSquareMeters",
    )
    assert preserved["areas"][0] == pytest.approx(abs(expected), rel=1e-2)


@pytest.mark.parametrize(
    ("area_unit", "square_metres"),
    [
        ("esriSquareMeters", 1.0),
        ("esriAcres", 4046.8564224),
        ("esriHectares", 1e4),
        ("esriAres", 100.0),
        ("esriSquareFeet", 0.09290304),
        ("esriSquareYards", 0.83612736),
        ("esriSquareInches", 0.00064516),
        ("esriSquareMiles", 2589988.110336),
        ("esriSquareKilometers", 1e6),
        ("esriSquareCentimeters", 1e-4),
        ("esriSquareMillimeters", 1e-6),
        ("esriSquareDecimeters", 1e-2),
        ("109414", 1e6),
        ("109402", 4046.8564224),
        ('{"areaUnit": "esriHectares"}', 1e4),
    ],
)
def test_planar_area_units(area_unit: str, square_metres: float) -> None:
    # A 1,000 ft square in New York's state plane (US survey feet).
    square = {"rings": [[[0, 0], [0, 1000], [1000, 1000], [1000, 0], [0, 0]]]}
    answer = run("areasAndLengths", polygons=[square], sr=2263, areaUnit=area_unit)
    foot = 1200 / 3937
    assert answer["areas"][0] == pytest.approx((1000 * foot) ** 2 / square_metres, rel=1e-9)
    assert answer["lengths"][0] == pytest.approx(4000.0)  # the sr's own unit by default


@pytest.mark.parametrize(
    ("unit", "metres"),
    [
        ("esriSRUnit_Meter", 1.0),
        ("9001", 1.0),
        ("9002", 0.3048),
        ("esriSRUnit_SurveyFoot", 1200 / 3937),
        ("9030", 1852.0),
        ("esriSRUnit_Kilometer", 1000.0),
        ("9093", 1609.344),
        ("esriSRUnit_InternationalInch", 0.0254),
        ("esriSRUnit_Decimeter", 0.1),
        ("109006", 0.01),
        ("esriSRUnit_Millimeter", 0.001),
        ("109012", 1853.248),
        ("esriSRUnit_InternationalYard", 0.9144),
    ],
)
def test_lengths_in_linear_units(unit: str, metres: float) -> None:
    line = {"paths": [[[500000, 0], [503000, 4000]]]}  # 5 km in UTM 33N
    answer = run("lengths", polylines=[line], sr=32633, lengthUnit=unit)
    assert answer["lengths"][0] == pytest.approx(5000 / metres, rel=1e-12)


def test_geodesic_and_planar_lengths() -> None:
    line = {"paths": [[[-74, 40.7], [2.35, 48.85]]]}  # New York to Paris
    _, _, expected = WGS84.inv(-74, 40.7, 2.35, 48.85)
    answer = run("lengths", polylines=[line], sr=4326, calculationType="geodesic")
    assert answer["lengths"][0] == pytest.approx(expected, rel=1e-9)
    old_form = run("lengths", polylines=[line], sr=4326, geodesic="true", lengthUnit=9036)
    assert old_form["lengths"][0] == pytest.approx(expected / 1000, rel=1e-9)
    preserved = run("lengths", polylines=[line], sr=4326, calculationType="preserveShape")
    assert preserved["lengths"][0] > expected  # the straight line in degrees is no geodesic


def test_planar_measures_in_a_geographic_sr_are_in_degrees() -> None:
    """The REST reference: planar is 2D Cartesian in the input spatial reference's units, so
    in a geographic one degrees and square degrees (not metres, as geosite answered)."""
    line = {"paths": [[[-74, 40.7], [2.35, 48.85]]]}
    degrees = math.hypot(2.35 + 74, 48.85 - 40.7)
    answer = run("lengths", polylines=[line], sr=4326, calculationType="planar")
    assert answer["lengths"] == [pytest.approx(degrees, rel=1e-12)]
    default = run("lengths", polylines=[line], sr=4326)  # planar is the default
    assert default == answer
    for unit, per_degree in (
        ("esriSRUnit_Radian", math.pi / 180),
        ("9104", 3600.0),
        ("esriDecimalDegrees", 1.0),
        ('{"unit": "esriSRUnit_ArcMinute"}', 60.0),
    ):
        other = run("lengths", polylines=[line], sr=4326, lengthUnit=unit)
        assert other["lengths"] == [pytest.approx(degrees * per_degree, rel=1e-12)]
    rectangle = {"rings": [[[0, 0], [0, 2], [3, 2], [3, 0], [0, 0]]]}
    measured = run("areasAndLengths", polygons=[rectangle], sr=4267, calculationType="planar")
    assert measured == {"areas": [pytest.approx(6.0)], "lengths": [pytest.approx(10.0)]}
    # A geographic sr in grads measures in grads
    grads = run("areasAndLengths", polygons=[rectangle], sr=4807)
    assert grads == {"areas": [pytest.approx(6.0)], "lengths": [pytest.approx(10.0)]}
    in_degrees = run("areasAndLengths", polygons=[rectangle], sr=4807, lengthUnit=9102)
    assert in_degrees["lengths"] == [pytest.approx(9.0)]
    # No metre or square metre can express a planar measure in degrees
    for name, params, parameter in (
        ("lengths", {"polylines": [line], "lengthUnit": 9001}, "lengthUnit"),
        ("lengths", {"polylines": [line], "lengthUnit": "furlong"}, "lengthUnit"),
        ("areasAndLengths", {"polygons": [rectangle], "areaUnit": "esriAcres"}, "areaUnit"),
        ("areasAndLengths", {"polygons": [rectangle], "lengthUnit": 9036}, "lengthUnit"),
    ):
        refused(name, {**params, "sr": 4326, "calculationType": "planar"}, parameter)
    # In a projected sr, planar stays in its linear unit; geodesic in a geographic one in metres
    metres = run("areasAndLengths", polygons=[rectangle], sr=4326, calculationType="geodesic")
    assert metres["areas"][0] > 1e10


def test_geodesic_area_on_another_ellipsoid() -> None:
    square = {"rings": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}
    answer = run("areasAndLengths", polygons=[square], sr=4267, calculationType="geodesic")
    clarke = Geod(ellps="clrk66")
    expected, _ = clarke.polygon_area_perimeter([0, 1, 1, 0], [0, 0, 1, 1])
    assert answer["areas"][0] == pytest.approx(abs(expected), rel=1e-9)


def test_distance() -> None:
    _, _, expected = WGS84.inv(-74, 40.7, 2.35, 48.85)
    answer = run(
        "distance",
        geometry1={"x": -74, "y": 40.7},
        geometry2={"geometryType": "esriGeometryPoint", "geometry": {"x": 2.35, "y": 48.85}},
        sr=4326,
        distanceUnit="esriSRUnit_StatuteMile",
        geodesic="true",
    )
    assert answer["distance"] == pytest.approx(expected / 1609.344, rel=1e-9)
    planar = run("distance", geometry1={"x": 0, "y": 0}, geometry2={"x": 3000, "y": 4000}, sr=32633)
    assert planar["distance"] == pytest.approx(5000)
    line = {"paths": [[[1, -1], [1, 1]]]}
    to_line = run("distance", geometry1={"x": 0, "y": 0}, geometry2=line, sr=4326)
    _, _, one_degree = WGS84.inv(0, 0, 1, 0)
    assert to_line["distance"] == pytest.approx(one_degree, rel=1e-6)
    crossing = {"rings": [[[-1, -1], [-1, 1], [1, 1], [1, -1], [-1, -1]]]}
    inside = run("distance", geometry1={"x": 0, "y": 0}, geometry2=crossing, sr=4326)
    assert inside["distance"] == 0


def test_units_tables_hold_the_reference_codes() -> None:
    for code in ("9001", "9002", "9003", "9030", "9036", "9093", "109012", "109008"):
        assert code in LINEAR_UNITS
    for name in ("esriAcres", "esriAres", "esriHectares", "esriSquareKilometers"):
        assert name in AREA_UNITS
    assert all(math.isfinite(v) and v > 0 for v in LINEAR_UNITS.values())


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "distance",
        {"geometry1": {"x": 1e308, "y": 0}, "geometry2": {"x": 1, "y": 1}, "sr": 3857},
        "geometry1",
    ),
    ("areasAndLengths", {"sr": 4326}, "polygons"),
    ("areasAndLengths", {"polygons": [{"rings": [[[0, 0], [1, 1], [0, 1]]]}]}, "sr"),
    ("areasAndLengths", {"polygons": [{"x": 1, "y": 2}], "sr": 4326}, "polygons"),
    (
        "areasAndLengths",
        {"polygons": [{"rings": [[[0, 0], [1, 1], [0, 1]]]}], "sr": 4326, "areaUnit": "esriX"},
        "areaUnit",
    ),
    (
        "areasAndLengths",
        {"polygons": [{"rings": [[[0, 0], [1, 1], [0, 1]]]}], "sr": 4326, "lengthUnit": "9999"},
        "lengthUnit",
    ),
    (
        "areasAndLengths",
        {"polygons": [{"rings": [[[0, 0], [1, 1], [0, 1]]]}], "sr": 4326, "calculationType": "x"},
        "calculationType",
    ),
    ("areasAndLengths", {"polygons": [{"rings": [[[0, 0], [1, 1], [0, 1]]]}], "sr": 0}, "sr"),
    ("areasAndLengths", {"polygons": "[{", "sr": 4326}, "polygons"),
    ("lengths", {"polylines": [{"paths": [[[0, 0]]]}], "sr": 4326}, "polylines"),
    ("lengths", {"polylines": [{"paths": [[[0, "a"], [1, 1]]]}], "sr": 4326}, "polylines"),
    ("lengths", {"polylines": [{"paths": [[[0, 1e300], [1, 1]]]}], "sr": 4326}, "polylines"),
    ("distance", {"geometry1": {"x": 0, "y": 0}, "sr": 4326}, "geometry2"),
    (
        "distance",
        {
            "geometry1": {"x": 0, "y": 0},
            "geometry2": {"x": 1, "y": 1},
            "sr": 4326,
            "distanceUnit": "esriFurlongs",
        },
        "distanceUnit",
    ),
    (
        "distance",
        {
            "geometry1": {"x": 0, "y": 0},
            "geometry2": {"x": 1, "y": 91},
            "sr": 4326,
            "geodesic": "true",
        },
        "geometry2",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)


def test_answers_are_valid_json() -> None:
    answer = run("areasAndLengths", polygons=[{"rings": []}], sr=4326, calculationType="geodesic")
    assert answer == {"areas": [0.0], "lengths": [0.0]}
    assert CRS.from_epsg(4326).is_geographic
