"""``/admin/system/webadaptors``: register, list, read, update, unregister, and the shared
configuration; bad values change nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import LiveSite


def _post(site: LiveSite, path: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data})
    return answer.json()  # type: ignore[no-any-return]


def _get(site: LiveSite, path: str, token: str) -> dict[str, Any]:
    answer = httpx.get(site.admin + path, params={"f": "json", "token": token})
    return answer.json()  # type: ignore[no-any-return]


def test_web_adaptors(site: LiveSite, admin_token: str) -> None:
    base = "/system/webadaptors"
    assert "webadaptors" in _get(site, "/system", admin_token)["resources"]
    assert _get(site, base, admin_token) == {"webAdaptors": []}
    done = _post(
        site,
        base + "/register",
        admin_token,
        webAdaptorURL="https://gis.example.com/arcgis/",
        machineName="lb1.example.com",
        machineIP="10.0.0.5",
        httpsPort="443",
        isAdminEnabled="true",
        description="nginx",
    )
    assert done["status"] == "success", done
    item = _get(site, f"{base}/{done['id']}", admin_token)
    assert item == {
        "id": done["id"],
        "webAdaptorURL": "https://gis.example.com/arcgis",
        "machineName": "lb1.example.com",
        "machineIP": "10.0.0.5",
        "httpPort": 80,
        "httpsPort": 443,
        "isAdminEnabled": True,
        "description": "nginx",
    }
    assert _get(site, base, admin_token)["webAdaptors"] == [item]
    again = _post(
        site, base + "/register", admin_token, webAdaptorURL="https://GIS.example.com/arcgis"
    )
    assert again["status"] == "error" and again["code"] == 409
    for bad in (
        {"webAdaptorURL": "ftp://x/arcgis"},
        {"webAdaptorURL": "https://x/arcgis?x=1"},
        {"webAdaptorURL": "https://y/arcgis", "httpPort": "0"},
        {"webAdaptorURL": "https://y/arcgis", "machineName": "bad name"},
    ):
        refused = _post(site, base + "/register", admin_token, **bad)
        assert refused["status"] == "error" and refused["code"] == 400, (bad, refused)
    changed = _post(
        site, f"{base}/{done['id']}/update", admin_token, description="two", httpPort="8080"
    )
    assert changed == {"status": "success"}
    item = _get(site, f"{base}/{done['id']}", admin_token)
    assert (item["description"], item["httpPort"], item["httpsPort"]) == ("two", 8080, 443)
    assert _get(site, base + "/config", admin_token)["webAdaptorConfig"]["maxConnections"] == 500
    config = json.dumps({"maxConnections": 200, "sharedKey": "k"})
    assert (
        _post(site, base + "/config/update", admin_token, webAdaptorConfig=config)["status"]
        == "success"
    )
    assert _get(site, base + "/config", admin_token)["webAdaptorConfig"]["maxConnections"] == 200
    wrong = _post(
        site, base + "/config/update", admin_token, webAdaptorConfig='{"maxConnections": -1}'
    )
    assert wrong["code"] == 400
    assert _post(site, f"{base}/{done['id']}/unregister", admin_token) == {"status": "success"}
    assert _get(site, base, admin_token) == {"webAdaptors": []}
    assert _get(site, f"{base}/{done['id']}", admin_token)["code"] == 404
    assert _get(site, f"{base}/nonsense", admin_token)["code"] == 404


def test_urls_python_cannot_split_are_a_400(site: LiveSite, admin_token: str) -> None:
    for url in ("https://[gis.example.com/arcgis", "https://gis.example.com:port/arcgis"):
        refused = _post(site, "/system/webadaptors/register", admin_token, webAdaptorURL=url)
        assert refused["status"] == "error" and refused["code"] == 400, (url, refused)
