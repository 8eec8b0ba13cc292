"""Every upload format publishes: CSV, GeoJSON, GeoPackage, zipped file geodatabase."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio.raw
import pytest
import shapely

from tests.conftest import LiveSite
from tests.http.test_publishing import publish

POINTS = [
    (-73.98, 40.75, "New York", 8804190),
    (2.35, 48.86, "Paris", 2165423),
    (139.69, 35.69, "Tokyo", 13960000),
    (-43.2, -22.9, "Rio de Janeiro", 6748000),
]


def _query(site: LiveSite, service: str, **params: Any) -> dict[str, Any]:
    url = f"{site.http}/arcgis/rest/services/{service}/FeatureServer/0/query"
    return httpx.get(url, params={"f": "json", **params}).json()  # type: ignore[no-any-return]


def _check_points(site: LiveSite, service: str) -> None:
    body = _query(site, service, where="1=1", outFields="*", orderByFields="population DESC")
    names = [f["attributes"]["name"] for f in body["features"]]
    assert names == ["Tokyo", "New York", "Rio de Janeiro", "Paris"]
    tokyo = body["features"][0]
    assert tokyo["geometry"] == {"x": pytest.approx(139.69), "y": pytest.approx(35.69)}
    assert tokyo["attributes"]["population"] == 13960000
    assert body["spatialReference"]["wkid"] == 4326


def _write(path: Path, driver: str) -> Path:
    geometry = np.array(
        [shapely.to_wkb(shapely.Point(x, y)) for x, y, _, _ in POINTS], dtype=object
    )
    names = np.array([p[2] for p in POINTS], dtype=object)
    population = np.array([p[3] for p in POINTS], dtype="int32")
    pyogrio.raw.write(
        path,
        geometry,
        [names, population],
        ["name", "population"],
        layer="cities",
        driver=driver,
        geometry_type="Point",
        crs="EPSG:4326",
    )
    return path


def test_csv(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    csv = tmp_path / "cities.csv"
    csv.write_text(
        "name,population,lon,lat\n"
        + "".join(f"{name},{pop},{x},{y}\n" for x, y, name, pop in POINTS)
    )
    assert publish(site, admin_token, csv, "CsvCities")["status"] == "success"
    _check_points(site, "CsvCities")


def test_geojson(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    path = tmp_path / "cities.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [x, y]},
                        "properties": {"name": name, "population": pop},
                    }
                    for x, y, name, pop in POINTS
                ],
            }
        )
    )
    assert publish(site, admin_token, path, "GeoJsonCities")["status"] == "success"
    _check_points(site, "GeoJsonCities")


def test_geopackage(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "cities.gpkg", "GPKG")
    assert publish(site, admin_token, path, "GpkgCities")["status"] == "success"
    _check_points(site, "GpkgCities")


def test_zipped_file_geodatabase(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    gdb = _write(tmp_path / "cities.gdb", "OpenFileGDB")
    archive = tmp_path / "cities_gdb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in gdb.rglob("*"):
            zf.write(file, file.relative_to(tmp_path))
    answer = publish(site, admin_token, archive, "GdbCities")
    assert answer["status"] == "success", answer
    _check_points(site, "GdbCities")


def test_multiple_layers_become_layers(site: LiveSite, admin_token: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "two.gpkg", "GPKG")
    line = np.array([shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)]))], dtype=object)
    pyogrio.raw.write(
        path,
        line,
        [np.array(["a"], dtype=object)],
        ["label"],
        layer="roads",
        driver="GPKG",
        geometry_type="LineString",
        crs="EPSG:4326",
        append=True,
    )
    assert publish(site, admin_token, path, "TwoLayers")["status"] == "success"
    root = httpx.get(
        f"{site.http}/arcgis/rest/services/TwoLayers/FeatureServer", params={"f": "json"}
    ).json()
    assert [(layer["id"], layer["geometryType"]) for layer in root["layers"]] == [
        (0, "esriGeometryPoint"),
        (1, "esriGeometryPolyline"),
    ]
    road = httpx.get(
        f"{site.http}/arcgis/rest/services/TwoLayers/FeatureServer/1/1", params={"f": "json"}
    ).json()["feature"]
    assert road["geometry"]["paths"] == [[[0.0, 0.0], [1.0, 1.0]]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,population\nx,1\n", "has no geometry"),  # a CSV without coordinates
        ('{"type": "FeatureCollection", "features": []}', "is empty"),
    ],
)
def test_unpublishable_files(
    site: LiveSite, admin_token: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / ("bad.csv" if content.startswith("name") else "bad.geojson")
    path.write_text(content)
    answer = publish(site, admin_token, path, "Bad" + path.suffix[1:])
    assert answer["status"] == "error" and answer["code"] == 400
    assert message in " ".join(answer["messages"])


def test_point_boxes_are_exact_at_the_edges(
    site: LiveSite, admin_token: str, tmp_path: Path
) -> None:
    """The R*Tree rounds bounds outwards to 32-bit floats; answers must not."""
    # 10.0000005 lies between the 32-bit floats 10.0 and 10.00000095: its index box reaches
    # past 10.0000008 although the point does not.
    xs = [10.0, 10.0000005, 10.000002, 10.5]
    path = tmp_path / "edge.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [x, 45.0]},
                        "properties": {"n": i},
                    }
                    for i, x in enumerate(xs)
                ],
            }
        )
    )
    assert publish(site, admin_token, path, "Edges")["status"] == "success"
    box = "10.0000008,44,11,46"
    inside = {i for i, x in enumerate(xs) if x >= 10.0000008}
    assert _query(site, "Edges", geometry=box, returnCountOnly="true") == {"count": len(inside)}
    ids = _query(site, "Edges", geometry=box, returnIdsOnly="true")["objectIds"]
    assert {i - 1 for i in ids} == inside
    page = _query(site, "Edges", geometry=box, outFields="n", returnGeometry="false")
    assert {f["attributes"]["n"] for f in page["features"]} == inside
    # With geometries, the first page is read from the index alone when every candidate is in
    # the box, and checked in SQL otherwise: here a candidate is not, at every offset.
    for params in ({}, {"resultRecordCount": "1"}, {"resultOffset": "1"}):
        page = _query(site, "Edges", geometry=box, outFields="n", **params)
        expected = sorted(inside)[int(params.get("resultOffset", 0)) :]
        expected = expected[: int(params.get("resultRecordCount", len(expected)))]
        assert [f["attributes"]["n"] for f in page["features"]] == expected
        assert all(f["geometry"]["x"] >= 10.0000008 for f in page["features"])
    on_edge = _query(site, "Edges", geometry="10,44,11,46", returnCountOnly="true")
    assert on_edge == {"count": 4}  # the point on the box's edge intersects it
