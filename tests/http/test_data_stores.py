"""Registered folders (``/admin/data``) and publishing a service from a file in one."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from geosite.core import passwords
from geosite.core.models import User
from geosite.demo import DATA_DIR
from tests.conftest import LiveSite


def _post(site: LiveSite, path: str, token: str | None, **data: Any) -> dict[str, Any]:
    fields = {"f": "json", **data}
    if token is not None:
        fields["token"] = token
    return httpx.post(site.admin + path, data=fields, timeout=120).json()  # type: ignore[no-any-return]


def _item(name: str, folder: Path) -> str:
    return json.dumps(
        {
            "path": f"/fileShares/{name}",
            "type": "folder",
            "info": {"path": str(folder), "dataStoreConnectionType": "shared"},
        }
    )


def _create(site: LiveSite, token: str, name: str, data_path: str) -> dict[str, Any]:
    service = {
        "serviceName": name,
        "type": "FeatureServer",
        "capabilities": "Query",
        "properties": {"dataPath": data_path},
    }
    return _post(site, "/services/createService", token, service=json.dumps(service))


def test_register_find_publish_unregister(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    shared = tmp_path / "shared"
    (shared / "boroughs").mkdir(parents=True)
    with zipfile.ZipFile(DATA_DIR / "nybb_16a.zip") as archive:
        archive.extractall(shared / "boroughs")
    (shared / "cities.zip").write_bytes((DATA_DIR / "naturalearth_cities.zip").read_bytes())
    outside = tmp_path / "outside.geojson"
    point = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [1, 2]},
        "properties": {},
    }
    outside.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    (shared / "link.geojson").symlink_to(outside)
    (shared / "mixed").mkdir()
    (shared / "mixed" / "inside.geojson").write_text(outside.read_text())
    (shared / "mixed" / "escape.geojson").symlink_to(outside)
    (shared / "parcels.shp").write_bytes(b"")  # a shapefile whose .dbf lies outside
    (shared / "parcels.dbf").symlink_to(outside)
    (shared / "vrt.json").write_text(
        f"<OGRVRTDataSource><OGRVRTLayer name='outside'><SrcDataSource>{outside}"
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    )

    assert _post(site, "/data/validateDataItem", token, item=_item("gis", shared)) == {
        "status": "success"
    }
    assert _post(site, "/data/registerItem", token, item=_item("gis", shared))["status"] == (
        "success"
    )
    for bad, code in (
        (_item("gis", shared), 409),
        (_item("GIS", shared), 409),
        (_item("other", tmp_path / "missing"), 400),
        (_item("../etc", shared), 400),
        (_item("long", tmp_path / ("n" * 5000)), 400),
        (json.dumps({"path": "/enterpriseDatabases/x", "type": "egdb", "info": {}}), 400),
        (json.dumps({"path": "/fileShares/rel", "type": "folder", "info": {"path": "rel"}}), 400),
        ("not json", 400),
    ):
        answer = _post(site, "/data/registerItem", token, item=bad)
        assert answer["status"] == "error" and answer["code"] == code, bad
    assert (
        httpx.get(site.admin + "/data/items", params={"f": "json", "token": token}).json()[
            "rootItems"
        ][0]
        == "/fileShares"
    )
    found = _post(site, "/data/findItems", token, parentPath="/fileShares")["items"]
    assert [(i["path"], i["type"], i["info"]["path"]) for i in found] == [
        ("/fileShares/gis", "folder", str(shared.resolve()))
    ]
    one = httpx.get(
        site.admin + "/data/items/fileShares/gis", params={"f": "json", "token": token}
    ).json()
    assert one["path"] == "/fileShares/gis"

    assert _create(site, token, "Boroughs", "/fileShares/gis/boroughs/nybb.shp")["status"] == (
        "success"
    )
    assert _create(site, token, "Cities", "/fileShares/gis/cities.zip")["status"] == "success"
    count = httpx.get(
        f"{site.http}/arcgis/rest/services/Boroughs/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert count == {"count": 5}
    for bad_path, code in (
        ("/fileShares/gis/../outside.geojson", 400),
        ("/fileShares/gis/link.geojson", 400),  # a link out of the folder
        ("/fileShares/gis/mixed", 400),  # a folder with a link out of it
        ("/fileShares/gis/parcels.shp", 400),  # a sidecar that links out
        ("/fileShares/gis/vrt.json", 400),  # GDAL's VRT driver would read any file
        ("/fileShares/gis/x\u0000y", 400),
        ("/fileShares/gis/" + "n" * 5000, 400),  # a name the system refuses
        ("/fileShares/gis/missing.shp", 404),
        ("/fileShares/nope/x.shp", 404),
        (str(outside), 400),
        ("/fileShares/gis", 400),
    ):
        answer = _create(site, token, "Bad", bad_path)
        assert answer["status"] == "error" and answer["code"] == code, bad_path

    assert _post(site, "/data/unregisterItem", token, itempath="/fileShares/gis") == {
        "status": "success"
    }
    assert _post(site, "/data/unregisterItem", token, itempath="/fileShares/gis")["code"] == 404
    assert _post(site, "/data/findItems", token)["items"] == []
    still = httpx.get(
        f"{site.http}/arcgis/rest/services/Boroughs/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert still == {"count": 5}  # the service has its own copy


def test_data_operations_need_an_administrator(site: LiveSite, tmp_path: Path) -> None:
    site.store.add_user(User("reader", passwords.hash_password("reader-Password-1")))
    reader = httpx.post(
        f"{site.http}/arcgis/tokens/generateToken",
        data={
            "username": "reader",
            "password": "reader-Password-1",
            "client": "requestip",
            "f": "json",
        },
    ).json()["token"]
    for path, data in (
        ("/data/registerItem", {"item": _item("x", tmp_path)}),
        ("/data/validateDataItem", {"item": _item("x", tmp_path)}),
        ("/data/unregisterItem", {"itempath": "/fileShares/x"}),
        ("/data/findItems", {}),
        ("/data/items", {}),
        ("/services/report", {}),
        ("/services/permissions", {}),
        ("/services/types", {}),
    ):
        assert _post(site, path, None, **data)["code"] == 499
        assert _post(site, path, "garbage", **data)["code"] == 498
        assert _post(site, path, reader, **data)["code"] == 403, path
    assert site.store.list_data_items() == []
