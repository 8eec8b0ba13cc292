"""Editing features: add, update, delete and applyEdits, checked by querying back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pg
from tests.conftest import ON_POSTGIS, LiveSite
from tests.http.test_publishing import publish

EDITABLE = "Query,Create,Update,Delete"


def _points(path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"name": f"p{i}", "n": i, "seen": "2024-01-02T03:04:05Z"},
        }
        for i in range(1, 4)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def square_polygon_file(path: Path) -> Path:
    """A GeoJSON file of one unit square (``name`` 'a')."""
    square = [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": square},
        "properties": {"name": "a"},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def _populate(site: LiveSite, folder: Path) -> tuple[LiveSite, str]:
    token = site.token()
    points = _points(folder / "points.geojson")
    assert publish(site, token, points, "Points", capabilities=EDITABLE)["status"] == "success"
    assert publish(site, token, points, "ReadOnly")["status"] == "success"
    shapes = square_polygon_file(folder / "shapes.geojson")
    answer = publish(site, token, shapes, "Shapes", capabilities="Query,Editing")
    assert answer["status"] == "success"
    return site, token


@pytest.fixture
def edit_site(fresh_site: LiveSite, tmp_path: Path) -> tuple[LiveSite, str]:
    """Points (editable), ReadOnly and Shapes (Editing), on a site of the test's own."""
    return _populate(fresh_site, tmp_path)


@pytest.fixture(scope="module")
def refusing_site(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveSite, str]:
    """The same services, shared by the tests whose edits are all refused."""
    return _populate(site, tmp_path_factory.mktemp("data"))


def _edit(site: LiveSite, path: str, token: str | None, **params: Any) -> Any:
    data = {
        "f": "json",
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()},
    }
    if token is not None:
        data["token"] = token
    url = f"{site.http}/arcgis/rest/services/{path}"
    return httpx.post(url, data=data, timeout=60).json()


def _features(site: LiveSite, path: str = "Points", **params: str) -> list[dict[str, Any]]:
    url = f"{site.http}/arcgis/rest/services/{path}/FeatureServer/0/query"
    query = {"f": "json", "where": "1=1", "outFields": "*", "orderByFields": "OBJECTID", **params}
    return httpx.get(url, params=query).json()["features"]  # type: ignore[no-any-return]


def test_add_update_delete(edit_site: tuple[LiveSite, str]) -> None:
    site, token = edit_site
    added = _edit(
        site,
        "Points/FeatureServer/0/addFeatures",
        token,
        features=[
            {
                "attributes": {"name": "new", "n": 7, "seen": 86_400_000},
                "geometry": {"x": 5, "y": 6},
            },
            {"attributes": {"NAME": "other"}, "geometry": {"x": 7, "y": 8}},
        ],
    )
    assert added == {
        "addResults": [
            {"objectId": 4, "globalId": None, "success": True},
            {"objectId": 5, "globalId": None, "success": True},
        ]
    }
    rows = _features(site)
    assert [r["attributes"]["OBJECTID"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[3]["attributes"] == {"OBJECTID": 4, "name": "new", "n": 7, "seen": 86_400_000}
    assert rows[3]["geometry"] == {"x": 5.0, "y": 6.0}
    assert rows[4]["attributes"]["n"] is None
    boxed = _features(site, geometry="4.5,5.5,5.5,6.5", geometryType="esriGeometryEnvelope")
    assert [r["attributes"]["OBJECTID"] for r in boxed] == [4]  # the R*Tree knows it

    updated = _edit(
        site,
        "Points/FeatureServer/0/updateFeatures",
        token,
        features=[{"attributes": {"OBJECTID": 4, "n": 70}, "geometry": {"x": 50, "y": 60}}],
    )
    assert updated == {"updateResults": [{"objectId": 4, "globalId": None, "success": True}]}
    row = _features(site, objectIds="4")[0]
    assert row["attributes"]["n"] == 70 and row["attributes"]["name"] == "new"
    assert row["geometry"] == {"x": 50.0, "y": 60.0}
    assert _features(site, geometry="4.5,5.5,5.5,6.5", geometryType="esriGeometryEnvelope") == []
    layer = httpx.get(f"{site.http}/arcgis/rest/services/Points/FeatureServer/0?f=json").json()
    extent = layer["extent"]  # widened by the edit
    assert (extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]) == (1, 1, 50, 60)
    assert layer["allowGeometryUpdates"] is True

    deleted = _edit(site, "Points/FeatureServer/0/deleteFeatures", token, objectIds="4,5")
    assert [r["objectId"] for r in deleted["deleteResults"]] == [4, 5]
    by_where = _edit(site, "Points/FeatureServer/0/deleteFeatures", token, where="n >= 2")
    assert [r["objectId"] for r in by_where["deleteResults"]] == [2, 3]
    assert [r["attributes"]["OBJECTID"] for r in _features(site)] == [1]
    count = httpx.get(
        f"{site.http}/arcgis/rest/services/Points/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert count == {"count": 1}  # the maintained count follows


def test_apply_edits_and_rollback(edit_site: tuple[LiveSite, str]) -> None:
    site, token = edit_site
    good = {"attributes": {"name": "ok"}, "geometry": {"x": 1, "y": 1}}
    bad = {"attributes": {"colour": "red"}, "geometry": {"x": 1, "y": 1}}
    rolled = _edit(
        site,
        "Points/FeatureServer/0/applyEdits",
        token,
        adds=[good, bad],
        updates=[{"attributes": {"OBJECTID": 1, "n": 100}}],
        deletes="2",
    )
    assert rolled["addResults"][0] == {
        "objectId": None,
        "globalId": None,
        "success": False,
        "error": {"code": 1003, "description": "Operation rolled back."},
    }
    assert rolled["addResults"][1]["success"] is False
    assert "colour" in rolled["addResults"][1]["error"]["description"]
    assert rolled["updateResults"][0]["error"]["code"] == 1003
    assert rolled["deleteResults"][0] == {
        "objectId": 2,
        "globalId": None,
        "success": False,
        "error": {"code": 1003, "description": "Operation rolled back."},
    }
    rows = _features(site)
    assert [r["attributes"]["OBJECTID"] for r in rows] == [1, 2, 3]
    assert rows[0]["attributes"]["n"] == 1  # nothing changed

    partial = _edit(
        site,
        "Points/FeatureServer/0/applyEdits",
        token,
        adds=[good, bad],
        deletes=[2, 99],
        rollbackOnFailure="false",
        returnEditMoment="true",
    )
    assert [r["success"] for r in partial["addResults"]] == [True, False]
    assert partial["deleteResults"][1] == {
        "objectId": 99,
        "globalId": None,
        "success": False,
        "error": {
            "code": -1,
            "description": "Delete for the object was not attempted. Object may not exist.",
        },
    }
    assert isinstance(partial["editMoment"], int)
    # A GeoPackage gives the rolled-back add's OBJECTID (4) again; PostGIS takes ids from a
    # sequence, which a rollback does not rewind (an accepted difference): 5 there.
    added = partial["addResults"][0]["objectId"]
    assert added == (5 if ON_POSTGIS else 4)
    assert [r["attributes"]["OBJECTID"] for r in _features(site)] == [1, 3, added]


def test_adds_with_and_without_geometry_in_one_request(edit_site: tuple[LiveSite, str]) -> None:
    """One request's adds may differ in having a geometry (PostGIS sends them in batches of
    one statement's shape: a missing geometry is another statement)."""
    site, token = edit_site
    adds = [
        {"attributes": {"name": "a"}, "geometry": None},
        {"attributes": {"name": "b"}, "geometry": {"x": 2, "y": 3}},
        {"attributes": {"name": "c"}},
        {"attributes": {"name": "d"}, "geometry": {"x": 4, "y": 5}},
    ]
    answer = _edit(site, "Points/FeatureServer/0/addFeatures", token, features=adds)
    results = answer["addResults"]
    assert [r["success"] for r in results] == [True] * 4, answer
    ids = [r["objectId"] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 4
    rows = _features(site, objectIds=",".join(map(str, ids)), orderByFields="OBJECTID")
    assert [r["attributes"]["name"] for r in rows] == ["a", "b", "c", "d"]
    assert [r.get("geometry") for r in rows] == [None, {"x": 2, "y": 3}, None, {"x": 4, "y": 5}]
    assert len(_features(site)) == 7


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        (
            {"attributes": {"n": "seven"}, "geometry": {"x": 1, "y": 1}},
            "Field 'n' needs an integer",
        ),
        ({"attributes": {"n": 2**40}, "geometry": {"x": 1, "y": 1}}, "Field 'n' needs an integer"),
        ({"attributes": {"name": 5}, "geometry": {"x": 1, "y": 1}}, "Field 'name' needs a string"),
        ({"attributes": {"name": "x" * 300}, "geometry": {"x": 1, "y": 1}}, "at most 255"),
        ({"attributes": {"seen": "today"}, "geometry": {"x": 1, "y": 1}}, "epoch milliseconds"),
        ({"attributes": {}, "geometry": {"paths": [[[0, 0], [1, 1]]]}}, "holds points"),
        ({"attributes": {}, "geometry": {"x": "a", "y": 1}}, "must be numbers"),
        ({"attributes": {}, "geometry": {"x": None, "y": 1}}, "must be numbers"),
        ({"attributes": {}, "geometry": [1, 2]}, "JSON object"),
        (
            {"attributes": {}, "geometry": {"x": 1, "y": 1, "spatialReference": {"wkid": 1}}},
            "spatial reference",
        ),
        ("not a feature", "JSON object"),
    ],
)
def test_invalid_features_name_the_problem(
    refusing_site: tuple[LiveSite, str], feature: Any, words: str
) -> None:
    site, token = refusing_site
    answer = _edit(site, "Points/FeatureServer/0/addFeatures", token, features=[feature])
    (item,) = answer["addResults"]
    assert item["success"] is False and item["error"]["code"] == 1000
    assert words in item["error"]["description"]
    assert len(_features(site)) == 3


def test_projection_polygons_and_service_level_edits(edit_site: tuple[LiveSite, str]) -> None:
    site, token = edit_site
    mercator = {"x": 111319.49079327357, "y": 0.0, "spatialReference": {"wkid": 102100}}
    answer = _edit(
        site, "Points/FeatureServer/0/addFeatures", token, features=[{"geometry": mercator}]
    )
    oid = answer["addResults"][0]["objectId"]
    geometry = _features(site, objectIds=str(oid))[0]["geometry"]
    assert abs(geometry["x"] - 1.0) < 1e-9 and abs(geometry["y"]) < 1e-9
    # Counter-clockwise outer ring (GeoJSON habit): still a polygon, stored and read back
    # with ArcGIS's orientation.
    ring = [[10, 10], [12, 10], [12, 12], [10, 12], [10, 10]]
    edits = [{"id": 0, "adds": [{"attributes": {"name": "b"}, "geometry": {"rings": [ring]}}]}]
    answer = _edit(site, "Shapes/FeatureServer/applyEdits", token, edits=edits)
    assert answer == [
        {
            "id": 0,
            "addResults": [{"objectId": 2, "globalId": None, "success": True}],
            "updateResults": [],
            "deleteResults": [],
        }
    ]
    shape = _features(site, "Shapes", objectIds="2")[0]["geometry"]
    assert shape["rings"] == [
        [[10.0, 10.0], [10.0, 12.0], [12.0, 12.0], [12.0, 10.0], [10.0, 10.0]]
    ]
    hits = _features(site, "Shapes", geometry="11,11", geometryType="esriGeometryPoint")
    assert [h["attributes"]["OBJECTID"] for h in hits] == [2]
    assert (
        _edit(site, "Shapes/FeatureServer/applyEdits", token, edits=[{"id": 7}])["error"]["code"]
        == 400
    )


def test_who_may_edit(refusing_site: tuple[LiveSite, str]) -> None:
    site, token = refusing_site
    feature = [{"attributes": {"name": "x"}, "geometry": {"x": 1, "y": 1}}]
    assert _edit(site, "ReadOnly/FeatureServer/0/addFeatures", token, features=feature) == {
        "error": {
            "code": 400,
            "message": "Requested operation is not supported by this service.",
            "details": ["The requested capability is not supported."],
        }
    }
    anonymous = _edit(site, "Points/FeatureServer/0/addFeatures", None, features=feature)
    assert anonymous["error"]["code"] == 499
    assert (
        _edit(site, "Points/FeatureServer/0/addFeatures", "bad", features=feature)["error"]["code"]
        == 498
    )
    refused = httpx.get(
        f"{site.http}/arcgis/rest/services/Points/FeatureServer/0/addFeatures",
        params={"f": "json", "token": token, "features": json.dumps(feature)},
    ).json()
    assert refused["error"]["code"] == 405
    for path in ("Nope/FeatureServer/0/addFeatures", "Points/FeatureServer/9/addFeatures"):
        assert _edit(site, path, token, features=feature)["error"]["code"] == 404
    assert (
        _edit(site, "Points/FeatureServer/0/addFeatures", token, features="{bad")["error"]["code"]
        == 400
    )
    assert _edit(site, "Points/FeatureServer/0/deleteFeatures", token)["error"]["code"] == 400
    assert len(_features(site)) == 3


def test_the_data_stays_sound(edit_site: tuple[LiveSite, str]) -> None:
    """After 200 adds and a delete: the rows, the spatial index and the maintained count
    agree, in the GeoPackage (and SQLite's integrity check passes) or in PostGIS."""
    site, token = edit_site
    adds = [{"attributes": {"n": i}, "geometry": {"x": i % 50, "y": i % 40}} for i in range(200)]
    answer = _edit(site, "Points/FeatureServer/0/applyEdits", token, adds=adds, deletes="1")
    assert all(r["success"] for r in answer["addResults"])
    query = f"{site.http}/arcgis/rest/services/Points/FeatureServer/0/query"
    for where in ("1=1", "OBJECTID > 0"):  # the maintained count, and one counted
        counted = httpx.get(query, params={"f": "json", "where": where, "returnCountOnly": "true"})
        assert counted.json() == {"count": 202}
    service = site.store.get_service("", "Points", "FeatureServer")
    layer = service.data.layers[0]
    if ON_POSTGIS:
        counts = pg.layer_counts(service.data.location, layer.table, layer.geometry_field)
        assert counts == (202, 202, 202)
        return
    with sqlite3.connect(service.data.location) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute(f'SELECT count(*) FROM "{layer.table}"').fetchone()[0]
        index = conn.execute(f'SELECT count(*) FROM "rtree_{layer.table}_Shape"').fetchone()[0]
        maintained = conn.execute("SELECT feature_count FROM gpkg_ogr_contents").fetchone()[0]
    assert rows == index == maintained == 202


def test_editor_tracking(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    data = tmp_path / "tracked.geojson"
    old = "2020-01-01T00:00:00Z"
    properties = {
        "name": "seed",
        "created_user": "someone",
        "created_date": old,
        "last_edited_user": "someone",
        "last_edited_date": old,
    }
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "properties": properties,
    }
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert publish(site, token, data, "Tracked", capabilities=EDITABLE)["status"] == "success"
    layer = httpx.get(f"{site.http}/arcgis/rest/services/Tracked/FeatureServer/0?f=json").json()
    assert layer["editFieldsInfo"] == {
        "creatorField": "created_user",
        "creationDateField": "created_date",
        "editorField": "last_edited_user",
        "editDateField": "last_edited_date",
    }
    before = site.clock.now_ms()
    added = _edit(
        site,
        "Tracked/FeatureServer/0/addFeatures",
        token,
        features=[
            {"attributes": {"name": "new", "created_user": "forged"}, "geometry": {"x": 1, "y": 1}}
        ],
    )
    oid = added["addResults"][0]["objectId"]
    row = _features(site, "Tracked", objectIds=str(oid))[0]["attributes"]
    assert row["created_user"] == row["last_edited_user"] == "siteadmin"  # not "forged"
    assert before <= row["created_date"] == row["last_edited_date"] <= site.clock.now_ms()
    site.clock.advance(seconds=90)
    before = site.clock.now_ms()
    _edit(
        site,
        "Tracked/FeatureServer/0/updateFeatures",
        token,
        features=[{"attributes": {"OBJECTID": 1, "name": "seed2"}}],
    )
    seed = _features(site, "Tracked", objectIds="1")[0]["attributes"]
    assert seed["created_user"] == "someone" and seed["last_edited_user"] == "siteadmin"
    assert before <= seed["last_edited_date"] <= site.clock.now_ms()
    assert seed["created_date"] == 1_577_836_800_000  # 2020-01-01, untouched
    assert (
        _edit(site, "Tracked/FeatureServer/0/applyEdits", token, adds=[], useGlobalIds="true")[
            "error"
        ]["code"]
        == 400
    )


def test_global_ids(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    data = tmp_path / "guids.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {
                "GlobalID": f"a{i}b2c3d4-0000-4000-8000-00000000000{i}",
                "name": f"p{i}",
            },
        }
        for i in range(1, 3)
    ]
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert publish(site, token, data, "Guids", capabilities=EDITABLE)["status"] == "success"
    layer = httpx.get(f"{site.http}/arcgis/rest/services/Guids/FeatureServer/0?f=json").json()
    assert layer["globalIdField"] == "GlobalID" and layer["supportsApplyEditsWithGlobalIds"]
    field = next(f for f in layer["fields"] if f["name"] == "GlobalID")
    assert field["type"] == "esriFieldTypeGlobalID" and field["editable"] is False
    rows = _features(site, "Guids")
    assert rows[0]["attributes"]["GlobalID"] == "{A1B2C3D4-0000-4000-8000-000000000001}"

    added = _edit(
        site,
        "Guids/FeatureServer/0/applyEdits",
        token,
        adds=[
            {
                "attributes": {"name": "server-made", "GlobalID": "{ignored}"},
                "geometry": {"x": 5, "y": 5},
            }
        ],
    )
    made = added["addResults"][0]
    assert made["success"] and made["globalId"].startswith("{") and len(made["globalId"]) == 38
    assert (
        _features(site, "Guids", objectIds=str(made["objectId"]))[0]["attributes"]["GlobalID"]
        == made["globalId"]
    )

    mine = "{11111111-2222-3333-4444-555555555555}"
    answer = _edit(
        site,
        "Guids/FeatureServer/0/applyEdits",
        token,
        useGlobalIds="true",
        adds=[
            {"attributes": {"name": "mine", "GlobalID": mine.lower()}, "geometry": {"x": 6, "y": 6}}
        ],
        updates=[
            {
                "attributes": {
                    "GlobalID": "{A1B2C3D4-0000-4000-8000-000000000001}",
                    "name": "renamed",
                }
            }
        ],
        deletes=json.dumps(["{a2b2c3d4-0000-4000-8000-000000000002}"]),
    )
    assert answer["addResults"][0]["globalId"] == mine
    assert answer["updateResults"] == [
        {"objectId": 1, "globalId": "{A1B2C3D4-0000-4000-8000-000000000001}", "success": True}
    ]
    assert answer["deleteResults"] == [
        {"objectId": 2, "globalId": "{A2B2C3D4-0000-4000-8000-000000000002}", "success": True}
    ]
    names = {r["attributes"]["GlobalID"]: r["attributes"]["name"] for r in _features(site, "Guids")}
    assert names[mine] == "mine" and names["{A1B2C3D4-0000-4000-8000-000000000001}"] == "renamed"
    assert "{A2B2C3D4-0000-4000-8000-000000000002}" not in names
    bad = _edit(
        site, "Guids/FeatureServer/0/applyEdits", token, useGlobalIds="true", deletes="not-a-guid"
    )
    assert bad["deleteResults"][0]["success"] is False
    missing = _edit(
        site,
        "Guids/FeatureServer/0/applyEdits",
        token,
        useGlobalIds="true",
        updates=[{"attributes": {"GlobalID": "{99999999-2222-3333-4444-555555555555}"}}],
    )
    assert "updateResults" in missing, missing
    assert missing["updateResults"][0]["error"]["code"] == 1019


def test_use_global_ids_needs_a_global_id_field(edit_site: tuple[LiveSite, str]) -> None:
    site, token = edit_site
    answer = _edit(
        site,
        "Points/FeatureServer/0/applyEdits",
        token,
        useGlobalIds="true",
        adds=[{"attributes": {"name": "x"}, "geometry": {"x": 1, "y": 1}}],
    )
    assert answer["error"]["code"] == 400 and "GlobalID" in " ".join(
        answer["error"]["details"] + [answer["error"]["message"]]
    )
    assert len(_features(site)) == 3


def _gpkg_with_domains(path: Path) -> Path:
    """A GeoPackage whose fields carry a coded-value and a range domain (schema extension)."""
    import numpy as np
    import pyogrio.raw
    import shapely

    pyogrio.raw.write(
        path,
        shapely.to_wkb(shapely.points([[0, 0], [1, 1]])),
        [np.array([1, 2], dtype="int32"), np.array([5.0, 6.0])],
        ["kind", "depth"],
        layer="wells",
        driver="GPKG",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL,
              column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT,
              mime_type TEXT, constraint_name TEXT);
            CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL,
              constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN,
              max NUMERIC, max_is_inclusive BOOLEAN, description TEXT);
            INSERT INTO gpkg_data_columns (table_name, column_name, constraint_name)
              VALUES ('wells', 'kind', 'WellKind'), ('wells', 'depth', 'Depth');
            INSERT INTO gpkg_data_column_constraints
              (constraint_name, constraint_type, value, description)
              VALUES ('WellKind', 'enum', '1', 'Water'), ('WellKind', 'enum', '2', 'Oil');
            INSERT INTO gpkg_data_column_constraints
              (constraint_name, constraint_type, min, min_is_inclusive, max, max_is_inclusive)
              VALUES ('Depth', 'range', 0, 1, 100, 1);
            """
        )
    return path


def test_domains(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    source = _gpkg_with_domains(tmp_path / "wells.gpkg")
    assert publish(site, token, source, "Wells", capabilities=EDITABLE)["status"] == "success"
    layer = httpx.get(f"{site.http}/arcgis/rest/services/Wells/FeatureServer/0?f=json").json()
    fields = {f["name"]: f for f in layer["fields"]}
    assert fields["kind"]["domain"] == {
        "type": "codedValue",
        "name": "WellKind",
        "codedValues": [{"name": "Water", "code": 1}, {"name": "Oil", "code": 2}],
    }
    assert fields["depth"]["domain"] == {"type": "range", "name": "Depth", "range": [0.0, 100.0]}
    ok = _edit(
        site,
        "Wells/FeatureServer/0/addFeatures",
        token,
        features=[{"attributes": {"kind": 2, "depth": 99.5}, "geometry": {"x": 2, "y": 2}}],
    )
    assert ok["addResults"][0]["success"] is True
    for attributes, words in (
        ({"kind": 3}, "domain 'WellKind'"),
        ({"depth": 101}, "between 0.0 and 100.0"),
    ):
        refused = _edit(
            site,
            "Wells/FeatureServer/0/addFeatures",
            token,
            features=[{"attributes": attributes, "geometry": {"x": 3, "y": 3}}],
        )
        item = refused["addResults"][0]
        assert item["success"] is False and words in item["error"]["description"], item
    assert len(_features(site, "Wells")) == 3
