"""Coordinates outside the coordinate system (issue 16, item 4).

An edit whose coordinates lie far outside its spatial reference's area (a longitude of 1e308
in WGS 84) is refused per feature and the layer stays as it was; a query geometry out there is
a 400 (an envelope is cut to the area); and no answer carries ``NaN``, ``Infinity`` or
``null`` where a number belongs, even for data that other programs stored with such values.
Answers are parsed with a strict JSON parser (RFC 8259: no NaN, no Infinity).
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pg
from tests.conftest import ON_POSTGIS, LiveSite
from tests.http.test_publishing import publish


def _strict(response: httpx.Response) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in an answer: {response.text[:300]}")

    return json.loads(response.text, parse_constant=refuse)


def _numbers(*values: Any) -> None:
    for value in values:
        assert isinstance(value, int | float) and math.isfinite(value), values


def _points_file(path: Path) -> Path:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(1, 4)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _lines_file(path: Path) -> Path:
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    features = [{"type": "Feature", "geometry": line, "properties": {}}]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture(scope="module")
def bounded(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveSite, str]:
    folder = tmp_path_factory.mktemp("bounds")
    token = site.token()
    for name, path in (
        ("Places", _points_file(folder / "p.geojson")),
        ("Stored", _points_file(folder / "s.geojson")),
        ("Lines", _lines_file(folder / "l.geojson")),
    ):
        answer = publish(site, token, path, name, capabilities="Query,Editing")
        assert answer["status"] == "success", answer
    return site, token


def _url(site: LiveSite, service: str, rest: str = "") -> str:
    return f"{site.http}/arcgis/rest/services/{service}/FeatureServer{rest}"


def _state(site: LiveSite, service: str) -> tuple[Any, Any]:
    layer = _strict(httpx.get(_url(site, service, "/0"), params={"f": "json"}))
    rows = _strict(
        httpx.get(
            _url(site, service, "/0/query"),
            params={"f": "json", "where": "1=1", "outFields": "*", "orderByFields": "OBJECTID"},
        )
    )
    return layer["extent"], rows["features"]


def _add(site: LiveSite, token: str, service: str, features: list[Any]) -> Any:
    return _strict(
        httpx.post(
            _url(site, service, "/0/addFeatures"),
            data={"f": "json", "token": token, "features": json.dumps(features)},
        )
    )


@pytest.mark.parametrize(
    "geometry",
    [
        {"x": 1e308, "y": 0},
        {"x": 0, "y": 1e308},
        {"x": 10, "y": 91},
        {"x": 1e20, "y": 0, "spatialReference": {"wkid": 3857}},
        {"x": -1e308, "y": -1e308, "spatialReference": {"wkid": 102100}},
    ],
)
def test_edits_far_outside_are_refused(bounded: tuple[LiveSite, str], geometry: Any) -> None:
    site, token = bounded
    before = _state(site, "Places")
    answer = _add(site, token, "Places", [{"geometry": geometry, "attributes": {}}])
    (only,) = answer["addResults"]
    assert only["success"] is False and only["error"]["code"] == 1000, answer
    assert "far outside" in only["error"]["description"]
    assert _state(site, "Places") == before


def test_lines_far_outside_are_refused(bounded: tuple[LiveSite, str]) -> None:
    site, token = bounded
    before = _state(site, "Lines")
    line = {"paths": [[[0, 0], [1e308, 0]]]}
    (only,) = _add(site, token, "Lines", [{"geometry": line, "attributes": {}}])["addResults"]
    assert only["success"] is False and "far outside" in only["error"]["description"]
    assert _state(site, "Lines") == before
    # Within the area (a longitude beyond 180 is still on the Earth) is fine.
    line = {"paths": [[[170, 0], [190, 10]]]}
    (only,) = _add(site, token, "Lines", [{"geometry": line, "attributes": {}}])["addResults"]
    assert only["success"] is True


def test_query_geometries_far_outside(bounded: tuple[LiveSite, str]) -> None:
    site, _ = bounded
    url = _url(site, "Places", "/0/query")
    far = {"f": "json", "geometry": '{"x": 1e308, "y": 0}', "geometryType": "esriGeometryPoint"}
    answer = _strict(httpx.get(url, params=far))
    assert answer["error"]["code"] == 400
    assert "far outside" in " ".join(answer["error"]["details"])
    # A world-spanning envelope (clients send +-1e38 to mean everywhere) is cut to the area.
    world = {"f": "json", "geometry": "-1e308,-1e308,1e308,1e308", "returnCountOnly": "true"}
    assert _strict(httpx.get(url, params=world))["count"] >= 3
    world["inSR"] = "3857"
    assert _strict(httpx.get(url, params=world))["count"] >= 3


def _write_raw(site: LiveSite, service: str, points: list[tuple[float, float]]) -> None:
    """Points written straight into the service's GeoPackage (or PostGIS table), as another
    program could."""
    data = site.store.get_service("", service, "FeatureServer").data
    table = data.layers[0].table
    if ON_POSTGIS:
        pg.write_raw_points(data.location, table, data.layers[0].geometry_field, points)
        return
    conn = sqlite3.connect(data.location)
    try:
        for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            conn.create_function(name, 1, lambda blob: 0.0)
        conn.create_function("ST_IsEmpty", 1, lambda blob: 0)
        (srs_id,) = conn.execute(
            "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
        ).fetchone()
        for x, y in points:
            blob = b"GP\x00\x01" + struct.pack("<iBIdd", srs_id, 1, 1, x, y)
            conn.execute(f'INSERT INTO "{table}" ("Shape") VALUES (?)', (blob,))
        conn.execute(
            "UPDATE gpkg_contents SET max_x = 9e999, min_y = -9e999 WHERE table_name = ?",
            (table,),
        )
        conn.commit()
    finally:
        conn.close()


def test_stored_values_never_reach_an_answer(bounded: tuple[LiveSite, str]) -> None:
    site, _ = bounded
    _write_raw(site, "Stored", [(1e308, 0), (math.inf, 1), (math.nan, 2), (10, 90), (5, 5)])
    layer = _strict(httpx.get(_url(site, "Stored", "/0"), params={"f": "json"}))
    extent = layer["extent"]
    _numbers(extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"])
    service = _strict(httpx.get(_url(site, "Stored"), params={"f": "json"}))
    full = service["fullExtent"]
    _numbers(full["xmin"], full["ymin"], full["xmax"], full["ymax"])
    url = _url(site, "Stored", "/0/query")
    for out_sr in ("", "3857", "4326"):
        params = {"f": "json", "where": "1=1", "outFields": "*", "outSR": out_sr}
        answer = _strict(httpx.get(url, params=params))
        assert len(answer["features"]) == 8
        for feature in answer["features"]:
            geometry = feature["geometry"]
            if geometry is not None:  # a point that cannot be answered has no geometry
                _numbers(geometry["x"], geometry["y"])
        kept = [f["geometry"] for f in answer["features"] if f["geometry"] is not None]
        assert {"x": 5.0, "y": 5.0} in kept or out_sr == "3857"
        box = _strict(httpx.get(url, params={**params, "returnExtentOnly": "true"}))["extent"]
        _numbers(box["xmin"], box["ymin"], box["xmax"], box["ymax"])
        geojson = _strict(httpx.get(url, params={**params, "f": "geojson"}))
        for feature in geojson["features"]:
            if feature["geometry"] is not None:
                _numbers(*feature["geometry"]["coordinates"])
        # Statistics of the object ids still answer numbers.
        stats = json.dumps(
            [{"statisticType": "max", "onStatisticField": "OBJECTID", "outStatisticFieldName": "m"}]
        )
        answer = _strict(httpx.get(url, params={"f": "json", "outStatistics": stats}))
        _numbers(answer["features"][0]["attributes"]["m"])
    # In 3857, 1e308, Infinity and NaN have no geometry; the others keep theirs (PROJ gives
    # the pole a large but finite y).
    params = {"f": "json", "where": "1=1", "outSR": "3857", "orderByFields": "OBJECTID"}
    answer = _strict(httpx.get(url, params=params))
    missing = [f["geometry"] is None for f in answer["features"]]
    assert missing == [False, False, False, True, True, True, False, False]
    for object_id in range(1, 9):
        one = _strict(httpx.get(_url(site, "Stored", f"/0/{object_id}"), params={"f": "json"}))
        geometry = one["feature"].get("geometry")
        if geometry is not None:
            _numbers(geometry["x"], geometry["y"])
