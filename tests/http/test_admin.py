"""Admin resources of the foundation: root, info, health, machines, users, empty shapes."""

import httpx
import pytest

from tests.conftest import MACHINE, LiveSite


def _get(site: LiveSite, path: str, token: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(site.admin + path, params={"f": "json", "token": token}).json()  # type: ignore[no-any-return]


def test_root(site: LiveSite, admin_token: str) -> None:
    body = _get(site, "/", admin_token)
    assert body["currentVersion"] == 11.3 and body["fullVersion"] == "11.3.0"
    for name in (
        "machines",
        "clusters",
        "system",
        "services",
        "security",
        "data",
        "uploads",
        "logs",
        "mode",
        "usagereports",
        "info",
    ):
        assert name in body["resources"]


@pytest.mark.parametrize(
    ("resource", "shape"),
    [
        ("clusters", {"clusters": []}),
        ("data", {"resources": ["items"]}),
        ("uploads", {"items": []}),
        ("usagereports", {"metrics": []}),
        (
            "system",
            {
                "resources": [
                    "properties",
                    "directories",
                    "configstore",
                    "handlers",
                    "licenses",
                    "webadaptors",
                    "quarantine",
                ]
            },
        ),
        (
            "logs",
            {"resources": ["settings"], "operations": ["query", "clean", "countErrorReports"]},
        ),
    ],
)
def test_top_level_resources_answer_with_their_shape(
    site: LiveSite, admin_token: str, resource: str, shape: dict
) -> None:  # type: ignore[type-arg]
    assert _get(site, "/" + resource, admin_token) == shape


def test_every_listed_resource_answers(site: LiveSite, admin_token: str) -> None:
    for name in _get(site, "/", admin_token)["resources"]:
        body = _get(site, "/" + name, admin_token)
        assert body.get("status") != "error", (name, body)


def test_services_root_has_the_system_folder(site: LiveSite, admin_token: str) -> None:
    body = _get(site, "/services", admin_token)
    assert body["folders"] == ["System", "Utilities"] and body["services"] == []
    assert _get(site, "/services/system", admin_token)["folderName"] == "System"
    assert _get(site, "/services/Nope", admin_token)["code"] == 404


def test_directories_exist_on_disk(site: LiveSite, admin_token: str) -> None:
    from pathlib import Path

    dirs = _get(site, "/system/directories", admin_token)["directories"]
    assert {d["name"] for d in dirs} == {
        "arcgiscache",
        "arcgisjobs",
        "arcgisoutput",
        "arcgissystem",
    }
    assert all(Path(d["physicalPath"]).is_dir() for d in dirs)


def test_rest_handler_cache_clear(site: LiveSite, admin_token: str) -> None:
    """``system/handlers/rest/cache/clear`` (agsadmin 0.5.3's ``handlers.rest.cache.clear``):
    nothing is cached, so it succeeds, for the whole cache, a folder or a service."""
    assert _get(site, "/system/handlers", admin_token) == {"resources": ["rest"]}
    assert _get(site, "/system/handlers/rest", admin_token) == {"resources": ["cache"]}
    clear = site.admin + "/system/handlers/rest/cache/clear"
    for params in ({}, {"folderName": "Maps"}, {"serviceName": "Parks", "type": "FeatureServer"}):
        answer = httpx.post(clear, data={"f": "json", "token": admin_token, **params}).json()
        assert answer == {"status": "success"}, params
    no_type = httpx.post(clear, data={"f": "json", "token": admin_token, "serviceName": "Parks"})
    assert no_type.json()["code"] == 400 and "type" in no_type.json()["messages"][0]
    anonymous = httpx.post(clear, data={"f": "json"}).json()
    assert anonymous["code"] in (401, 499)


def test_one_directory(site: LiveSite, admin_token: str) -> None:
    """``system/directories/<name>``, which agsadmin 0.5.3's ``directories.get`` reads."""
    listed = _get(site, "/system/directories", admin_token)["directories"]
    output = next(d for d in listed if d["name"] == "arcgisoutput")
    assert _get(site, "/system/directories/arcgisoutput", admin_token) == output
    assert _get(site, "/system/directories/ArcGISOutput", admin_token) == output
    missing = _get(site, "/system/directories/nowhere", admin_token)
    assert missing["code"] == 404 and "nowhere" in missing["messages"][0]


def test_mode_and_log_settings(site: LiveSite, admin_token: str) -> None:
    assert _get(site, "/mode", admin_token)["siteMode"] == "EDITABLE"
    # FINE: the test site asks for it; a site created without log settings gets WARNING.
    assert _get(site, "/logs/settings", admin_token)["settings"]["logLevel"] == "FINE"


def test_info(site: LiveSite, admin_token: str) -> None:
    body = _get(site, "/info", admin_token)
    assert body["loggedInUser"] == "siteadmin"
    assert body["loggedInUserPrivilege"] == "ADMINISTER"
    assert body["currentversion"] == "11.3"
    assert "olsonid" in body["timezone"]


@pytest.mark.parametrize(
    "path", ["/arcgis/admin/info/healthCheck", "/arcgis/rest/info/healthCheck"]
)
def test_health_check_is_public(site: LiveSite, path: str) -> None:
    body = httpx.get(site.http + path, params={"f": "json"}).json()
    assert body["success"] is True


def test_machines(site: LiveSite, admin_token: str) -> None:
    machine = _get(site, "/machines/" + MACHINE, admin_token)
    assert machine["machineName"] == MACHINE
    assert machine["ports"] == {"HTTPPort": 6080, "HTTPSPort": 6443}
    assert machine["configuredState"] == "STARTED"
    assert _get(site, f"/machines/{MACHINE.lower()}/status", admin_token) == {
        "configuredState": "STARTED",
        "realTimeState": "STARTED",
    }
    missing = _get(site, "/machines/NOPE", admin_token)
    assert missing["code"] == 404 and missing["status"] == "error"


def test_users_search(site: LiveSite, admin_token: str) -> None:
    def search(text: str) -> dict:  # type: ignore[type-arg]
        return httpx.post(
            site.admin + "/security/users/search",  # type: ignore[no-any-return]
            data={"f": "json", "token": admin_token, "filter": text},
        ).json()

    found = search("site")
    assert found["hasMore"] is False
    assert found["users"][0]["username"] == "siteadmin"
    assert "password" not in str(found).lower().replace("primary site administrator", "")
    assert search("nobody-matches")["users"] == []


def test_security_resources(site: LiveSite, admin_token: str) -> None:
    assert _get(site, "/security", admin_token)["resources"] == [
        "config",
        "users",
        "roles",
        "tokens",
        "psa",
        "passwordPolicy",
    ]
    tokens = _get(site, "/security/tokens", admin_token)
    assert tokens["properties"]["shortTimeout"] == "60"
    assert "sharedKey" not in tokens["properties"]
    assert _get(site, "/security/psa", admin_token) == {"username": "siteadmin", "disabled": False}


def test_rest_info_advertises_the_token_service(site: LiveSite) -> None:
    body = httpx.get(site.http + "/arcgis/rest/info", params={"f": "json"}).json()
    assert body["authInfo"]["isTokenBasedSecurity"] is True
    assert body["authInfo"]["tokenServicesUrl"] == site.http + "/arcgis/tokens/"
    secure = httpx.get(site.https + "/arcgis/rest/info", params={"f": "json"}, verify=False)
    assert secure.json()["authInfo"]["tokenServicesUrl"] == site.https + "/arcgis/tokens/"
    assert "www-authenticate" not in {k.lower() for k in secure.headers}


def test_catalog_is_public_and_empty(site: LiveSite) -> None:
    body = httpx.get(site.http + "/arcgis/rest/services", params={"f": "json"}).json()
    assert body == {"currentVersion": 11.3, "folders": ["Utilities"], "services": []}
