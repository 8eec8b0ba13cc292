"""``/admin/machines/<name>/start`` and ``stop``: a stopped machine refuses service requests
with code 503, reports STOPPED, and its health check tells a balancer (HTTP 503); its
Administrator API keeps answering, and started again it serves as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from geosite.core.models import Machine
from tests.conftest import LiveSite, make_site


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def _get(site: LiveSite, path: str, token: str) -> dict[str, Any]:
    answer = httpx.get(site.admin + path, params={"f": "json", "token": token}, timeout=60)
    return answer.json()  # type: ignore[no-any-return]


def _publish(site: LiveSite, token: str, tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(3)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    item = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (path.name, path.read_bytes())},
    ).json()["item"]
    service = {"serviceName": "Points", "type": "FeatureServer", "properties": item}
    assert (
        _post(site, "/services/createService", token, service=json.dumps(service))["status"]
        == "success"
    )


def test_stop_and_start_a_machine(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        _publish(site, token, tmp_path)
        [machine] = _get(site, "/machines", token)["machines"]
        name = machine["machineName"]
        query = f"{site.http}/arcgis/rest/services/Points/FeatureServer/0/query"
        geometry = f"{site.http}/arcgis/rest/services/Utilities/Geometry/GeometryServer/lengths"
        params = {"f": "json", "where": "1=1", "returnCountOnly": "true"}
        health = f"{site.http}/arcgis/rest/info/healthCheck"
        assert httpx.get(query, params=params).json() == {"count": 3}

        assert (
            httpx.get(
                site.admin + f"/machines/{name}/stop", params={"token": token, "f": "json"}
            ).json()["status"]
            == "error"
        )  # an operation: POST only
        assert _post(site, f"/machines/{name.lower()}/stop", token) == {"status": "success"}
        status = _get(site, f"/machines/{name}/status", token)
        assert status == {"configuredState": "STOPPED", "realTimeState": "STOPPED"}
        answer = httpx.get(query, params=params)
        # HTTP 503 too (not ArcGIS's 200): nginx's passive failover sends the request on.
        refused = answer.json()
        assert answer.status_code == 503 and refused["error"]["code"] == 503, refused
        assert f"'{name}' is stopped" in refused["error"]["message"]
        polyline = json.dumps({"geometryType": "esriGeometryPolyline", "geometries": []})
        assert (
            httpx.get(geometry, params={"f": "json", "polylines": polyline}).json()["error"]["code"]
            == 503
        )
        checked = httpx.get(health, params={"f": "json"})
        assert checked.status_code == 503 and checked.json()["success"] is False
        assert _get(site, "/services", token)["services"] is not None  # admin still answers

        assert _post(site, f"/machines/{name}/start", token) == {"status": "success"}
        assert httpx.get(query, params=params).json() == {"count": 3}
        checked = httpx.get(health, params={"f": "json"})
        assert checked.status_code == 200 and checked.json()["success"] is True
        assert _get(site, f"/machines/{name}", token)["configuredState"] == "STARTED"
        missing = _post(site, "/machines/NOSUCH.MACHINE/stop", token)
        assert missing["status"] == "error" and missing["code"] == 404
    finally:
        site.stop()


def test_edit_rename_unregister_synchronize_hardware(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        [machine] = _get(site, "/machines", token)["machines"]
        name = machine["machineName"]
        edited = _post(
            site,
            f"/machines/{name}/edit",
            token,
            adminURL="https://geo1.example.com:6443/arcgis/admin",
            webServerMaxHeapSize="512",
            HTTPSPort="7443",
            webServerCertificateAlias="geo1",
        )
        assert edited == {"status": "success"}
        shown = _get(site, f"/machines/{name}", token)
        assert shown["adminURL"] == "https://geo1.example.com:6443/arcgis/admin"
        assert shown["webServerMaxHeapSize"] == 512 and shown["appServerMaxHeapSize"] == -1
        assert shown["ports"]["HTTPSPort"] == 7443 and shown["ports"]["HTTPPort"] == 6080
        assert shown["webServerCertificateAlias"] == "geo1"
        for bad in (
            {"adminURL": "ftp://x/arcgis/admin"},
            {"adminURL": "https://x/arcgis/admin?next=//evil"},
            {"HTTPPort": "70000"},
            {"webServerMaxHeapSize": "big"},
        ):
            refused = _post(site, f"/machines/{name}/edit", token, **bad)
            assert refused["status"] == "error" and refused["code"] == 400, (bad, refused)
        assert _get(site, f"/machines/{name}", token)["ports"]["HTTPSPort"] == 7443  # unchanged

        assert _post(site, f"/machines/{name}/synchronizeWithSite", token) == {"status": "success"}
        hardware = _get(site, f"/machines/{name}/hardware", token)
        assert hardware["cores"] >= 1 and hardware["systemMemoryMB"] > 0

        # The one machine: neither unregistered (the last one) nor renamed (the one answering).
        last = _post(site, f"/machines/{name}/unregister", token)
        assert last["status"] == "error" and "last machine" in last["messages"][0]
        itself = _post(site, "/machines/rename", token, machineName=name, newMachineName="NEW")
        assert itself["status"] == "error" and "machine answering" in itself["messages"][0]
        # A second machine (as joining will add them) can be renamed and unregistered.
        site.store.add_machine(Machine("OTHER.HOST", "https://other:6443/arcgis/admin", 1, 1))
        renamed = _post(
            site, "/machines/rename", token, machineName="other.host", newMachineName="geo2.host"
        )
        assert renamed == {"status": "success"}
        names = [m["machineName"] for m in _get(site, "/machines", token)["machines"]]
        assert sorted(names) == sorted([name, "GEO2.HOST"])
        itself = _post(site, f"/machines/{name}/unregister", token)
        assert itself["status"] == "error" and "machine answering" in itself["messages"][0]
        assert _post(site, "/machines/GEO2.HOST/unregister", token) == {"status": "success"}
        assert [m["machineName"] for m in _get(site, "/machines", token)["machines"]] == [name]
    finally:
        site.stop()


def test_a_silent_machine_is_not_responding_until_it_beats_again(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", machine_timeout_s=30)
    try:
        token = site.token()
        now = site.clock.now_ms()
        site.store.add_machine(Machine("OTHER.HOST", "https://other:6443/arcgis/admin", now, now))
        status = "/machines/OTHER.HOST/status"
        assert _get(site, status, token)["realTimeState"] == "STARTED"
        site.clock.advance(seconds=31)
        assert _get(site, status, token) == {
            "configuredState": "STARTED",
            "realTimeState": "STOPPED",
        }
        site.store.touch_machine("OTHER.HOST", site.clock.now_ms())  # it beats again
        assert _get(site, status, token)["realTimeState"] == "STARTED"
    finally:
        site.stop()
