"""Published administration libraries and toolkits, run against a live site (issue 17, item 7).

Each library is kept as published under ``tests/compat/scripts/<slug>/original`` (where it came
from, its licence and why it counts as used: ``SOURCE.md``), ported to Python 3 by the reviewed
``py3.diff`` when it needs one, and driven by a small ``driver.py`` of ours next to it that makes
the calls the library's README and samples show. Every test then checks the effect through
geosite's own API: the service really stopped, the user really exists with its role, the logs
really gone; not only that the library raised nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat import published, pypi_release
from tests.compat.published import admin as _admin
from tests.compat.published import points as _points
from tests.compat.published import service_path as _service_path
from tests.compat.published import state as _state
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat

# The services every test starts from: (folder, name); "" is the root folder.
SERVICES = (("", "Parks"), ("", "Lakes"), ("Maps", "Trails"))


@pytest.fixture(scope="module")
def services(
    site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory
) -> LiveSite:
    data = _points(tmp_path_factory.mktemp("data") / "points.geojson")
    for folder, name in SERVICES:
        assert publish(site, admin_token, data, name, folder)["status"] == "success"
    return site


def _start_all(site: LiveSite) -> None:
    for folder, name in SERVICES:
        _admin(site, _service_path(folder, name) + "/start")


def _library(slug: str, into: Path) -> Path:
    """The library as published, ported, with our driver beside it; the driver's path."""
    try:
        pypi_release.fetch(slug)
    except pypi_release.ReleaseUnavailable as error:
        pytest.skip(str(error))
    home = published.ported(slug, into)
    shutil.copy(published.SCRIPTS / slug / "driver.py", home / "driver.py")
    return home / "driver.py"


def _drive(driver: Path, *args: str) -> Any:
    ran = published.run(driver, *args)
    assert ran.returncode == 0, ran.explain()
    assert "Traceback" not in ran.stderr, ran.explain()
    return json.loads(ran.stdout.strip().splitlines()[-1])


# --- python-ags 0.3.2 (Conservation Biology Institute, BSD-3-Clause) --------------------------


@pytest.fixture
def python_ags(services: LiveSite, tmp_path: Path) -> Any:
    driver = _library("python-ags", tmp_path)
    host = services.http.removeprefix("http://")

    def call(*args: str) -> Any:
        return _drive(driver, host, ADMIN_USER, ADMIN_PASSWORD, *args)

    yield call
    _start_all(services)


def test_python_ags_lists_folders_and_services(python_ags: Any) -> None:
    root = python_ags("list")
    assert "error" not in root, root
    assert {"name": "Maps", "description": ""} in root["folders"]
    assert {f["name"] for f in root["folders"]} >= {"System", "Utilities", "Maps"}
    assert {(s["name"], s["type"]) for s in root["services"]} == {
        ("Parks", "FeatureServer"),
        ("Lakes", "FeatureServer"),
    }
    maps = python_ags("list", "Maps")
    assert [(s["name"], s["type"]) for s in maps["services"]] == [("Trails", "FeatureServer")]


def test_python_ags_generates_a_token_for_the_duration_asked(
    services: LiveSite, python_ags: Any
) -> None:
    answer = python_ags("token", "30")
    assert "error" not in answer, answer
    now_ms = services.clock.now_ms()
    assert 29 * 60_000 <= answer["expires"] - now_ms <= 31 * 60_000
    info = httpx.get(services.admin + "/info", params={"f": "json", "token": answer["token"]})
    assert "error" not in info.json()


def test_python_ags_stops_and_starts_a_service(services: LiveSite, python_ags: Any) -> None:
    assert python_ags("status", "Trails", "FeatureServer", "Maps") == {
        "configured": "STARTED",
        "realtime": "STARTED",
    }
    assert python_ags("stop", "Trails", "FeatureServer", "Maps") == {}
    assert _state(services, "Maps", "Trails") == "STOPPED"
    query = httpx.get(
        f"{services.http}/arcgis/rest/services/Maps/Trails/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert "error" in query
    assert python_ags("status", "Trails", "FeatureServer", "Maps")["realtime"] == "STOPPED"
    assert python_ags("start", "Trails", "FeatureServer", "Maps") == {}
    assert _state(services, "Maps", "Trails") == "STARTED"


def test_python_ags_service_exists(python_ags: Any) -> None:
    assert python_ags("exists", "Parks", "FeatureServer") == {"exists": True}
    assert python_ags("exists", "Trails", "FeatureServer", "Maps") == {"exists": True}
    assert python_ags("exists", "Nowhere", "FeatureServer") == {"exists": False}


def test_python_ags_uploads_creates_edits_and_deletes_a_service(
    services: LiveSite, python_ags: Any, tmp_path: Path
) -> None:
    """Its main use: upload data, create a service from it, edit it, delete it."""
    data = _points(tmp_path / "wells.geojson", 5)
    item = python_ags("upload", str(data), "wells for python-ags")
    assert "error" not in item, item
    uploaded = _admin(services, f"uploads/{item['id']}")
    assert uploaded["itemName"] == item["name"]

    assert python_ags("create-folder", "Water", "Water services") == {}
    folder = _admin(services, "services/Water")
    assert folder["folderName"] == "Water"
    assert folder["description"] == "Water services"

    assert python_ags("create", item["id"], "Wells", "Water") == {}
    assert _state(services, "Water", "Wells") == "STARTED"
    count = httpx.get(
        f"{services.http}/arcgis/rest/services/Water/Wells/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert count == {"count": 5}

    edited = python_ags("edit-wait", "Wells", "FeatureServer", "Water", "45")
    assert edited["maxWaitTime"] == 45
    assert _admin(services, _service_path("Water", "Wells"))["maxWaitTime"] == 45

    info = python_ags("iteminfo", "Wells", "FeatureServer", "Water", "Wells in the valley")
    assert info["summary"] == "Wells in the valley"
    assert _admin(services, _service_path("Water", "Wells") + "/iteminfo")["summary"] == (
        "Wells in the valley"
    )

    assert python_ags("delete", "Wells", "FeatureServer", "Water") == {}
    assert python_ags("exists", "Wells", "FeatureServer", "Water") == {"exists": False}
    missing = _admin(services, _service_path("Water", "Wells"))
    assert missing["status"] == "error"


def test_python_ags_delete_folder_fails_in_the_library(services: LiveSite, python_ags: Any) -> None:
    """``delete_folder`` and ``edit_folder`` never reach any server: their path patterns read
    ``%(folder)/deleteFolder`` (no ``s``), and Python's ``%`` refuses the format. Wrong for
    ArcGIS Server too (SOURCE.md)."""
    assert python_ags("create-folder", "Scratch", "to delete") == {}
    answer = python_ags("delete-folder", "Scratch")
    assert answer["error"] == "ValueError"
    assert _admin(services, "services/Scratch")["folderName"] == "Scratch"


# --- ArcREST 3.5.9 (Esri, Apache-2.0): arcrest.manageags -------------------------------------


@pytest.fixture
def arcrest(services: LiveSite, tmp_path: Path) -> Any:
    driver = _library("arcrest-manageags", tmp_path)

    def call(*args: str) -> Any:
        return _drive(driver, services.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD, *args)

    yield call
    _start_all(services)


def test_arcrest_logs_in_and_reads_the_site(services: LiveSite, arcrest: Any) -> None:
    """The token URL comes from ``rest/info``'s ``authInfo``, as ArcREST reads it."""
    info = arcrest("info")
    assert "error" not in info, info
    assert info["token_url"] == services.http + "/arcgis/tokens/"
    assert float(info["currentVersion"]) >= 10.1
    assert "services" in info["resources"]


def test_arcrest_lists_every_folder_and_its_services(arcrest: Any) -> None:
    listing = arcrest("list")
    assert "error" not in listing, listing
    assert listing["/"] == ["Lakes.FeatureServer", "Parks.FeatureServer"]
    assert listing["Maps"] == ["Trails.FeatureServer"]
    assert "Geometry.GeometryServer" in listing["Utilities"]


def test_arcrest_stops_and_starts_a_service(services: LiveSite, arcrest: Any) -> None:
    assert arcrest("stop", "Maps", "Trails", "FeatureServer") == {"status": "success"}
    assert _state(services, "Maps", "Trails") == "STOPPED"
    assert arcrest("status", "Maps", "Trails", "FeatureServer")["realTimeState"] == "STOPPED"
    assert arcrest("start", "Maps", "Trails", "FeatureServer") == {"status": "success"}
    assert _state(services, "Maps", "Trails") == "STARTED"
    assert arcrest("stop", "/", "Parks", "FeatureServer") == {"status": "success"}
    assert _state(services, "", "Parks") == "STOPPED"


def test_arcrest_stops_and_starts_services_in_a_batch(services: LiveSite, arcrest: Any) -> None:
    assert arcrest("stop-services", "", "Lakes", "FeatureServer")["status"] == "success"
    assert _state(services, "", "Lakes") == "STOPPED"
    assert arcrest("start-services", "", "Lakes", "FeatureServer")["status"] == "success"
    assert _state(services, "", "Lakes") == "STARTED"


def test_arcrest_edits_a_service(services: LiveSite, arcrest: Any) -> None:
    assert arcrest("edit-instances", "Maps", "Trails", "FeatureServer", "1", "3") == {
        "status": "success"
    }
    service = _admin(services, _service_path("Maps", "Trails"))
    assert (service["minInstancesPerNode"], service["maxInstancesPerNode"]) == (1, 3)


def test_arcrest_creates_renames_secures_and_deletes(
    services: LiveSite, arcrest: Any, admin_token: str, tmp_path: Path
) -> None:
    assert arcrest("create-folder", "Hydro", "Water and rivers") == {"status": "success"}
    assert _admin(services, "services/Hydro")["description"] == "Water and rivers"
    data = _points(tmp_path / "rivers.geojson")
    assert publish(services, admin_token, data, "Rivers", "Hydro")["status"] == "success"
    assert arcrest("rename", "Hydro", "Rivers", "FeatureServer", "Streams") == {"status": "success"}
    assert _state(services, "Hydro", "Streams") == "STARTED"
    assert _admin(services, _service_path("Hydro", "Rivers"))["code"] == 404
    secured = arcrest("deny-everyone", "Hydro", "Streams", "FeatureServer")
    assert secured.get("add") == {"status": "success"}, secured
    everyone = [
        p for p in secured["permissions"]["permissions"] if p["principal"] == "esriEveryone"
    ]
    assert [p["permission"]["isAllowed"] for p in everyone] == [False]
    anonymous = httpx.get(
        f"{services.http}/arcgis/rest/services/Hydro/Streams/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert anonymous["error"]["code"] in (401, 403, 499), anonymous
    assert arcrest("delete-folder", "Hydro") == {"status": "success"}
    assert "Hydro" not in _admin(services, "services")["folders"]


def test_arcrest_adds_a_user_with_a_role(services: LiveSite, arcrest: Any) -> None:
    added = arcrest("add-user", "mapper", "Mapper-password-1", "mappers", "PUBLISH")
    assert "error" not in added, added
    for step in ("addRole", "assignPrivilege", "addUser", "addUsersToRole"):
        assert added[step] == {"status": "success"}, (step, added)
    assert added["getRolesForUser"]["roles"] == ["mappers"]
    assert added["getPrivilegeForUser"]["privilege"] == "PUBLISH"
    assert added["getUsersWithinRole"]["users"] == ["mapper"]
    # Through geosite's own API: the user exists, holds the role, and can sign in as a publisher.
    users = _admin(services, "security/users/search", filter="mapper")["users"]
    assert [u["username"] for u in users] == ["mapper"]
    assert users[0]["fullname"] == "Made By ArcREST"
    roles = _admin(services, "security/roles/getRolesForUser", username="mapper")
    assert roles["roles"] == ["mappers"]
    token = services.token("mapper", "Mapper-password-1")
    uploads = httpx.get(services.admin + "/uploads", params={"f": "json", "token": token}).json()
    assert "items" in uploads

    removed = arcrest("remove-user", "mapper", "mappers")
    assert removed == {
        "removeRoles": {"status": "success"},
        "removeUser": {"status": "success"},
        "removeRole": {"status": "success"},
    }
    assert _admin(services, "security/users/search", filter="mapper")["users"] == []
    assert _admin(services, "security/roles/search", filter="mappers")["roles"] == []


def test_arcrest_queries_and_cleans_the_logs(services: LiveSite, arcrest: Any) -> None:
    missing = _admin(services, "services/NoSuchService.FeatureServer/start")
    assert missing["status"] == "error"
    services.flush_logs()
    queried = arcrest("logs-query", "WARNING")
    assert "error" not in queried, queried
    assert any("NoSuchService" in m["message"] for m in queried["logMessages"])
    assert arcrest("logs-settings")["logLevel"] == "FINE"
    assert arcrest("logs-clean") == {"status": "success"}
    services.flush_logs()
    left = _admin(services, "logs/query", level="DEBUG", pageSize=10000, filter="{}")
    assert not any("NoSuchService" in m["message"] for m in left["logMessages"])


def test_arcrest_reads_the_licenses(arcrest: Any) -> None:
    licenses = arcrest("licenses")
    assert "error" not in licenses, licenses
    assert {"edition", "level", "features", "extensions"} <= set(licenses)
    assert licenses["edition"]["canExpire"] is False


def test_arcrest_exports_the_site(services: LiveSite, arcrest: Any) -> None:
    """geosite writes backups only inside its server directories (docs/admin-guide.md); ArcGIS
    Server anywhere its account may write. The folder given is one of them."""
    directories = _admin(services, "system/directories")["directories"]
    folder = Path(directories[0]["physicalPath"])
    exported = arcrest("export-site", str(folder))
    assert exported.get("status") == "success", exported
    written = Path(exported["location"])
    assert written.parent == folder and written.stat().st_size > 0


# --- slap 3.3.1 (Ian Firkin, MIT): the Administrator API client of a publishing tool --------


def _slap(services: LiveSite, driver: Path, *args: str) -> Any:
    return _drive(driver, services.admin, ADMIN_USER, ADMIN_PASSWORD, *args)


@pytest.fixture
def slap(services: LiveSite, tmp_path: Path) -> Any:
    driver = _library("slap", tmp_path)

    def call(*args: str) -> Any:
        return _slap(services, driver, *args)

    yield call
    _start_all(services)


def test_slap_reads_and_updates_a_service(services: LiveSite, slap: Any) -> None:
    """``Publisher.update_service``: the service JSON read, merged with the config, edited."""
    params = slap("params", "Lakes", "", "FeatureServer")
    assert params["serviceName"] == "Lakes" and params["type"] == "FeatureServer"
    changes = json.dumps({"description": "Lakes, by slap", "maxWaitTime": 75})
    assert slap("update", "Lakes", "", "FeatureServer", changes) == {"status": "success"}
    service = _admin(services, _service_path("", "Lakes"))
    assert (service["description"], service["maxWaitTime"]) == ("Lakes, by slap", 75)
    changes = json.dumps({"minInstancesPerNode": 2, "maxInstancesPerNode": 4})
    assert slap("update", "Trails", "Maps", "FeatureServer", changes) == {"status": "success"}
    service = _admin(services, _service_path("Maps", "Trails"))
    assert (service["minInstancesPerNode"], service["maxInstancesPerNode"]) == (2, 4)


def test_slap_asks_whether_a_service_exists(slap: Any) -> None:
    """slap posts to ``services/exists/exists`` (SOURCE.md)."""
    assert slap("exists", "Parks", "", "FeatureServer") == {"exists": True}
    assert slap("exists", "Trails", "Maps", "FeatureServer") == {"exists": True}
    assert slap("exists", "Parks", "", "MapServer") == {"exists": False}  # slap's default type
    assert slap("exists", "Nowhere", "", "FeatureServer") == {"exists": False}


def test_slap_deletes_a_service_that_exists(
    services: LiveSite, slap: Any, admin_token: str, tmp_path: Path
) -> None:
    """``Publisher.delete_service``: ``service_exists``, then ``delete_service``."""
    data = _points(tmp_path / "old.geojson")
    assert publish(services, admin_token, data, "Old", "Maps")["status"] == "success"
    assert slap("delete", "Old", "Maps", "FeatureServer") == {"status": "success"}
    gone = _admin(services, _service_path("Maps", "Old"))
    assert gone["status"] == "error" and gone["code"] == 404
    # Nothing to delete: it only asks.
    assert slap("delete", "Old", "Maps", "FeatureServer") == {"exists": False}


def test_slap_creates_the_site(tmp_path: Path) -> None:
    """``slap publish --site`` on a machine with no site: ``createNewSite`` with the config's
    store and directories (the default ones are /home/arcgis paths, so the test's own)."""
    fresh = make_site(tmp_path / "machine", create=False)
    try:
        driver = _library("slap", tmp_path / "lib")
        root = tmp_path / "machine" / "directories"
        directories = [
            {
                "name": name,
                "physicalPath": str(root / name),
                "directoryType": kind,
                "cleanupMode": "NONE",
                "maxFileAge": 0,
                "description": "",
                "virtualPath": "",
            }
            for name, kind in (("arcgissystem", "SYSTEM"), ("arcgisoutput", "OUTPUT"))
        ]
        site = {
            "configStoreConnection": json.dumps(
                {"connectionString": "config-store", "type": "FILESYSTEM"}
            ),
            "directories": json.dumps({"directories": directories}),
        }
        created = _drive(
            driver, fresh.admin, "slapadmin", "Slap-password-1", "create-site", json.dumps(site)
        )
        assert created.get("status") == "success", created
        token = fresh.token("slapadmin", "Slap-password-1")
        info = httpx.get(fresh.admin + "/", params={"f": "json", "token": token}).json()
        assert "services" in info["resources"]
        registered = httpx.get(
            fresh.admin + "/system/directories", params={"f": "json", "token": token}
        ).json()
        assert {d["name"] for d in registered["directories"]} >= {"arcgissystem", "arcgisoutput"}
    finally:
        fresh.stop()
