"""Spatial references as ArcGIS clients send them: EPSG and Esri wkids, Esri JSON, WKT.

``CLIENT_WKIDS`` is the table of wkids ArcGIS Pro, the JS API and the other clients send
(Esri's own 1020xx/540xx codes among them), each with the place it is used at, the CRS pyproj
names it by, and the spatial reference ArcGIS answers with. Every resolution is checked
against pyproj's own transformation from WGS84; ``tests/http/test_spatial_references.py``
checks the same table through the query API.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import pytest
from pyproj import CRS, Transformer

from geosite.data.spatial_reference import (
    SpatialReference,
    esri_json,
    from_crs,
    resolve,
    transformer,
)
from geosite.errors import InvalidParameter


class ClientWkid(NamedTuple):
    wkid: int
    reference: str  # how pyproj names it, independently of geosite's resolver
    latest: int  # ArcGIS's latestWkid
    lon: float  # a place inside the CRS's area of use
    lat: float
    units: str


KANSAS, NEW_YORK, WORLD = (-98.5, 39.8), (-73.95, 40.7), (20.0, -10.0)
CLIENT_WKIDS = [
    ClientWkid(4326, "EPSG:4326", 4326, 2.35, 48.85, "esriDecimalDegrees"),
    ClientWkid(3857, "EPSG:3857", 3857, -0.13, 51.5, "esriMeters"),
    ClientWkid(102100, "ESRI:102100", 3857, -0.13, 51.5, "esriMeters"),
    ClientWkid(102113, "ESRI:102113", 3857, -0.13, 51.5, "esriMeters"),
    ClientWkid(900913, "EPSG:900913", 3857, -0.13, 51.5, "esriMeters"),
    ClientWkid(102003, "ESRI:102003", 102003, *KANSAS, "esriMeters"),
    ClientWkid(102004, "ESRI:102004", 102004, *KANSAS, "esriMeters"),
    ClientWkid(102008, "ESRI:102008", 102008, *KANSAS, "esriMeters"),
    ClientWkid(102009, "ESRI:102009", 102009, *KANSAS, "esriMeters"),
    ClientWkid(102010, "ESRI:102010", 102010, *KANSAS, "esriMeters"),
    ClientWkid(102039, "ESRI:102039", 102039, *KANSAS, "esriMeters"),
    ClientWkid(5070, "EPSG:5070", 5070, *KANSAS, "esriMeters"),
    ClientWkid(54030, "ESRI:54030", 54030, *WORLD, "esriMeters"),
    ClientWkid(54009, "ESRI:54009", 54009, *WORLD, "esriMeters"),
    ClientWkid(54008, "ESRI:54008", 54008, *WORLD, "esriMeters"),
    ClientWkid(54042, "ESRI:54042", 54042, *WORLD, "esriMeters"),
    ClientWkid(102718, "ESRI:102718", 2263, *NEW_YORK, "esriFeet"),
    ClientWkid(2263, "EPSG:2263", 2263, *NEW_YORK, "esriFeet"),
    ClientWkid(102711, "ESRI:102711", 3424, -74.4, 40.3, "esriFeet"),
    ClientWkid(102654, "ESRI:102654", 2232, -105.0, 39.7, "esriFeet"),
    ClientWkid(102629, "ESRI:102629", 102629, -85.8, 32.6, "esriFeet"),
    ClientWkid(2229, "EPSG:2229", 2229, -118.25, 34.05, "esriFeet"),
    ClientWkid(2227, "EPSG:2227", 2227, -122.27, 37.8, "esriFeet"),
    ClientWkid(26918, "EPSG:26918", 26918, -75.0, 40.0, "esriMeters"),
    ClientWkid(32618, "EPSG:32618", 32618, -75.0, 40.0, "esriMeters"),
    ClientWkid(32633, "EPSG:32633", 32633, 15.0, 50.0, "esriMeters"),
    ClientWkid(27700, "EPSG:27700", 27700, -1.5, 52.5, "esriMeters"),
    ClientWkid(2154, "EPSG:2154", 2154, 2.35, 46.5, "esriMeters"),
    ClientWkid(25832, "EPSG:25832", 25832, 9.0, 50.0, "esriMeters"),
    ClientWkid(3035, "EPSG:3035", 3035, 10.0, 52.0, "esriMeters"),
    ClientWkid(4258, "EPSG:4258", 4258, 10.0, 50.0, "esriDecimalDegrees"),
    ClientWkid(31370, "EPSG:31370", 31370, 4.35, 50.85, "esriMeters"),
    ClientWkid(2056, "EPSG:2056", 2056, 8.23, 46.8, "esriMeters"),
    ClientWkid(3006, "EPSG:3006", 3006, 18.07, 59.33, "esriMeters"),
    ClientWkid(3005, "EPSG:3005", 3005, -123.4, 53.7, "esriMeters"),
    ClientWkid(3347, "EPSG:3347", 3347, -95.0, 55.0, "esriMeters"),
    ClientWkid(102002, "ESRI:102002", 102002, -95.0, 55.0, "esriMeters"),
    ClientWkid(4269, "EPSG:4269", 4269, *KANSAS, "esriDecimalDegrees"),
    ClientWkid(4267, "EPSG:4267", 4267, -90.0, 35.0, "esriDecimalDegrees"),
    ClientWkid(3395, "EPSG:3395", 3395, 30.0, 10.0, "esriMeters"),
    ClientWkid(4283, "EPSG:4283", 4283, 133.0, -25.0, "esriDecimalDegrees"),
    ClientWkid(7844, "EPSG:7844", 7844, 133.0, -25.0, "esriDecimalDegrees"),
    ClientWkid(28355, "EPSG:28355", 28355, 145.0, -37.8, "esriMeters"),
    ClientWkid(7855, "EPSG:7855", 7855, 145.0, -37.8, "esriMeters"),
    ClientWkid(2193, "EPSG:2193", 2193, 174.78, -41.29, "esriMeters"),
    ClientWkid(3031, "EPSG:3031", 3031, 0.0, -80.0, "esriMeters"),
    ClientWkid(3413, "EPSG:3413", 3413, -45.0, 75.0, "esriMeters"),
]
IDS = [str(row.wkid) for row in CLIENT_WKIDS]


def answered(row: ClientWkid) -> dict[str, int]:
    """The spatial reference ArcGIS answers with (Web Mercator as 102100)."""
    return {"wkid": 102100 if row.wkid == 3857 else row.wkid, "latestWkid": row.latest}


def expected_xy(row: ClientWkid, lon: float | None = None, lat: float | None = None) -> Any:
    """pyproj's own transformation of a WGS84 place into the row's CRS (x, y order)."""
    move = Transformer.from_crs("EPSG:4326", row.reference, always_xy=True)
    return move.transform(row.lon if lon is None else lon, row.lat if lat is None else lat)


def test_the_table_has_the_codes_clients_send() -> None:
    wkids = {row.wkid for row in CLIENT_WKIDS}
    assert len(wkids) == len(CLIENT_WKIDS) >= 30
    assert {102003, 54030, 102718, 102100, 102113, 4326, 3857} <= wkids


@pytest.mark.parametrize("row", CLIENT_WKIDS, ids=IDS)
def test_every_form_of_a_wkid_resolves_to_pyprojs_crs(row: ClientWkid) -> None:
    sr = resolve(row.wkid, "outSR")
    assert sr.to_json() == answered(row)
    assert sr.units == row.units
    forms: list[object] = [
        str(row.wkid),
        f" {row.wkid} ",
        {"wkid": row.wkid},
        f'{{"wkid": {row.wkid}}}',
        {"wkid": row.wkid, "latestWkid": row.latest},
    ]
    for form in forms:
        assert resolve(form, "outSR") is sr, form
    # The coordinates are pyproj's, to the last digit: same CRS, same operation.
    mover = transformer(resolve(4326, "inSR"), sr)
    got = (row.lon, row.lat) if mover is None else mover.transform(row.lon, row.lat)
    assert got == pytest.approx(expected_xy(row), abs=1e-6)
    reference = CRS.from_user_input(row.reference)
    assert sr.crs.equals(reference, ignore_axis_order=True) or row.wkid in (102113, 900913)


@pytest.mark.parametrize("row", CLIENT_WKIDS, ids=IDS)
def test_wkt_of_every_wkid_is_named_by_its_wkid(row: ClientWkid) -> None:
    """A WKT that PROJ identifies exactly is answered as ArcGIS does, with its wkid."""
    crs = CRS.from_user_input(row.reference)
    for key, version in (("wkt", "WKT1_ESRI"), ("wkt2", "WKT2_2019")):
        wkt = crs.to_wkt(version)
        if not wkt:  # not every CRS has an Esri WKT1 (900913 has a PROJ extension)
            continue
        sr = resolve({key: wkt}, "inSR")
        assert sr.crs.equals(crs, ignore_axis_order=True), (key, sr.to_json())


def test_unknown_wkid_falls_back_to_latest_wkid_then_wkt() -> None:
    assert resolve({"wkid": 999999, "latestWkid": 2263}, "inSR").to_json() == {
        "wkid": 2263,
        "latestWkid": 2263,
    }
    wkt = CRS.from_epsg(32633).to_wkt("WKT1_ESRI")
    assert resolve({"wkid": 999999, "wkt": wkt}, "inSR").to_json()["wkid"] == 32633
    # vcsWkid (a vertical datum) does not change the horizontal coordinates.
    assert resolve({"wkid": 2193, "vcsWkid": 5773}, "inSR").to_json()["wkid"] == 2193
    assert resolve("ESRI:102003", "inSR") is resolve(102003, "inSR")
    assert resolve("EPSG:3857", "inSR").to_json() == {"wkid": 102100, "latestWkid": 3857}


def test_custom_wkt_is_answered_with_its_wkt() -> None:
    """A CRS no authority names keeps its WKT, in Esri's dialect, and transforms as pyproj."""
    custom = CRS.from_proj4("+proj=aea +lat_1=30 +lat_2=50 +lat_0=38 +lon_0=-97 +datum=NAD83")
    sr = resolve({"wkt": custom.to_wkt("WKT1_ESRI")}, "outSR")
    answer = sr.to_json()
    assert set(answer) == {"wkt"} and answer["wkt"].startswith("PROJCS[")
    assert resolve(answer, "inSR").crs.equals(custom, ignore_axis_order=True)
    mover = transformer(resolve(4326, "inSR"), sr)
    assert mover is not None
    expected = Transformer.from_crs(4326, custom, always_xy=True).transform(-98.5, 39.8)
    assert mover.transform(-98.5, 39.8) == pytest.approx(expected, abs=1e-6)
    assert sr.authority == "" and sr.units == "esriMeters"


def test_data_crs_gets_the_published_spatial_reference() -> None:
    """The importer's answer for a file's CRS: EPSG or ESRI code, or the WKT."""
    assert from_crs(CRS.from_user_input("ESRI:102003")).to_json() == {
        "wkid": 102003,
        "latestWkid": 102003,
    }
    shapefile_prj = CRS.from_wkt(CRS.from_user_input("ESRI:54030").to_wkt("WKT1_ESRI"))
    assert from_crs(shapefile_prj).to_json() == {"wkid": 54030, "latestWkid": 54030}
    assert from_crs(CRS.from_epsg(3857)).to_json() == {"wkid": 102100, "latestWkid": 3857}
    assert from_crs(CRS.from_user_input("EPSG:2193+5773")).to_json()["wkid"] == 2193
    assert esri_json("102718") == {"wkid": 102718, "latestWkid": 2263}
    with pytest.raises(InvalidParameter):
        from_crs(CRS.from_epsg(4978))  # geocentric: no x/y to query


HOSTILE: list[object] = [
    0,
    -1,
    -102100,
    2**31,
    2**64,
    10**5000,
    "9" * 5000,
    "-4326",
    "\u0663\u0662\u0666",  # Arabic-Indic digits: int() takes them, wkids are ASCII
    "²",
    "1e999",
    '"1e999"',
    "4326.5",
    "",
    "   ",
    "not-a-crs",
    "EPSG:999999",
    "FOO:4326",
    "+proj=longlat",
    "GEOGCS[]",
    "GEOGCS[" * 5000,
    "PROJCS[" + "x" * 40_000 + "]",
    '{"wkid": "abc"}',
    '{"wkid": true}',
    '{"wkid": null}',
    '{"wkid": [4326]}',
    '{"wkid": {"wkid": 4326}}',
    '{"wkid": 1e400}',
    '{"wkid": 4326.5}',
    '{"latestWkid": -5}',
    '{"wkt": 4326}',
    '{"wkt": "garbage"}',
    '{"wkt2": "PROJCRS[]"}',
    "{not json",
    "[4326]",
    "{}",
    None,
    True,
    4326.0,
    [4326],
    {"wkid": 4978},  # geocentric
    {"wkt": 'GEOGCS["x",DATUM["d",SPHEROID["s",6378137,298]],PRIMEM["G",0],UNIT["degree",0]]'},
    {
        "wkt": 'ENGCRS["x",EDATUM["y"],CS[Cartesian,2],AXIS["x",east],AXIS["y",north],'
        'LENGTHUNIT["metre",1]]'
    },
]


@pytest.mark.parametrize("value", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_bad_spatial_references_are_400_and_fast(value: object) -> None:
    start = time.perf_counter()
    with pytest.raises(InvalidParameter) as raised:
        resolve(value, "outSR")
    assert time.perf_counter() - start < 2
    error = raised.value
    assert error.code == 400 and error.details[0] == "'outSR' parameter is invalid"


def test_resolutions_and_transformers_are_cached() -> None:
    first = resolve(102003, "outSR")
    assert resolve({"wkid": 102003}, "inSR") is first
    wgs84 = resolve(4326, "inSR")
    assert transformer(wgs84, first) is transformer(wgs84, first)
    assert transformer(first, first) is None
    assert isinstance(resolve(first, "outSR"), SpatialReference)
    start = time.perf_counter()
    for _ in range(1000):
        resolve("102003", "outSR")
    assert time.perf_counter() - start < 0.5
