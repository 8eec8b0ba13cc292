"""toGeoCoordinateString and fromGeoCoordinateString: DD, DDM, DMS and UTM written and read
back, UTM checked against pyproj's EPSG zones; MGRS and the others are refused."""

from __future__ import annotations

from typing import Any

import pytest
from pyproj import Transformer

from geosite.engines.geometry_server.coordinates import utm_zone
from tests.engines.geometry_server._run import refused, run

PLACES = [(-117.1956, 34.0569), (10.0, 20.0), (5.0, 60.0), (20.0, -30.0), (-0.5, 51.5)]


def test_formats() -> None:
    coordinates = [[-117.1956, 34.0569]]
    expected = {
        "DD": "34.056900N 117.195600W",
        "DDM": "34 03.4140N 117 11.7360W",
        "DMS": "34 03 24.84N 117 11 44.16W",
        "UTM": "11S 481949 3768482",
    }
    for kind, text in expected.items():
        answer = run("toGeoCoordinateString", sr=4326, coordinates=coordinates, conversionType=kind)
        assert answer == {"strings": [text]}
    few = run(
        "toGeoCoordinateString",
        sr=4326,
        coordinates=coordinates,
        conversionType="dd",
        numOfDigits=2,
    )
    assert few == {"strings": ["34.06N 117.20W"]}
    north_south = run(
        "toGeoCoordinateString",
        sr=4326,
        coordinates=[[20.0, -30.0]],
        conversionType="UTM",
        conversionMode="utmNorthSouth",
        addSpaces="false",
    )
    assert north_south["strings"][0].startswith("34S") and " " not in north_south["strings"][0]


@pytest.mark.parametrize("kind", ["DD", "DDM", "DMS", "UTM"])
@pytest.mark.parametrize("mode", ["utmDefault", "utmNorthSouth"])
def test_round_trip(kind: str, mode: str) -> None:
    strings = run(
        "toGeoCoordinateString",
        sr=4326,
        coordinates=[list(p) for p in PLACES],
        conversionType=kind,
        conversionMode=mode,
    )["strings"]
    back = run(
        "fromGeoCoordinateString",
        sr=4326,
        strings=strings,
        conversionType=kind,
        conversionMode=mode,
    )["coordinates"]
    tolerance = {"DD": 1e-6, "DDM": 1e-6, "DMS": 1e-5, "UTM": 1e-4}[kind]
    for (x, y), (bx, by) in zip(PLACES, back, strict=True):
        assert (bx, by) == pytest.approx((x, y), abs=tolerance)


def test_utm_matches_pyproj_zones() -> None:
    for lon, lat in PLACES:
        zone = utm_zone(lon, lat)
        code = (32600 if lat >= 0 else 32700) + zone
        easting, northing = Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
        text = run(
            "toGeoCoordinateString", sr=4326, coordinates=[[lon, lat]], conversionType="UTM"
        )["strings"][0]
        _, east, north = text.split()
        assert int(east) == round(easting) and int(north) == round(northing)
    assert utm_zone(5.0, 60.0) == 32  # Norway
    assert utm_zone(15.0, 78.0) == 33  # Svalbard


def test_other_spatial_references_and_notations() -> None:
    mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    x, y = mercator.transform(-117.25, 34.5)
    strings = [
        "N34.5 W117.25",
        "34.5 -117.25",
        "117.25W 34.5N",
        "34 30N 117 15W",
        "34°30'N 117°15'W",
    ]
    answer = run("fromGeoCoordinateString", sr=102100, strings=strings, conversionType="DDM")
    for bx, by in answer["coordinates"]:
        assert (bx, by) == pytest.approx((x, y), abs=1e-3)
    written = run("toGeoCoordinateString", sr=3857, coordinates=[[x, y]], conversionType="DD")
    assert written == {"strings": ["34.500000N 117.250000W"]}


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "MGRS"},
        "conversionType",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "USNG"},
        "conversionType",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "x"},
        "conversionType",
    ),
    ("toGeoCoordinateString", {"sr": 4326, "coordinates": [[0, 0]]}, "conversionType"),
    ("toGeoCoordinateString", {"coordinates": [[0, 0]], "conversionType": "DD"}, "sr"),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0]], "conversionType": "DD"},
        "coordinates",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": "[[0, 95]]", "conversionType": "DD"},
        "coordinates",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 85]], "conversionType": "UTM"},
        "coordinates",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "DD", "numOfDigits": 99},
        "numOfDigits",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "UTM", "conversionMode": "x"},
        "conversionMode",
    ),
    ("fromGeoCoordinateString", {"sr": 4326, "strings": ["x"], "conversionType": "DD"}, "strings"),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["91N 10E"], "conversionType": "DD"},
        "strings",
    ),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["10 61 0N 10E"], "conversionType": "DMS"},
        "strings",
    ),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["61S 500000 0"], "conversionType": "UTM"},
        "strings",
    ),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["31I 500000 0"], "conversionType": "UTM"},
        "strings",
    ),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": "nope", "conversionType": "UTM"},
        "strings",
    ),
    ("fromGeoCoordinateString", {"sr": 4326, "strings": [1], "conversionType": "DD"}, "strings"),
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["1 2"], "conversionType": "GARS"},
        "conversionType",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)
