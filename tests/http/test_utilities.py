"""The default folder ``Utilities`` and its ``Geometry`` GeometryServer (issue 17, item 2).

Every ArcGIS Server site has the default folders ``System`` and ``Utilities``; scripts list
``/admin/services`` and drop both by name. ``Utilities/Geometry`` is started and public by
default, can be stopped, started and secured, not renamed or deleted, and survives a backup.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from geosite.core.utilities import GEOMETRY_SERVER
from tests.conftest import LiveSite

ADMIN_GEOMETRY = "/services/Utilities/Geometry.GeometryServer"
REST_GEOMETRY = "/arcgis/rest/services/Utilities/Geometry/GeometryServer"


def _admin(site: LiveSite, path: str, token: str | None, method: str = "GET", **data: str) -> Any:
    params = {"f": "json", **({"token": token} if token else {}), **data}
    if method == "GET":
        return httpx.get(site.admin + path, params=params).json()
    return httpx.post(site.admin + path, data=params).json()


def _rest(site: LiveSite, path: str = REST_GEOMETRY) -> Any:
    return httpx.get(site.http + path, params={"f": "json"}).json()


def test_default_folders_as_scripts_read_them(site: LiveSite, admin_token: str) -> None:
    root = _admin(site, "/services", admin_token)
    assert root["folders"][:2] == ["System", "Utilities"]
    details = {d["folderName"]: d for d in root["foldersDetail"]}
    assert details["System"]["isDefault"] is True and details["Utilities"]["isDefault"] is True
    # The classic script: drop the default folders and go on with the others.
    folders = list(root["folders"])
    folders.remove("System")
    folders.remove("Utilities")
    utilities = _admin(site, "/services/Utilities", admin_token)
    assert utilities["isDefault"] is True
    assert utilities["services"] == [
        {
            "folderName": "Utilities",
            "serviceName": "Geometry",
            "type": GEOMETRY_SERVER,
            "description": utilities["services"][0]["description"],
            "isDefault": False,
        }
    ]
    status = _admin(site, ADMIN_GEOMETRY + "/status", admin_token)
    assert status["configuredState"] == "STARTED" and status["realTimeState"] == "STARTED"


def test_public_in_the_services_directory(site: LiveSite) -> None:
    catalog = _rest(site, "/arcgis/rest/services")
    assert "Utilities" in catalog["folders"]
    folder = _rest(site, "/arcgis/rest/services/Utilities")
    assert {"name": "Utilities/Geometry", "type": GEOMETRY_SERVER} in folder["services"]
    root = _rest(site)
    assert set(root) == {"serviceDescription", "currentVersion"}, root
    page = httpx.get(site.http + REST_GEOMETRY).text
    assert "GeometryServer" in page


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/services/Utilities/deleteFolder", {}),
        (ADMIN_GEOMETRY + "/delete", {}),
        (
            "/services/Utilities/renameService",
            {"serviceName": "Geometry", "serviceType": GEOMETRY_SERVER, "serviceNewName": "Geo"},
        ),
        ("/services/createFolder", {"folderName": "utilities"}),
    ],
)
def test_what_cannot_be_done_to_the_defaults(
    site: LiveSite, admin_token: str, path: str, data: dict[str, str]
) -> None:
    answer = _admin(site, path, admin_token, "POST", **data)
    assert answer["status"] == "error" and answer["code"] in (400, 409), answer
    assert _admin(site, ADMIN_GEOMETRY + "/status", admin_token)["configuredState"] == "STARTED"
    assert "GeometryServer" in str(_admin(site, "/services/Utilities", admin_token)["services"])


def test_stop_start_and_secure(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    assert _admin(fresh_site, ADMIN_GEOMETRY + "/stop", token, "POST") == {"status": "success"}
    stopped = _rest(fresh_site)  # ArcGIS's answer for a stopped service
    assert "Utilities/Geometry/GeometryServer not started" in stopped["error"]["message"]
    assert _admin(fresh_site, ADMIN_GEOMETRY + "/start", token, "POST") == {"status": "success"}
    assert "serviceDescription" in _rest(fresh_site)
    # Securing the root leaves it public (its own permission); securing it makes it private.
    secured = _admin(
        fresh_site,
        ADMIN_GEOMETRY + "/permissions/add",
        token,
        "POST",
        principal="esriEveryone",
        isAllowed="false",
    )
    assert secured == {"status": "success"}, secured
    assert _rest(fresh_site)["error"]["code"] == 499
    with_token = httpx.get(fresh_site.http + REST_GEOMETRY, params={"f": "json", "token": token})
    assert "serviceDescription" in with_token.json()


def test_a_backup_keeps_it(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    exported = _admin(fresh_site, "/exportSite", token, "POST")
    assert exported["status"] == "success", exported
    imported = _admin(fresh_site, "/importSite", token, "POST", location=exported["location"])
    assert imported["status"] == "success", imported
    assert _admin(fresh_site, ADMIN_GEOMETRY + "/status", token)["configuredState"] == "STARTED"
    assert "serviceDescription" in _rest(fresh_site)


def test_a_site_made_before_gets_it_on_start(fresh_site: LiveSite) -> None:
    """A site whose store lacks them (an older geosite) gets folder and service on start."""
    fresh_site.store.delete_folder("Utilities")
    assert fresh_site.store.get_service("Utilities", "Geometry", GEOMETRY_SERVER) is None
    fresh_site.stop()
    fresh_site.start()
    assert fresh_site.store.get_service("Utilities", "Geometry", GEOMETRY_SERVER) is not None
    assert "serviceDescription" in _rest(fresh_site)
