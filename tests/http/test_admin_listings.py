"""Every ``/admin`` listing carries the members scripts index on each item without checking
(issue 17, item 6): ``folderName``, ``serviceName``, ``type``, ``description`` and
``isDefault`` on services, the reference's keys on users, roles, machines, uploads,
directories, reports, permissions and log messages."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from geosite.demo import DATA_DIR
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

SERVICE_ITEM = {"folderName", "serviceName", "type", "description", "isDefault"}


def _post(site: LiveSite, token: str, path: str, **params: str) -> Any:
    answer = httpx.post(f"{site.admin}/{path}", data={"f": "json", "token": token, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def populated(site: LiveSite, admin_token: str) -> LiveSite:
    """A root service, a service in a folder, a user in a role, an upload, a usage report."""
    assert publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "Cities")["status"]
    assert publish(site, admin_token, DATA_DIR / "nybb_16a.zip", "Boroughs", "Maps")["status"]
    for path, params in [
        ("security/users/add", {"username": "bob", "password": "Bob-Password-1"}),
        ("security/roles/add", {"rolename": "Editors", "description": "edit"}),
        ("security/roles/addUsersToRole", {"rolename": "Editors", "users": "bob"}),
        ("security/roles/assignPrivilege", {"rolename": "Editors", "privilege": "PUBLISH"}),
        (
            "usagereports/add",
            {
                "usagereport": json.dumps(
                    {
                        "reportname": "daily",
                        "since": "LAST_DAY",
                        "queries": [{"resourceURIs": ["services/"], "metrics": ["RequestCount"]}],
                    }
                )
            },
        ),
    ]:
        assert _post(site, admin_token, path, **params) == {"status": "success"}, path
    return site


def _keys(items: list[dict[str, Any]], wanted: set[str], where: str) -> None:
    assert items, f"{where}: nothing listed"
    for item in items:
        assert wanted <= item.keys(), f"{where}: {sorted(wanted - item.keys())} missing in {item}"


@pytest.mark.parametrize("detail", ["false", "true"])
@pytest.mark.parametrize("folder", ["", "Maps", "Utilities"])
def test_service_listings(populated: LiveSite, admin_token: str, folder: str, detail: str) -> None:
    listing = _post(populated, admin_token, f"services/{folder}".rstrip("/"), detail=detail)
    assert {"folderName", "description", "isDefault", "webEncrypted"} <= listing.keys()
    _keys(listing["services"], SERVICE_ITEM, f"services/{folder} detail={detail}")
    assert {s["folderName"] for s in listing["services"]} == {folder or "/"}
    if not folder:
        _keys(listing["foldersDetail"], {"folderName", "description", "isDefault"}, "folders")
        assert {f["folderName"]: f["isDefault"] for f in listing["foldersDetail"]} == {
            "System": True,
            "Utilities": True,
            "Maps": False,
        }


@pytest.mark.parametrize("folder", ["", "Maps/", "Utilities/"])
def test_service_reports(populated: LiveSite, admin_token: str, folder: str) -> None:
    reports = _post(populated, admin_token, f"services/{folder}report")["reports"]
    _keys(reports, SERVICE_ITEM | {"isPrivate", "status", "permissions"}, f"{folder}report")
    for report in reports:
        _keys(report["permissions"], {"principal", "permission"}, "report permissions")


def test_service_types_list_what_the_site_hosts(populated: LiveSite, admin_token: str) -> None:
    types = _post(populated, admin_token, "services/types")["types"]
    _keys(types, {"name", "description", "extensions", "providers"}, "services/types")
    assert {t["name"] for t in types} == {"FeatureServer", "MapServer", "GeometryServer"}


def test_geometry_service_json_has_no_feature_properties(
    populated: LiveSite, admin_token: str
) -> None:
    """maxRecordCount and allowAnonymousEdits are a feature service's, not the Geometry
    service's (it holds no records and takes no edits)."""
    geometry = _post(populated, admin_token, "services/Utilities/Geometry.GeometryServer")
    assert geometry["properties"] == {}
    cities = _post(populated, admin_token, "services/Cities.FeatureServer")
    assert cities["properties"]["allowAnonymousEdits"] == "false"


def test_security_listings(populated: LiveSite, admin_token: str) -> None:
    users = _post(populated, admin_token, "security/users/getUsers", pageSize="100")["users"]
    _keys(users, {"username", "fullname", "description", "email"}, "getUsers")
    found = _post(populated, admin_token, "security/users/search", filter="bo")["users"]
    _keys(found, {"username", "fullname", "description", "email"}, "users/search")
    roles = _post(populated, admin_token, "security/roles/getRoles", pageSize="100")["roles"]
    _keys(roles, {"rolename", "description"}, "getRoles")
    # The reference answers names for these three.
    assert _post(populated, admin_token, "security/roles/getRolesForUser", username="bob") == {
        "roles": ["Editors"],
        "hasMore": False,
    }
    assert _post(
        populated, admin_token, "security/roles/getRolesByPrivilege", privilege="PUBLISH"
    ) == {"roles": ["Editors"]}
    assert _post(populated, admin_token, "security/roles/getUsersWithinRole", rolename="Editors")[
        "users"
    ] == ["bob"]


def test_site_listings(populated: LiveSite, admin_token: str) -> None:
    _keys(_post(populated, admin_token, "machines")["machines"], {"machineName", "adminURL"}, "m")
    _keys(
        _post(populated, admin_token, "uploads")["items"],
        {"itemID", "itemName", "description", "pathOnServer", "date", "committed"},
        "uploads",
    )
    _keys(
        _post(populated, admin_token, "system/directories")["directories"],
        # agsadmin 0.5.3 reads the last three of every directory (tests/compat/scripts/agsadmin).
        {
            "name",
            "physicalPath",
            "directoryType",
            "cleanupMode",
            "maxFileAge",
            "description",
            "useLocalDir",
            "localDirectoryPath",
            "virtualPath",
        },
        "directories",
    )
    _keys(
        _post(populated, admin_token, "usagereports")["metrics"],
        {"reportname", "since", "queries"},
        "usagereports",
    )
    _keys(
        _post(populated, admin_token, "services/permissions")["permissions"],
        {"principal", "permission", "childURL", "operation"},
        "permissions",
    )
    _keys(
        _post(populated, admin_token, "logs/query", level="FINE", pageSize="50")["logMessages"],
        {"type", "message", "time", "source", "machine", "user", "code", "elapsed", "process"},
        "logs/query",
    )
