"""Administering services: folders, a service's lifecycle, batches, and what REST then answers."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core import passwords
from geosite.core.models import Privilege, User
from tests.conftest import LiveSite, make_site
from tests.http.test_publishing import publish

VIEWER, VIEWER_PASSWORD = "viewer", "viewer-Password-1"


def _points(tmp_path: Path, count: int = 5) -> Path:
    path = tmp_path / "points.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i / 2]},
            "properties": {"n": i},
        }
        for i in range(count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _post(site: LiveSite, path: str, token: str | None, **data: Any) -> dict[str, Any]:
    fields = {"f": "json", **{k: v for k, v in data.items()}}
    if token is not None:
        fields["token"] = token
    return httpx.post(site.admin + path, data=fields, timeout=60).json()  # type: ignore[no-any-return]


def _get(site: LiveSite, path: str, token: str | None, **params: Any) -> dict[str, Any]:
    query = {"f": "json", **params}
    if token is not None:
        query["token"] = token
    return httpx.get(site.admin + path, params=query).json()  # type: ignore[no-any-return]


def _rest(site: LiveSite, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
    query = {"f": "json", **params}
    if token is not None:
        query["token"] = token
    url = f"{site.http}/arcgis/rest/services/{path}"
    return httpx.get(url, params=query).json()  # type: ignore[no-any-return]


def _user_token(site: LiveSite, username: str, password: str) -> str:
    """A token from the public token service (the admin one is for administrators)."""
    answer = httpx.post(
        f"{site.http}/arcgis/tokens/generateToken",
        data={"username": username, "password": password, "client": "requestip", "f": "json"},
    ).json()
    return str(answer["token"])


def _populate(site: LiveSite, tmp_path: Path) -> tuple[LiveSite, str]:
    token = site.token()
    data = _points(tmp_path)
    assert publish(site, token, data, "Points")["status"] == "success"
    assert publish(site, token, data, "Roads", "Maps")["status"] == "success"
    site.store.add_user(User(VIEWER, passwords.hash_password(VIEWER_PASSWORD)))
    return site, token


@pytest.fixture
def live(fresh_site: LiveSite, tmp_path: Path) -> tuple[LiveSite, str]:
    """A site with Points (root) and Maps/Roads published, and a user without roles."""
    return _populate(fresh_site, tmp_path)


@pytest.fixture(scope="module")
def unchanged(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveSite, str]:
    """The same, shared by the tests that only check refusals (nothing may change)."""
    return _populate(site, tmp_path_factory.mktemp("data"))


def test_folders(live: tuple[LiveSite, str]) -> None:
    site, token = live
    root = _get(site, "/services", token)
    assert root["folders"] == ["System", "Utilities", "Maps"]
    assert [s["serviceName"] for s in root["services"]] == ["Points"]
    assert _post(site, "/services/createFolder", token, folderName="Empty") == {"status": "success"}
    for taken in ("empty", "MAPS", "System", "types", "report"):
        answer = _post(site, "/services/createFolder", token, folderName=taken)
        assert answer["status"] == "error" and answer["code"] in (400, 409), taken
    for bad in ("../x", "a/b", "%2e%2e", "", "x" * 200):
        answer = _post(site, "/services/createFolder", token, folderName=bad)
        assert answer["status"] == "error" and answer["code"] == 400, bad
    assert _post(site, "/services/empty/editFolder", token, description="new") == {
        "status": "success"
    }
    assert _get(site, "/services/EMPTY", token)["description"] == "new"
    assert _get(site, "/services/system", token)["services"] == []
    assert _post(site, "/services/System/deleteFolder", token)["code"] == 400
    assert _post(site, "/services/Empty/deleteFolder", token) == {"status": "success"}
    assert _post(site, "/services/Empty/deleteFolder", token)["code"] == 404
    assert _get(site, "/services", token)["folders"] == ["System", "Utilities", "Maps"]
    exists = [
        _post(site, "/services/exists", token, **params)["exists"]
        for params in (
            {"folderName": "maps"},
            {"folderName": "None"},
            {"folderName": "Maps", "serviceName": "roads", "type": "FeatureServer"},
            {"folderName": "", "serviceName": "Roads", "type": "FeatureServer"},
            {"folderName": "/", "serviceName": "Points", "type": "FeatureServer"},
        )
    ]
    assert exists == [True, False, True, False, True]
    # As ArcGIS: deleteFolder deletes the services in it, with their data and permissions.
    roads = site.store.get_service("Maps", "Roads", "FeatureServer")
    assert roads is not None
    data = Path(roads.definition["_geosite"]["data"])
    assert data.is_file() and site.store.list_permissions("maps/Roads.FeatureServer") != []
    assert _post(site, "/services/maps/deleteFolder", token) == {"status": "success"}
    assert _get(site, "/services", token)["folders"] == ["System", "Utilities"]
    assert _get(site, "/services/Maps", token)["code"] == 404
    assert site.store.get_service("Maps", "Roads", "FeatureServer") is None
    assert not data.exists()
    resources = [p.resource for p in site.store.list_permissions()]
    assert [r for r in resources if not r.startswith("Utilities")] == ["", "/Points.FeatureServer"]
    catalog = httpx.get(f"{site.http}/arcgis/rest/services", params={"f": "json"}).json()
    assert catalog["folders"] == ["Utilities"] and len(catalog["services"]) == 1
    assert _post(site, "/services/Maps/deleteFolder", token)["code"] == 404


def test_service_json_status_and_types(unchanged: tuple[LiveSite, str]) -> None:
    site, token = unchanged
    service = _get(site, "/services/Maps/Roads.FeatureServer", token)
    assert service["serviceName"] == "Roads" and service["type"] == "FeatureServer"
    for key in ("capabilities", "minInstancesPerNode", "maxInstancesPerNode", "extensions"):
        assert key in service
    assert service["properties"]["maxRecordCount"] == "2000"
    assert service["configuredState"] == "STARTED" and service["private"] is False
    assert "_geosite" not in json.dumps(service) and str(site.data_dir) not in json.dumps(service)
    assert _get(site, "/services/maps/roads.featureserver/status", token) == {
        "configuredState": "STARTED",
        "realTimeState": "STARTED",
    }
    assert _get(site, "/services/types", token)["types"][0]["name"] == "FeatureServer"
    detailed = _get(site, "/services", token, detail="true")["services"][0]
    assert detailed["serviceName"] == "Points" and "maxInstancesPerNode" in detailed
    for missing in (
        "/services/Nope.FeatureServer",
        "/services/Maps/Points.FeatureServer",
        "/services/Roads.MapServer",
        "/services/Nope/Roads.FeatureServer",
        "/services/..%2fMaps/Roads.FeatureServer",
        "/services/%2e%2e/Points.FeatureServer",
    ):
        answer = _get(site, missing, token)
        assert answer["status"] == "error" and answer["code"] in (400, 404), missing


def test_stop_and_start(live: tuple[LiveSite, str]) -> None:
    site, token = live
    assert _rest(site, "Maps/Roads/FeatureServer/0/query", where="1=1", returnCountOnly="true") == {
        "count": 5
    }
    assert _post(site, "/services/Maps/Roads.FeatureServer/stop", token) == {"status": "success"}
    stopped = _rest(site, "Maps/Roads/FeatureServer/0/query", where="1=1")
    assert stopped == {
        "error": {
            "code": 500,
            "message": "Service Maps/Roads/FeatureServer not started ",
            "details": [],
        }
    }
    assert _rest(site, "Maps/Roads/FeatureServer")["error"]["code"] == 500
    assert _get(site, "/services/Maps/Roads.FeatureServer/status", token)["realTimeState"] == (
        "STOPPED"
    )
    assert {"name": "Maps/Roads", "type": "FeatureServer"} in _rest(site, "Maps")["services"]
    page = httpx.get(f"{site.http}/arcgis/rest/services/Maps", params={"f": "html"}).text
    assert "Roads/FeatureServer (stopped)" in page
    assert _post(site, "/services/Maps/Roads.FeatureServer/start", token) == {"status": "success"}
    assert _rest(site, "Maps/Roads/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}


def test_batch_delete(live: tuple[LiveSite, str]) -> None:
    """``deleteServices`` (ArcGIS 11's batch delete): all listed services exist, or none goes."""
    site, token = live
    both = [
        {"folderName": "", "serviceName": "Points", "type": "FeatureServer"},
        {"folderName": "/Maps", "serviceName": "Roads", "type": "FeatureServer"},
    ]
    unknown = [*both, {"folderName": "", "serviceName": "Nope", "type": "FeatureServer"}]
    answer = _post(site, "/services/deleteServices", token, services=json.dumps(unknown))
    assert answer["status"] == "error" and answer["code"] == 404
    assert _rest(site, "Points/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}
    for bad in ("not json", "{}", "[]", '[{"serviceName": 1}]'):
        answer = _post(site, "/services/deleteServices", token, services=bad)
        assert answer["status"] == "error" and answer["code"] == 400, bad
    system = [{"folderName": "System", "serviceName": "PublishingTools", "type": "GPServer"}]
    answer = _post(site, "/services/deleteServices", token, services=json.dumps(system))
    assert answer["status"] == "error"
    answer = _post(site, "/services/deleteServices", token, services=json.dumps({"services": both}))
    assert answer["status"] == "success", answer
    assert [s["serviceName"] for s in answer["services"]] == ["Points", "Roads"]
    for path in ("/services/Points.FeatureServer", "/services/Maps/Roads.FeatureServer"):
        assert _get(site, path, token)["code"] == 404


def test_batch_start_and_stop(live: tuple[LiveSite, str]) -> None:
    site, token = live
    both = [
        {"folderName": "", "serviceName": "Points", "type": "FeatureServer"},
        {"folderName": "Maps", "serviceName": "Roads", "type": "FeatureServer"},
    ]
    answer = _post(site, "/services/stopServices", token, services=json.dumps({"services": both}))
    assert answer["status"] == "success"
    states = [
        _get(site, path, token)["configuredState"]
        for path in (
            "/services/Points.FeatureServer/status",
            "/services/Maps/Roads.FeatureServer/status",
        )
    ]
    assert states == ["STOPPED", "STOPPED"]
    answer = _post(site, "/services/startServices", token, services=json.dumps(both))  # bare array
    assert answer["status"] == "success"
    assert _rest(site, "Points/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}
    unknown = [*both, {"folderName": "", "serviceName": "Nope", "type": "FeatureServer"}]
    answer = _post(site, "/services/stopServices", token, services=json.dumps(unknown))
    assert answer["status"] == "error" and answer["code"] == 404
    assert _rest(site, "Points/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}
    for bad in ("not json", "{}", "[]", '[{"serviceName": 1}]', '{"services": "x"}'):
        answer = _post(site, "/services/stopServices", token, services=bad)
        assert answer["status"] == "error" and answer["code"] == 400, bad


def test_edit(live: tuple[LiveSite, str]) -> None:
    site, token = live
    url = "/services/Points.FeatureServer"
    service = _get(site, url, token)
    service["properties"]["maxRecordCount"] = "2"
    service["description"] = "Edited"
    service["maxInstancesPerNode"] = "4"  # a string, as the Esri sample script sends
    assert _post(site, url + "/edit", token, service=json.dumps(service)) == {"status": "success"}
    edited = _get(site, url, token)
    assert edited["properties"]["maxRecordCount"] == "2" and edited["maxInstancesPerNode"] == 4
    assert edited["description"] == "Edited"
    layer = _rest(site, "Points/FeatureServer/0")
    assert layer["maxRecordCount"] == 2
    page = _rest(site, "Points/FeatureServer/0/query", where="1=1", outFields="n")
    assert len(page["features"]) == 2 and page["exceededTransferLimit"] is True
    for change in (
        {"serviceName": "Other"},
        {"type": "MapServer"},
        {"capabilities": "Query,Teleport"},
        {"maxInstancesPerNode": "many"},
        {"minInstancesPerNode": 9, "maxInstancesPerNode": 2},
        {"properties": {"maxRecordCount": 0}},
        {"loadBalancing": "RANDOM"},
        {"recycleStartTime": "25:00"},
        {"extensions": [{"enabled": True}]},
    ):
        answer = _post(site, url + "/edit", token, service=json.dumps({**edited, **change}))
        assert answer["status"] == "error" and answer["code"] == 400, change
    assert _post(site, url + "/edit", token, service="{not json")["code"] == 400
    assert _post(site, url + "/edit", token, service="[1]")["code"] == 400
    assert _get(site, url, token) == edited


def test_rename_and_delete(live: tuple[LiveSite, str]) -> None:
    site, token = live
    renamed = _post(
        site,
        "/services/Maps/renameService",
        token,
        serviceName="Roads",
        serviceType="FeatureServer",
        serviceNewName="Streets",
    )
    assert renamed == {"status": "success"}
    assert _rest(site, "Maps/Streets/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}
    assert _rest(site, "Maps/Roads/FeatureServer")["error"]["code"] == 404
    assert publish(site, token, _points(Path(site.data_dir), 1), "Other")["status"] == "success"
    for new_name, code in (("other", 409), ("Points", 400)):
        answer = _post(
            site,
            "/services/renameService",
            token,
            serviceName="Points",
            serviceType="FeatureServer",
            serviceNewName=new_name,
        )
        assert answer["code"] == code, new_name
    bad = _post(
        site,
        "/services/renameService",
        token,
        serviceName="Points",
        serviceType="FeatureServer",
        serviceNewName="../x",
    )
    assert bad["code"] == 400
    data = Path(
        site.store.get_service("", "Points", "FeatureServer").definition["_geosite"]["data"]
    )
    assert data.exists()
    assert _post(site, "/services/Points.FeatureServer/delete", token) == {"status": "success"}
    assert not data.exists()
    assert _rest(site, "Points/FeatureServer")["error"]["code"] == 404
    assert _post(site, "/services/Points.FeatureServer/delete", token)["code"] == 404
    assert [s["name"] for s in _rest(site, "")["services"]] == ["Other"]


def test_authorization(live: tuple[LiveSite, str]) -> None:
    site, token = live
    viewer = _user_token(site, VIEWER, VIEWER_PASSWORD)
    operations = [
        ("/services/createFolder", {"folderName": "X"}),
        ("/services/Maps/deleteFolder", {}),
        ("/services/Maps/editFolder", {"description": "x"}),
        ("/services/Points.FeatureServer/stop", {}),
        ("/services/Points.FeatureServer/delete", {}),
        ("/services/Points.FeatureServer/edit", {"service": "{}"}),
        (
            "/services/renameService",
            {"serviceName": "Points", "serviceType": "FeatureServer", "serviceNewName": "Y"},
        ),
        ("/services/stopServices", {"services": '{"services": []}'}),
        (
            "/services/Points.FeatureServer/permissions/add",
            {"principal": "esriEveryone", "isAllowed": "false"},
        ),
        ("/services/permissions/remove", {"principal": "esriEveryone"}),
    ]
    before = _get(site, "/services", token, detail="true")
    for path, params in operations:
        assert _post(site, path, None, **params)["code"] == 499, path
        assert _post(site, path, viewer, **params)["code"] == 403, path
    for path in (
        "/services",
        "/services/Points.FeatureServer",
        "/services/Maps/Roads.FeatureServer/status",
    ):
        assert _get(site, path, None)["code"] == 499
        assert _get(site, path, viewer)["code"] == 403
    assert _get(site, "/services", token, detail="true") == before
    assert (
        httpx.get(
            site.admin + "/services/Points.FeatureServer/stop", params={"f": "json", "token": token}
        ).json()["code"]
        == 405
    )


def test_permissions(live: tuple[LiveSite, str]) -> None:
    site, token = live
    store = site.store
    store.add_role("Analysts", "", Privilege.ACCESS)
    store.add_user(User("ana", passwords.hash_password("ana-Password-1")))
    store.add_role_members("Analysts", ["ana"])
    viewer, analyst = (
        _user_token(site, VIEWER, VIEWER_PASSWORD),
        _user_token(site, "ana", "ana-Password-1"),
    )
    base = "/services/Points.FeatureServer/permissions"
    assert _get(site, base, token)["permissions"] == [
        {
            "principal": "esriEveryone",
            "permission": {"isAllowed": True, "constraint": ""},
            "childURL": "",
            "operation": "",
        }
    ]
    assert _post(site, base + "/add", token, principal="Analysts", isAllowed="true")["status"] == (
        "success"
    )
    assert (
        _post(site, base + "/add", token, principal="esriEveryone", isAllowed="false")["status"]
        == "success"
    )
    assert _get(site, "/services/Points.FeatureServer", token)["private"] is True
    detailed = _get(site, "/services", token, detail="true")["services"]
    assert [s["private"] for s in detailed] == [True]
    query = "Points/FeatureServer/0/query"
    assert _rest(site, query, returnCountOnly="true")["error"]["code"] == 499
    assert _rest(site, query, viewer, returnCountOnly="true")["error"]["code"] == 403
    assert _rest(site, query, "not-a-token", returnCountOnly="true")["error"]["code"] == 498
    assert _rest(site, query, analyst, returnCountOnly="true") == {"count": 5}
    assert _rest(site, query, token, returnCountOnly="true") == {"count": 5}
    assert _rest(site, "")["services"] == []  # anonymous: hidden
    assert _rest(site, "", analyst)["services"] == [{"name": "Points", "type": "FeatureServer"}]
    assert _post(site, base + "/remove", token, principal="esriEveryone")["status"] == "success"
    assert _rest(site, query, viewer, returnCountOnly="true")["error"]["code"] == 403
    # A folder secured: its services follow, and a service published into it inherits.
    folder = "/services/Maps/permissions"
    assert (
        _post(site, folder + "/add", token, principal="esriEveryone", isAllowed="false")["status"]
        == "success"
    )
    assert _rest(site, "Maps/Roads/FeatureServer")["error"]["code"] == 499
    data = _points(Path(site.data_dir), 2)
    assert publish(site, token, data, "Rivers", "Maps")["status"] == "success"
    assert _rest(site, "Maps/Rivers/FeatureServer")["error"]["code"] == 499
    assert _rest(site, "Maps")["services"] == []
    assert (
        _post(site, folder + "/add", token, principal="esriEveryone", isAllowed="true")["status"]
        == "success"
    )
    assert _rest(site, "Maps/Rivers/FeatureServer/0/query", returnCountOnly="true") == {"count": 2}
    assert _post(site, base + "/add", token, principal="", isAllowed="true")["code"] == 400
    assert _post(site, "/services/Nope/permissions/add", token, principal="x")["code"] == 404


def test_concurrent_edit_stop_start(live: tuple[LiveSite, str]) -> None:
    site, token = live
    url = "/services/Maps/Roads.FeatureServer"
    original = _get(site, url, token)
    errors: list[Any] = []

    def work(kind: int) -> None:
        with httpx.Client(timeout=60) as client:
            for i in range(8):
                if kind == 0:
                    service = {**original, "description": f"edit {i}"}
                    data = {"f": "json", "token": token, "service": json.dumps(service)}
                    answer = client.post(site.admin + url + "/edit", data=data).json()
                else:
                    op = "stop" if (i + kind) % 2 else "start"
                    answer = client.post(
                        site.admin + f"{url}/{op}", data={"f": "json", "token": token}
                    ).json()
                if answer != {"status": "success"}:
                    errors.append(answer)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = _get(site, url, token)
    status = _get(site, url + "/status", token)
    assert final["description"].startswith("edit ")
    assert final["configuredState"] == status["configuredState"] == status["realTimeState"]
    assert {k: v for k, v in final.items() if k not in ("description", "configuredState")} == {
        k: v for k, v in original.items() if k not in ("description", "configuredState")
    }
    assert _post(site, url + "/start", token) == {"status": "success"}
    assert _rest(site, "Maps/Roads/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}


def test_state_survives_restart(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        assert publish(site, token, _points(tmp_path), "Points")["status"] == "success"
        assert _post(site, "/services/Points.FeatureServer/stop", token)["status"] == "success"
        service = {**_get(site, "/services/Points.FeatureServer", token), "description": "kept"}
        assert (
            _post(site, "/services/Points.FeatureServer/edit", token, service=json.dumps(service))[
                "status"
            ]
            == "success"
        )
    finally:
        site.stop()
    again = make_site(tmp_path / "site", create=False)
    try:
        token = again.token()
        service = _get(again, "/services/Points.FeatureServer", token)
        assert service["configuredState"] == "STOPPED" and service["description"] == "kept"
        assert _rest(again, "Points/FeatureServer")["error"]["code"] == 500
    finally:
        again.stop()


def test_directory_pages(unchanged: tuple[LiveSite, str]) -> None:
    site, token = unchanged
    page = httpx.get(
        site.admin + "/services/Maps/Roads.FeatureServer", params={"f": "html", "token": token}
    ).text
    for link in ("status", "permissions", "iteminfo", "start", "stop", "edit", "delete"):
        assert f"Roads.FeatureServer/{link}?" in page, link
    edit = httpx.get(
        site.admin + "/services/Maps/Roads.FeatureServer/edit", params={"f": "html", "token": token}
    ).text
    assert "&#34;maxInstancesPerNode&#34;" in edit or "&quot;maxInstancesPerNode&quot;" in edit
    root = httpx.get(site.admin + "/services", params={"f": "html", "token": token}).text
    for name in ("System", "Maps", "Points.FeatureServer", "createFolder", "stopServices"):
        assert name in root, name


def test_item_info(live: tuple[LiveSite, str]) -> None:
    site, token = live
    url = "/services/Points.FeatureServer/iteminfo"
    assert _get(site, url, token)["title"] == "Points"
    info = {"title": "Points of interest", "tags": "a, b", "summary": "Some points"}
    assert _post(site, url + "/edit", token, serviceItemInfo=json.dumps(info)) == {
        "status": "success"
    }
    got = _get(site, url, token)
    assert (got["title"], got["tags"], got["summary"]) == (
        "Points of interest",
        ["a", "b"],
        "Some points",
    )
    assert _post(site, url + "/edit", token, serviceItemInfo="[]")["code"] == 400


def test_statistics_and_report(live: tuple[LiveSite, str]) -> None:
    site, token = live
    before = _get(site, "/services/Points.FeatureServer/statistics", token)
    assert before["summary"]["transactions"] == 0 and before["summary"]["isStatisticsAvailable"]
    for _ in range(3):
        assert _rest(site, "Points/FeatureServer/0/query", returnCountOnly="true") == {"count": 5}
    assert _rest(site, "points/FeatureServer/0/query", where="nope=1")["error"]["code"] == 400
    assert _rest(site, "Maps/Roads/FeatureServer")["currentVersion"]
    stats = _get(site, "/services/Points.FeatureServer/statistics", token)
    summary = stats["summary"]
    assert (summary["serviceName"], summary["folderName"], summary["type"]) == (
        "Points",
        "/",
        "FeatureServer",
    )
    assert summary["transactions"] == 4 and summary["failures"] == 1
    assert 0 < summary["avgResponseTime"] <= summary["maxResponseTime"]
    assert summary["totalBusyTime"] >= 0
    (machine,) = stats["perMachine"]
    assert machine["machineName"] == "TESTMACHINE.EXAMPLE" and machine["transactions"] == 4
    report = _get(site, "/services/report", token)["reports"]
    assert [r["serviceName"] for r in report] == ["Points"]
    entry = report[0]
    assert entry["status"] == {"configuredState": "STARTED", "realTimeState": "STARTED"}
    assert entry["instances"]["transactions"] == 4 and entry["isPrivate"] is False
    assert entry["properties"]["maxRecordCount"] == "2000"
    assert entry["permissions"][0]["principal"] == "esriEveryone"
    folder = _get(site, "/services/Maps/report", token, parameters='["status"]')["reports"]
    assert folder == [
        {
            "folderName": "Maps",
            "serviceName": "Roads",
            "type": "FeatureServer",
            "isDefault": False,
            "isPrivate": False,
            "status": {"configuredState": "STARTED", "realTimeState": "STARTED"},
        }
    ]
    maps = _get(site, "/services/Maps/Roads.FeatureServer/statistics", token)
    assert maps["summary"]["transactions"] == 1
    for ghost in ("Ghost", "Maps/Ghost", "Nope/Ghost" + "x" * 200):
        assert _rest(site, f"{ghost}/FeatureServer")["error"]["code"] == 404
    site.flush_logs()
    counted = {u.service for u in site.log_store.usage(0)}
    assert counted == {"/points.featureserver", "maps/roads.featureserver"}  # no ghosts
    assert _get(site, "/services/report", token, parameters='["colour"]')["code"] == 400
    assert _get(site, "/services/Nope/report", token)["code"] == 404


#: Every service operation, with parameters that would succeed on Points.FeatureServer.
SERVICE_OPERATIONS = [
    ("GET", "", {}),
    ("GET", "/status", {}),
    ("GET", "/statistics", {}),
    ("GET", "/permissions", {}),
    ("GET", "/iteminfo", {}),
    ("POST", "/start", {}),
    ("POST", "/stop", {}),
    ("POST", "/edit", {"service": '{"description": "x"}'}),
    ("POST", "/iteminfo/edit", {"serviceItemInfo": '{"title": "x"}'}),
    ("POST", "/permissions/add", {"principal": "esriEveryone", "isAllowed": "true"}),
    ("POST", "/permissions/remove", {"principal": "nobody"}),
    ("POST", "/delete", {}),
]


def _call(site: LiveSite, method: str, path: str, token: str | None, params: dict[str, str]) -> Any:
    return (_get if method == "GET" else _post)(site, path, token, **params)


@pytest.mark.parametrize(("method", "suffix", "params"), SERVICE_OPERATIONS)
def test_every_service_operation_refuses_bad_targets_and_callers(
    unchanged: tuple[LiveSite, str], method: str, suffix: str, params: dict[str, str]
) -> None:
    site, token = unchanged
    viewer = _user_token(site, VIEWER, VIEWER_PASSWORD)
    before = _get(site, "/services", token, detail="true")
    for target in (
        "/services/Nope.FeatureServer",  # unknown service
        "/services/Points.MapServer",  # wrong type
        "/services/Maps/Points.FeatureServer",  # wrong folder
        "/services/Nope/Roads.FeatureServer",  # unknown folder
        "/services/%2e%2e/Points.FeatureServer",
        "/services/..%2fMaps/Roads.FeatureServer",
        "/services/Maps/..%2fPoints.FeatureServer",
    ):
        answer = _call(site, method, target + suffix, token, params)
        assert answer["status"] == "error" and answer["code"] in (400, 404), (target, answer)
    target = "/services/Points.FeatureServer" + suffix
    assert _call(site, method, target, None, params)["code"] == 499
    assert _call(site, method, target, viewer, params)["code"] == 403
    assert _call(site, method, target, "not-a-token", params)["code"] == 498
    assert _get(site, "/services", token, detail="true") == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/services/edit", {"service": "{bad"}),
        ("/services/Points.FeatureServer/edit", {"service": "{bad"}),
        ("/services/Points.FeatureServer/iteminfo/edit", {"serviceItemInfo": "{bad"}),
        ("/services/startServices", {"services": "{bad"}),
        ("/services/createService", {"service": "{bad"}),
        ("/services/Points.FeatureServer/edit", {}),
        ("/services/Points.FeatureServer/permissions/add", {}),
        ("/services/renameService", {"serviceName": "Points"}),
        ("/services/createService", {"service": '{"serviceName": "A", "folderName": 5}'}),
        ("/services/createService", {"service": '{"serviceName": "A", "properties": "x"}'}),
        (
            "/services/createService",
            {"service": '{"serviceName": "A", "properties": {"maxRecordCount": true}}'},
        ),
        ("/services/createFolder", {"folderName": "a\u0000b"}),
    ],
)
def test_bad_or_missing_parameters(
    unchanged: tuple[LiveSite, str], path: str, params: dict[str, str]
) -> None:
    site, token = unchanged
    answer = _post(site, path, token, **params)
    assert answer["status"] == "error" and answer["code"] in (400, 404), answer


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/services", {}),
        ("GET", "/services/Maps", {}),
        ("GET", "/services/types", {}),
        ("GET", "/services/report", {}),
        ("GET", "/services/Maps/report", {}),
        ("GET", "/services/permissions", {}),
        ("GET", "/services/Maps/permissions", {}),
        ("POST", "/services/exists", {"folderName": "Maps"}),
        ("POST", "/services/startServices", {"services": '{"services": []}'}),
        ("POST", "/services/Maps/permissions/add", {"principal": "x", "isAllowed": "true"}),
        ("POST", "/services/Maps/permissions/remove", {"principal": "x"}),
        (
            "POST",
            "/services/Maps/renameService",
            {"serviceName": "Roads", "serviceType": "FeatureServer", "serviceNewName": "Z"},
        ),
        ("POST", "/services/createService", {"service": "{}"}),
    ],
)
def test_folder_and_root_operations_need_an_administrator(
    unchanged: tuple[LiveSite, str], method: str, path: str, params: dict[str, str]
) -> None:
    site, token = unchanged
    viewer = _user_token(site, VIEWER, VIEWER_PASSWORD)
    before = _get(site, "/services", token, detail="true")
    assert _call(site, method, path, None, params)["code"] == 499
    assert _call(site, method, path, viewer, params)["code"] == 403
    assert _get(site, "/services", token, detail="true") == before
