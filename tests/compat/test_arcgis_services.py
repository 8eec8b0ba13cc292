"""The ArcGIS API for Python (``arcgis`` 2.4.4) administering services over HTTPS, defaults only.

``server.services``: ``folders``, ``list(folder=...)``, ``create_folder``, ``exists``, and a
``Service``'s ``status``, ``stop()``, ``start()`` and ``edit()``, each checked against what
geosite then does (the REST side refuses a stopped service, an edit shows in the layer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish

try:
    from arcgis.gis.server import Server
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(
        f"the ArcGIS API for Python is not installed ({exc}); "
        "install the test extras with `pip install -e '.[dev,compat]'` (or run `make test`)",
        allow_module_level=True,
    )

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


@pytest.fixture(scope="module")
def server(
    site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Services Parks (root) and Maps/Trails on the site; ``Server`` as the docs show it."""
    data = tmp_path_factory.mktemp("data") / "parks.geojson"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i]},
            "properties": {"n": i},
        }
        for i in range(4)
    ]
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert publish(site, admin_token, data, "Parks")["status"] == "success"
    assert publish(site, admin_token, data, "Trails", "Maps")["status"] == "success"
    admin = Server(url=site.https + "/arcgis/admin", username=ADMIN_USER, password=ADMIN_PASSWORD)
    yield admin
    admin._con._session.close()


def _count(site: LiveSite, path: str) -> Any:
    url = f"{site.http}/arcgis/rest/services/{path}/FeatureServer/0/query"
    return httpx.get(url, params={"f": "json", "where": "1=1", "returnCountOnly": "true"}).json()


def test_folders_and_lists(server: Any) -> None:
    services = server.services
    assert "System" in services.folders and "Maps" in services.folders
    assert [s.properties["serviceName"] for s in services.list(folder="Maps")] == ["Trails"]
    assert "Parks" in [s.properties["serviceName"] for s in services.list()]
    assert services.create_folder("Scratch", "made by the ArcGIS API for Python") is True
    assert "Scratch" in server.services.folders
    assert services.exists(folder_name="Scratch") is True
    assert services.exists(folder_name="Maps", name="Trails", service_type="FeatureServer") is True
    assert services.exists(folder_name="Maps", name="Nope", service_type="FeatureServer") is False
    assert services.delete_folder("Scratch") is True
    # The client answers folder questions from its cached list; ask the server itself.
    answer = server._con.post(services.url + "/exists", {"folderName": "Scratch"})
    assert answer == {"exists": False}


def test_stop_start_status(server: Any, site: LiveSite) -> None:
    (trails,) = server.services.list(folder="Maps")
    assert trails.status == {"configuredState": "STARTED", "realTimeState": "STARTED"}
    assert trails.stop() is True
    assert trails.status["realTimeState"] == "STOPPED"
    assert _count(site, "Maps/Trails")["error"]["code"] == 500
    assert trails.start() is True
    assert trails.status["realTimeState"] == "STARTED"
    assert _count(site, "Maps/Trails") == {"count": 4}


def test_edit(server: Any, site: LiveSite) -> None:
    parks = next(s for s in server.services.list() if s.properties["serviceName"] == "Parks")
    service = dict(parks.properties)
    service["description"] = "Parks, edited by the ArcGIS API for Python"
    service["properties"]["maxRecordCount"] = "3"
    ok, answer = parks.edit(service)
    assert ok is True, answer
    layer = httpx.get(
        f"{site.http}/arcgis/rest/services/Parks/FeatureServer/0", params={"f": "json"}
    )
    assert layer.json()["maxRecordCount"] == 3
    again = next(s for s in server.services.list() if s.properties["serviceName"] == "Parks")
    assert again.properties["description"] == "Parks, edited by the ArcGIS API for Python"


def test_rename(server: Any, site: LiveSite) -> None:
    (trails,) = server.services.list(folder="Maps")
    assert trails.rename("Paths") is True
    assert [s.properties["serviceName"] for s in server.services.list(folder="Maps")] == ["Paths"]
    assert _count(site, "Maps/Paths") == {"count": 4}
    (paths,) = server.services.list(folder="Maps")
    assert paths.rename("Trails") is True


def test_private_service_and_token(server: Any, site: LiveSite, tmp_path: Path) -> None:
    """``permissions/add`` through the client's connection, then REST answers 499."""
    parks = next(s for s in server.services.list() if s.properties["serviceName"] == "Parks")
    answer = server._con.post(
        parks.url + "/permissions/add", {"principal": "esriEveryone", "isAllowed": False}
    )
    assert answer["status"] == "success"
    assert _count(site, "Parks")["error"]["code"] == 499
    answer = server._con.post(
        parks.url + "/permissions/add", {"principal": "esriEveryone", "isAllowed": True}
    )
    assert _count(site, "Parks") == {"count": 4}
