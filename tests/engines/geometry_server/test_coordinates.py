"""toGeoCoordinateString and fromGeoCoordinateString: DD, DDM, DMS and UTM written and read
back, UTM checked against pyproj's EPSG zones; MGRS, USNG, GeoRef and GARS checked against
published values (ArcGIS's own examples, the USNG standard's) and pygeodesy."""

from __future__ import annotations

from typing import Any

import pytest
from pygeodesy import gars, mgrs, utmups, wgrs
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
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "MGRS", "numOfDigits": 9},
        "numOfDigits",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "MGRS", "conversionMode": "x"},
        "conversionMode",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "GeoRef", "numOfDigits": 11},
        "numOfDigits",
    ),
    (
        "toGeoCoordinateString",
        {"sr": 4326, "coordinates": [[0, 0]], "conversionType": "USNG", "rounding": "maybe"},
        "rounding",
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
        "strings",
    ),
    *[
        (
            "fromGeoCoordinateString",
            {"sr": 4326, "strings": [text], "conversionType": kind},
            "strings",
        )
        for kind, text in [
            ("MGRS", "18SUJ234830647"),  # an odd number of digits
            ("MGRS", "18S UJ 2348 06479"),  # easting and northing of different lengths
            ("MGRS", "18SIJ2348306479"),  # no I in the squares' letters
            ("MGRS", "61S UJ 1 1"),
            ("MGRS", "18S UJ 123456789 123456789"),
            ("MGRS", "18S"),
            ("USNG", "nope"),
            ("GARS", "000AA11"),  # columns run from 001 to 720
            ("GARS", "721AA"),
            ("GARS", "001AA05"),  # quadrants 1 to 4
            ("GeoRef", "ZZZZ"),
            ("GeoRef", "BJQK123"),  # odd digits
            ("GeoRef", ""),
        ]
    ],
    (
        "fromGeoCoordinateString",
        {"sr": 4326, "strings": ["060LV48"], "conversionType": "GARS", "conversionMode": "x"},
        "conversionMode",
    ),
]


@pytest.mark.parametrize(("name", "params", "parameter"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(
    name: str, params: dict[str, Any], parameter: str
) -> None:
    refused(name, params, parameter)


# ArcGIS's own example (the JavaScript API's GeometryService.toGeoCoordinateString, 8 digits,
# 180° in zone 01) and the REST reference's fromGeoCoordinateString example (5 digits).
ARCGIS_MGRS = [
    ([180.0, 0.0], "01N AA 66021443 00000000", "01N AA 66021 00000"),
    ([-117.0, 34.0], "11S NT 00000000 62155978", "11S NT 00000 62155"),
    ([0.0, 52.0], "31U BT 94071081 65288255", "31U BT 94071 65288"),
]
#: The Washington Monument in the USNG standard (FGDC-STD-011-2001) and its lat/lon corner.
MONUMENT = "18SUJ2348306479"


def test_mgrs_matches_arcgis_published_strings() -> None:
    coordinates = [place for place, _, _ in ARCGIS_MGRS]
    common = {"sr": 4326, "coordinates": coordinates, "conversionType": "MGRS"}
    eight = run(
        "toGeoCoordinateString",
        **common,
        conversionMode="mgrsNewWith180InZone01",
        numOfDigits=8,
        addSpaces="true",
    )
    assert eight["strings"] == [text for _, text, _ in ARCGIS_MGRS]
    five = run("toGeoCoordinateString", **common, conversionMode="mgrsNewWith180InZone01")
    assert five["strings"][1:] == ["11SNT0000062156", "31UBT9407165288"]  # rounded, no spaces
    truncated = run("toGeoCoordinateString", **common, rounding="false", addSpaces="true")
    assert truncated["strings"] == [
        "60N ZF 33978 00000",
        "11S NT 00000 62155",
        "31U BT 94071 65288",
    ]
    back = run(
        "fromGeoCoordinateString",
        sr=4326,
        strings=[text for _, _, text in ARCGIS_MGRS],
        conversionType="MGRS",
        conversionMode="mgrsNewWith180InZone01",
    )["coordinates"]
    for (x, y), (bx, by) in zip(coordinates, back, strict=True):
        assert ((bx - x + 180) % 360 - 180, by - y) == pytest.approx((0, 0), abs=2e-5)  # 1 m


def test_usng_washington_monument() -> None:
    (lon, lat), *_ = run(
        "fromGeoCoordinateString", sr=4326, strings=[MONUMENT], conversionType="USNG"
    )["coordinates"]
    assert (lon, lat) == pytest.approx((-77.035242, 38.889463), abs=1e-6)
    corner = mgrs.parseMGRS(MONUMENT).toLatLon(center=False)
    assert (lat, lon) == pytest.approx((corner.lat, corner.lon), abs=1e-9)
    centre = [[lon + 4e-6, lat + 4e-6]]  # inside its 1 m square
    written = {
        digits: run(
            "toGeoCoordinateString",
            sr=4326,
            coordinates=centre,
            conversionType="USNG",
            numOfDigits=digits,
            rounding="false",
        )["strings"][0]
        for digits in (0, 1, 4, 5, 8)
    }
    assert written[5] == "18S UJ 23483 06479"
    assert written[4] == "18S UJ 2348 0647"  # the standard's 10 m reference
    assert written[1] == "18S UJ 2 0"
    assert written[0] == "18S UJ"
    assert written[8].startswith("18S UJ 23483") and len(written[8].split()[2]) == 8
    mgrs_text = run("toGeoCoordinateString", sr=4326, coordinates=centre, conversionType="MGRS")
    assert mgrs_text == {"strings": [MONUMENT]}


@pytest.mark.parametrize("kind", ["MGRS", "USNG"])
def test_grid_round_trips_everywhere_including_the_poles(kind: str) -> None:
    places = [*PLACES, (15.0, 78.0), (10.0, 89.0), (-120.0, -85.0), (0.0, 90.0), (179.5, -79.9)]
    strings = run(
        "toGeoCoordinateString",
        sr=4326,
        coordinates=[list(p) for p in places],
        conversionType=kind,
        numOfDigits=8,
        addSpaces="true",
    )["strings"]
    assert strings[-4].startswith("Z") and strings[-3].startswith("A")  # UPS
    assert strings[5].startswith("33X")  # Svalbard
    back = run("fromGeoCoordinateString", sr=4326, strings=strings, conversionType=kind)
    for (x, y), (bx, by), text in zip(places, back["coordinates"], strings, strict=True):
        expected = mgrs.toMgrs(utmups.toUtmUps8(y, x)).toStr(prec=3, sep=" ")
        assert text.split()[:2] == expected.split()[:2]
        if abs(y) < 90:
            assert (bx, by) == pytest.approx((x, y), abs=1e-6)


def test_mgrs_old_lettering_and_the_180th_meridian() -> None:
    def mgrs_of(sr: int, mode: str, place: list[float]) -> str:
        answer = run(
            "toGeoCoordinateString",
            sr=sr,
            coordinates=[place],
            conversionType="MGRS",
            conversionMode=mode,
        )
        return str(answer["strings"][0])

    assert mgrs_of(4326, "mgrsDefault", [-117.0, 34.0])[3:5] == "NT"
    # The AL scheme starts the row letters ten on: T becomes H; NAD 27 (Clarke 1866) uses it
    assert mgrs_of(4326, "mgrsOldStyle", [-117.0, 34.0])[3:5] == "NH"
    assert mgrs_of(4267, "mgrsDefault", [-117.0, 34.0])[3:5] == "NH"
    assert mgrs_of(4267, "mgrsNewStyle", [-117.0, 34.0])[3:5] == "NT"
    assert mgrs_of(4326, "mgrsDefault", [180.0, 10.0])[:3] == "60P"
    assert mgrs_of(4326, "mgrsNewWith180InZone01", [180.0, 10.0])[:3] == "01P"
    assert mgrs_of(4326, "mgrsOldWith180InZone01", [-180.0, 10.0])[:3] == "01P"
    old = mgrs_of(4326, "mgrsOldStyle", [-117.0, 34.0])
    for mode, expected in (("mgrsOldStyle", -117.0), ("mgrsNewStyle", None)):
        (lon, lat), *_ = run(
            "fromGeoCoordinateString",
            sr=4326,
            strings=[old],
            conversionType="MGRS",
            conversionMode=mode,
        )["coordinates"]
        if expected is None:  # read as AA letters, it is 1,000 km away
            assert abs(lat - 34.0) > 5
        else:
            assert (lon, lat) == pytest.approx((expected, 34.0), abs=1e-4)


def test_georef_and_gars() -> None:
    place = [[-150.09048845, 39.5063036]]
    georef = run(
        "toGeoCoordinateString", sr=4326, coordinates=place, conversionType="GeoRef", numOfDigits=8
    )
    assert georef == {"strings": ["BJQK5457069330378216"]}  # as ArcGIS writes it
    assert run("toGeoCoordinateString", sr=4326, coordinates=place, conversionType="GeoRef") == {
        "strings": ["BJQK5457130378"]
    }  # 5 digits, rounded
    assert run(
        "toGeoCoordinateString",
        sr=4326,
        coordinates=place,
        conversionType="GeoRef",
        rounding="false",
        numOfDigits=2,
    ) == {"strings": ["BJQK5430"]}
    assert str(wgrs.Georef(39.5063036, -150.09048845, precision=9)) == "BJQK5457069330378216"
    gars_text = run("toGeoCoordinateString", sr=4326, coordinates=place, conversionType="GARS")
    assert gars_text == {"strings": ["060LV48"]}
    assert gars.encode(39.5063036, -150.09048845, precision=2) == "060LV48"
    corner = run("fromGeoCoordinateString", sr=4326, strings=["060LV48"], conversionType="GARS")
    assert corner["coordinates"] == [pytest.approx([-150.0 - 10 / 60, 39.5])]
    centre = run(
        "fromGeoCoordinateString",
        sr=4326,
        strings=["060LV48", "060lv"],
        conversionType="GARS",
        conversionMode="garsCenter",
    )
    assert centre["coordinates"] == [
        pytest.approx([-150.125, 39.5 + 2.5 / 60]),
        pytest.approx([-150.25, 39.75]),
    ]
    read = run(
        "fromGeoCoordinateString", sr=4326, strings=["BJQK5457130378"], conversionType="GeoRef"
    )
    assert read["coordinates"] == [pytest.approx([-150.0 - 5.429 / 60, 39.0 + 30.378 / 60])]


def test_grid_strings_in_a_projected_spatial_reference() -> None:
    """Coordinates in Web Mercator are written from their longitude and latitude, and read
    back into Web Mercator."""
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-77.035242, 38.889463)
    written = run(
        "toGeoCoordinateString", sr=3857, coordinates=[[x + 0.5, y + 0.5]], conversionType="MGRS"
    )
    assert written == {"strings": [MONUMENT]}
    back = run("fromGeoCoordinateString", sr=102100, strings=[MONUMENT], conversionType="MGRS")
    assert back["coordinates"][0] == pytest.approx([x, y], abs=0.5)
