"""kill -9 during createService: the import's workspace is left unlocked, and the next start
moves it into the quarantine, logs it and lists it in the Administrator Directory; the site
serves on, and no GeoPackage is left that no service references."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.test_serve import PASSWORD, Server

POINTS = 60_000


def _upload(server: Server, token: str, tmp_path: Path) -> str:
    data = tmp_path / "many.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i % 360 - 180, (i // 360) % 180 - 90]},
            "properties": {"n": i, "label": f"point {i}"},
        }
        for i in range(POINTS)
    ]
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with data.open("rb") as handle:
        item = httpx.post(
            server.url + "/arcgis/admin/uploads/upload",
            data={"f": "json", "token": token},
            files={"itemFile": (data.name, handle)},
            timeout=120,
        ).json()["item"]
    return str(item["itemID"])


def _create(server: Server, token: str, item: str, name: str) -> None:
    service = {
        "serviceName": name,
        "type": "FeatureServer",
        "folderName": "Crash",
        "properties": {"itemID": item},
    }
    with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
        httpx.post(
            server.url + "/arcgis/admin/services/createService",
            data={"f": "json", "token": token, "service": json.dumps(service)},
            timeout=120,
        )


def _get(server: Server, token: str, path: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(  # type: ignore[no-any-return]
        server.url + "/arcgis/admin" + path, params={"f": "json", "token": token}, timeout=30
    ).json()


def test_kill_during_create_service_quarantines_the_import(tmp_path: Path) -> None:
    data_dir = tmp_path / "site"
    services_dir = data_dir / "directories" / "arcgissystem" / "services"
    server = Server(data_dir, "--admin-password", PASSWORD)
    killed = 0
    try:
        token = server.token()
        item = _upload(server, token, tmp_path)
        for attempt in range(3):  # the kill must land before the commit: try again if late
            name = f"Big{attempt}"
            sender = threading.Thread(target=_create, args=(server, token, item, name))
            sender.start()
            deadline = time.monotonic() + 60
            while not list(services_dir.glob(".import-*")) and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.2)
            os.kill(server.process.pid, signal.SIGKILL)  # no shutdown of any kind
            server.process.wait()
            sender.join(timeout=60)
            server.stop()
            server = Server(data_dir, "--workers", "2")
            token = server.token()
            if _get(server, token, "/services/Crash/" + name + ".FeatureServer").get("code"):
                killed = attempt + 1
                break
    finally:
        server.stop()
    assert killed, "every kill came after the commit"
    server = Server(data_dir)
    try:
        token = server.token()
        report = _get(server, token, "/system/quarantine")
        imports = [e for e in report["entries"] if e["kind"] == "import"]
        assert len(imports) >= 1 and imports[-1]["name"].startswith(".import-")
        assert imports[-1]["reason"] and imports[-1]["quarantined"] > 0
        assert str(tmp_path) not in json.dumps(report)
        page = httpx.get(
            server.url + "/arcgis/admin/system/quarantine", params={"token": token}
        ).text
        assert imports[-1]["name"] in page
        # Nothing unfinished is left in place, and every GeoPackage belongs to a service.
        assert not list(services_dir.glob(".import-*"))
        listed = _get(server, token, "/services")
        stored = len(listed["services"]) + sum(
            len(_get(server, token, f"/services/{f}")["services"])
            for f in listed["folders"]
            if f not in ("System", "Utilities")  # Utilities/Geometry holds no data
        )
        assert len(list(services_dir.glob("*.gpkg"))) == stored
        logs = httpx.post(
            server.url + "/arcgis/admin/logs/query",
            data={"f": "json", "token": token, "level": "WARNING", "pageSize": "1000"},
            timeout=30,
        ).json()
        assert any(".import-" in m["message"] for m in logs["logMessages"])
        # The site publishes again.
        _create(server, token, item, "After")
        assert _get(server, token, "/services/Crash/After.FeatureServer")["serviceName"] == "After"
    finally:
        output = server.stop()
    assert "Traceback" not in output
