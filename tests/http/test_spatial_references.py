"""Esri's own spatial references through the API: outSR, inSR, a geometry's own
spatialReference, published layers in ESRI codes, and edits, checked against pyproj.

Every wkid of ``CLIENT_WKIDS`` (the codes ArcGIS Pro and the JS API send) is asked for as
``outSR`` and as ``inSR`` on a layer with one place per wkid, inside that CRS's area of use.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import CRS, Transformer

from tests.conftest import LiveSite
from tests.engines.test_spatial_references import (
    CLIENT_WKIDS,
    IDS,
    ClientWkid,
    answered,
    expected_xy,
)
from tests.http.test_publishing import publish

_POINT = "esriGeometryPoint"
ALBERS_PLACES = [(-98.5, 39.8), (-73.95, 40.7), (-122.27, 37.8)]


def _places(path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {"code": row.wkid},
        }
        for row in CLIENT_WKIDS
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _in_crs(path: Path, crs: str) -> Path:
    """A GeoPackage of ``ALBERS_PLACES`` stored in ``crs`` (as a user's file would be)."""
    move = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    points = [shapely.Point(move.transform(lon, lat)) for lon, lat in ALBERS_PLACES]
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(p) for p in points], dtype=object),
        [np.arange(len(points), dtype="int32")],
        ["n"],
        layer=path.stem,
        driver="GPKG",
        geometry_type="Point",
        crs=crs,
    )
    return path


@pytest.fixture(scope="module")
def services(site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("srs")
    for path, name, capabilities in [
        (_places(folder / "places.geojson"), "Places", "Query,Create,Update,Delete"),
        (_in_crs(folder / "albers.gpkg", "ESRI:102003"), "Albers", "Query"),
        (_in_crs(folder / "longisland.gpkg", "ESRI:102718"), "LongIsland", "Query"),
    ]:
        assert publish(site, admin_token, path, name, capabilities=capabilities)["status"] == (
            "success"
        )
    return site.http + "/arcgis/rest/services"


def _get(url: str, **params: Any) -> dict[str, Any]:
    params.setdefault("f", "json")
    answer = httpx.get(url, params=params, timeout=60)
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def _query(services: str, service: str = "Places", **params: Any) -> dict[str, Any]:
    params.setdefault("where", "1=1")
    params.setdefault("outFields", "*")
    return _get(f"{services}/{service}/FeatureServer/0/query", **params)


@pytest.mark.parametrize("row", CLIENT_WKIDS, ids=IDS)
def test_out_sr_matches_pyproj(services: str, row: ClientWkid) -> None:
    for out_sr in (str(row.wkid), json.dumps({"wkid": row.wkid, "latestWkid": row.latest})):
        body = _query(services, where=f"code = {row.wkid}", outSR=out_sr)
        assert "error" not in body, body
        assert body["spatialReference"] == answered(row)
        (feature,) = body["features"]
        got = (feature["geometry"]["x"], feature["geometry"]["y"])
        assert got == pytest.approx(expected_xy(row), abs=1e-6)


@pytest.mark.parametrize("row", CLIENT_WKIDS, ids=IDS)
def test_in_sr_finds_the_place(services: str, row: ClientWkid) -> None:
    x, y = expected_xy(row)
    d = 1e-4 if row.units == "esriDecimalDegrees" else 5.0
    box = {"xmin": x - d, "ymin": y - d, "xmax": x + d, "ymax": y + d}
    forms = [
        {"geometry": json.dumps(box), "inSR": str(row.wkid)},
        {"geometry": f"{x - d},{y - d},{x + d},{y + d}", "inSR": json.dumps({"wkid": row.wkid})},
        {"geometry": json.dumps({**box, "spatialReference": {"wkid": row.wkid}})},
        {
            "geometry": json.dumps({"x": x, "y": y, "spatialReference": answered(row)}),
            "geometryType": _POINT,
            "distance": "10",
            "units": "esriSRUnit_Meter",
        },
    ]
    for form in forms:
        body = _query(services, returnGeometry="false", **form)
        assert "error" not in body, (form, body)
        codes = {f["attributes"]["code"] for f in body["features"]}
        assert row.wkid in codes, form
        assert len(codes) < len(CLIENT_WKIDS) / 3  # the box, not the world


def test_wkt_and_wkt2_in_and_out(services: str) -> None:
    custom = CRS.from_proj4("+proj=aea +lat_1=30 +lat_2=50 +lat_0=38 +lon_0=-97 +datum=NAD83")
    body = _query(
        services, where="code = 102003", outSR=json.dumps({"wkt": custom.to_wkt("WKT1_ESRI")})
    )
    assert set(body["spatialReference"]) == {"wkt"}
    expected = Transformer.from_crs(4326, custom, always_xy=True).transform(-98.5, 39.8)
    geometry = body["features"][0]["geometry"]
    assert (geometry["x"], geometry["y"]) == pytest.approx(expected, abs=1e-6)
    # The same place asked for in ESRI:102003 given as WKT2: answered with its wkid.
    albers = CRS.from_user_input("ESRI:102003")
    x, y = Transformer.from_crs(4326, albers, always_xy=True).transform(-98.5, 39.8)
    body = _query(
        services,
        geometry=f"{x - 5},{y - 5},{x + 5},{y + 5}",
        inSR=json.dumps({"wkt2": albers.to_wkt("WKT2_2019")}),
        outSR=json.dumps({"wkt": albers.to_wkt("WKT1_ESRI")}),
        returnGeometry="true",
    )
    assert body["spatialReference"] == {"wkid": 102003, "latestWkid": 102003}
    assert 102003 in {f["attributes"]["code"] for f in body["features"]}


@pytest.mark.parametrize(
    ("service", "source", "sr", "units"),
    [
        ("Albers", "ESRI:102003", {"wkid": 102003, "latestWkid": 102003}, "esriMeters"),
        ("LongIsland", "ESRI:102718", None, "esriFeet"),
    ],
)
def test_layers_published_in_esri_codes(
    services: str, service: str, source: str, sr: dict[str, int] | None, units: str
) -> None:
    root = _get(f"{services}/{service}/FeatureServer")
    layer = _get(f"{services}/{service}/FeatureServer/0")
    assert root["units"] == units
    published = layer["extent"]["spatialReference"]
    if sr is None:  # NY Long Island feet: Esri's 102718 or EPSG's 2263, both current as 2263
        assert published["wkid"] in (102718, 2263) and published["latestWkid"] == 2263
    else:
        assert published == sr
    assert root["spatialReference"] == published == root["fullExtent"]["spatialReference"]
    body = _query(services, service, outSR="4326", orderByFields="n")
    got = [c for f in body["features"] for c in (f["geometry"]["x"], f["geometry"]["y"])]
    # there and back through pyproj: the stored coordinates, returned to WGS84
    there = Transformer.from_crs("EPSG:4326", source, always_xy=True)
    back = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    expected = [c for p in ALBERS_PLACES for c in back.transform(*there.transform(*p))]
    assert got == pytest.approx(expected, abs=1e-9)
    # Robinson, from a layer in Albers: the extent too.
    extent = _query(services, service, returnExtentOnly="true", outSR="54030")["extent"]
    assert extent["spatialReference"] == {"wkid": 54030, "latestWkid": 54030}
    robinson = Transformer.from_crs(source, "ESRI:54030", always_xy=True)
    xs, ys = zip(*(robinson.transform(*there.transform(*p)) for p in ALBERS_PLACES), strict=True)
    assert [extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]] == pytest.approx(
        [min(xs), min(ys), max(xs), max(ys)], abs=1e-6
    )


def test_edits_take_esri_spatial_references(services: str, admin_token: str) -> None:
    url = f"{services}/Places/FeatureServer/0"
    adds: list[dict[str, Any]] = []
    expected: list[float] = []
    for wkid, reference, (lon, lat) in [
        (102003, "ESRI:102003", (-100.0, 41.0)),
        (54030, "ESRI:54030", (30.0, 5.0)),
        (102718, "ESRI:102718", (-73.5, 40.8)),
    ]:
        x, y = Transformer.from_crs(4326, reference, always_xy=True).transform(lon, lat)
        adds.append(
            {
                "attributes": {"code": -wkid},
                "geometry": {"x": x, "y": y, "spatialReference": {"wkid": wkid}},
            }
        )
        # pyproj's own way back (Robinson's inverse is iterative: 2 cm off the start)
        back = Transformer.from_crs(reference, 4326, always_xy=True).transform(x, y)
        expected.extend(back)
        assert back == pytest.approx((lon, lat), abs=1e-6)
    answer = httpx.post(
        f"{url}/applyEdits",
        data={"f": "json", "token": admin_token, "adds": json.dumps(adds)},
        timeout=60,
    ).json()
    assert all(item["success"] for item in answer["addResults"]), answer
    body = _query(services, where="code < 0", orderByFields="code ASC", outSR="4326")
    got = [c for f in body["features"] for c in (f["geometry"]["x"], f["geometry"]["y"])]
    # -102718, -102003, -54030
    assert got == pytest.approx([*expected[4:], *expected[:2], *expected[2:4]], abs=1e-9)
    refused = httpx.post(
        f"{url}/addFeatures",
        data={
            "f": "json",
            "token": admin_token,
            "features": json.dumps(
                [{"geometry": {"x": 1, "y": 2, "spatialReference": {"wkid": 7}}}]
            ),
        },
        timeout=60,
    ).json()
    assert refused["addResults"][0]["success"] is False
    assert "spatial reference" in refused["addResults"][0]["error"]["description"]


@pytest.mark.parametrize(
    "params",
    [
        {"outSR": "102003x"},
        {"outSR": "-102003"},
        {"outSR": "99999999999999999999"},
        {"outSR": "9" * 5000},
        {"outSR": '{"wkid": "Robinson"}'},
        {"outSR": '{"wkid": [54030]}'},
        {"outSR": '{"wkid": true}'},
        {"outSR": '{"wkt": "PROJCS[garbage]"}'},
        {"outSR": '{"wkt2": 54030}'},
        {"outSR": "GEOGCS[" * 3000},
        {"outSR": "ESRI:1"},
        {"inSR": "54199", "geometry": "1,2,3,4"},
        {"inSR": '{"wkid": 4978}', "geometry": "1,2,3,4"},
        {"geometry": '{"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4, "spatialReference": -1}'},
        {"geometry": '{"x": 1, "y": 2, "spatialReference": {"wkt": "x"}}', "geometryType": _POINT},
    ],
    ids=lambda params: next(iter(params.values()))[:30],
)
def test_bad_spatial_references_answer_400(services: str, params: dict[str, str]) -> None:
    start = time.monotonic()
    body = _query(services, **params)
    assert time.monotonic() - start < 5
    assert body["error"]["code"] == 400, body
    assert any("spatial reference" in d.lower() for d in body["error"]["details"]), body
