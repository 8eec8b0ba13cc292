"""Two more published libraries run against a live site (issue 17, item 7): agsadmin 0.5.3
(``RestAdmin``, which logs in with RSA-encrypted credentials) and bmi-arcgis-restapi 2.4.19
(``restapi.admin`` and its published ``admin_samples.py``).

Each comes from its PyPI release (``tests/compat/pypi_release.py``) with the dependencies the
project's ``.venv`` does not hold installed beside it (``tests/compat/pypi_deps.py``), and is
driven by a ``driver.py`` of ours making the calls its README and samples show; the sample runs
as a script, ported by 2to3 and configured as it asks, on the fly. Every effect is checked
through geosite's own API. Where a library is wrong for ArcGIS Server too, the test asserts
what it really does (``scripts/<slug>/SOURCE.md`` says why); what geosite does not implement
yet (machine stop and start, issue 19) is an ``xfail(strict=True)`` naming the gap.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat import published, py3port, pypi_deps, pypi_release
from tests.compat.published import admin as _admin
from tests.compat.published import points as _points
from tests.compat.published import service_path as _service_path
from tests.compat.published import state as _state
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat

SERVICES = (("", "Parks"), ("", "Lakes"), ("Maps", "Trails"))
Drive = Callable[..., Any]


def _populate(site: LiveSite, token: str, folder: Path) -> LiveSite:
    data = _points(folder / "points.geojson")
    for where, name in SERVICES:
        assert publish(site, token, data, name, where)["status"] == "success"
    return site


@pytest.fixture(scope="module")
def services(
    site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory
) -> LiveSite:
    return _populate(site, admin_token, tmp_path_factory.mktemp("data"))


def _anonymous_count(site: LiveSite, folder: str, name: str) -> Any:
    where = f"{folder}/" if folder else ""
    return httpx.get(
        f"{site.http}/arcgis/rest/services/{where}{name}/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()


def _start_all(site: LiveSite) -> None:
    for folder, name in SERVICES:
        _admin(site, _service_path(folder, name) + "/start")


def _fetched(slug: str) -> dict[str, str]:
    """The release and its dependencies in place (the release first: a new ``original/``
    replaces the old one whole); the variables a script of it runs with."""
    try:
        pypi_release.fetch(slug)
        return pypi_deps.environment(slug)
    except pypi_release.ReleaseUnavailable as error:
        pytest.skip(str(error))


def _library(slug: str, into: Path) -> tuple[Path, dict[str, str]]:
    """The release ported into ``into`` with our driver beside it, and the driver's variables."""
    env = _fetched(slug)
    home = published.ported(slug, into)
    shutil.copy(published.SCRIPTS / slug / "driver.py", home / "driver.py")
    return home / "driver.py", env


def _driver(driver: Path, env: dict[str, str], *first: str) -> Drive:
    def call(*args: str) -> Any:
        ran = published.run(driver, *first, *args, env=env)
        assert ran.returncode == 0, ran.explain()
        assert "Traceback" not in ran.stderr, ran.explain()
        return json.loads(ran.stdout.strip().splitlines()[-1])

    return call


# --- agsadmin 0.5.3 (David Whittingham et al., BSD-3-Clause) ----------------------------------


@pytest.fixture
def agsadmin(services: LiveSite, tmp_path: Path) -> Iterator[Drive]:
    driver, env = _library("agsadmin", tmp_path)
    port = services.http.rsplit(":", 1)[1]
    yield _driver(driver, env, "127.0.0.1", port, ADMIN_USER, ADMIN_PASSWORD)
    _start_all(services)


def test_agsadmin_logs_in_with_encrypted_credentials(services: LiveSite, agsadmin: Drive) -> None:
    """Over plain HTTP agsadmin fetches ``/admin/publicKey`` and sends every token parameter
    RSA-encrypted (PKCS#1 v1.5, hex) with ``encrypted=true`` to the ``tokenServicesUrl`` of
    ``rest/info``; the token it gets back signs its next calls (issue 17, item 4)."""
    login = agsadmin("login")
    assert "error" not in login, login
    assert login["publicKeyUrl"] == services.admin + "/publicKey"
    assert login["tokenUrl"] == services.http + "/arcgis/tokens/"
    [sent] = login["sent"]
    data = sent["data"]
    assert set(data) == {"username", "password", "expiration", "client", "encrypted", "f"}
    assert data["encrypted"] == "true"
    modulus = httpx.get(services.admin + "/publicKey", params={"f": "json"}).json()["modulus"]
    for name in ("username", "password", "expiration", "client"):
        assert re.fullmatch("[0-9a-f]+", data[name]), (name, data[name])
        assert len(data[name]) == len(modulus), name  # one RSA block each, in hex
    assert ADMIN_PASSWORD not in json.dumps(data)
    answer = sent["answer"]
    assert set(answer) == {"token", "expires", "ssl"}  # ArcGIS Server's generateToken answer
    assert answer["token"] == login["token"] and answer["ssl"] is False
    # expiration (15 minutes, agsadmin's default) and client=requestip were decrypted too.
    assert 14 * 60_000 <= answer["expires"] - services.clock.now_ms() <= 16 * 60_000
    info = httpx.get(services.admin + "/info", params={"f": "json", "token": login["token"]})
    assert "error" not in info.json()
    assert login["folders"] == ["System", "Utilities", "Maps"]


def test_agsadmin_refuses_a_wrong_password(services: LiveSite, tmp_path: Path) -> None:
    """agsadmin raises its AuthenticationError only for ArcGIS's own answer: error details
    ``["Invalid username or password."]``."""
    driver, env = _library("agsadmin", tmp_path)
    port = services.http.rsplit(":", 1)[1]
    wrong = _driver(driver, env, "127.0.0.1", port, ADMIN_USER, "not-the-password")
    assert wrong("login") == {
        "error": "AuthenticationError",
        "message": "Could not authenticate with the ArcGIS server: Invalid username or password",
    }


def test_agsadmin_lists_folders_and_services(agsadmin: Drive) -> None:
    listed = agsadmin("list")
    assert listed == {
        "folders": ["System", "Utilities", "Maps"],
        "services": [["Lakes", "FeatureServer", "/"], ["Parks", "FeatureServer", "/"]],
    }
    assert agsadmin("list-folder", "Maps") == [["Trails", "FeatureServer", "Maps"]]
    assert agsadmin("list-folder", "Utilities") == [["Geometry", "GeometryServer", "Utilities"]]


def test_agsadmin_stops_and_starts_a_service(services: LiveSite, agsadmin: Drive) -> None:
    """The README's example: ``get_service(name, type, folder)``, ``stop_service``,
    ``start_service``; and ``get_status``."""
    started = {"configuredState": "STARTED", "realTimeState": "STARTED"}
    assert agsadmin("status", "Trails", "FeatureServer", "Maps") == started
    assert agsadmin("stop", "Trails", "FeatureServer", "Maps") == {"status": "success"}
    assert _state(services, "Maps", "Trails") == "STOPPED"
    assert "error" in _anonymous_count(services, "Maps", "Trails")
    assert agsadmin("status", "Trails", "FeatureServer", "Maps")["realTimeState"] == "STOPPED"
    assert agsadmin("start", "Trails", "FeatureServer", "Maps") == {"status": "success"}
    assert _state(services, "Maps", "Trails") == "STARTED"
    assert _anonymous_count(services, "Maps", "Trails") == {"count": 3}


def test_agsadmin_stops_a_root_service_it_listed(services: LiveSite, agsadmin: Drive) -> None:
    """``list_services()`` gives a root service the folder ``"/"`` it is listed with, so its
    operations go to ``services///Parks.FeatureServer/stop`` (issue 17, item 1)."""
    stopped = agsadmin("stop-listed", "Parks")
    assert stopped["url"] == services.admin + "/services///Parks.FeatureServer"
    assert stopped["answer"] == {"status": "success"}
    assert _state(services, "", "Parks") == "STOPPED"
    assert agsadmin("start-listed", "Parks")["answer"] == {"status": "success"}
    assert _state(services, "", "Parks") == "STARTED"


def test_agsadmin_reads_and_sets_properties_and_item_info(
    services: LiveSite, agsadmin: Drive
) -> None:
    statistics = agsadmin("statistics", "Lakes", "FeatureServer", "")
    assert statistics["summary"]["serviceName"] == "Lakes"
    properties = agsadmin("properties", "Lakes", "FeatureServer", "")
    assert (properties["serviceName"], properties["type"]) == ("Lakes", "FeatureServer")
    changes = json.dumps({"description": "Lakes, by agsadmin", "maxWaitTime": 75})
    assert agsadmin("set-properties", "Lakes", "FeatureServer", "", changes) == {
        "status": "success"
    }
    service = _admin(services, _service_path("", "Lakes"))
    assert (service["description"], service["maxWaitTime"]) == ("Lakes, by agsadmin", 75)
    changes = json.dumps({"summary": "Lakes of the valley", "tags": ["water", "lakes"]})
    assert agsadmin("set-iteminfo", "Lakes", "FeatureServer", "", changes) == {"status": "success"}
    info = _admin(services, _service_path("", "Lakes") + "/iteminfo")
    assert (info["summary"], info["tags"]) == ("Lakes of the valley", ["water", "lakes"])
    assert agsadmin("iteminfo", "Lakes", "FeatureServer", "")["summary"] == "Lakes of the valley"


def test_agsadmin_secures_and_opens_a_service(services: LiveSite, agsadmin: Drive) -> None:
    """``remove_permission('esriEveryone')`` posts ``permissions/add`` with ``isAllowed``
    false: anonymous queries are refused; ``add_permission`` opens the service again."""
    assert agsadmin("principals", "Trails", "FeatureServer", "Maps") == ["esriEveryone"]
    agsadmin("forbid", "Trails", "FeatureServer", "Maps", "esriEveryone")
    refused = _anonymous_count(services, "Maps", "Trails")
    assert refused["error"]["code"] in (401, 403, 499), refused
    permissions = _admin(services, _service_path("Maps", "Trails") + "/permissions")
    everyone = [p for p in permissions["permissions"] if p["principal"] == "esriEveryone"]
    assert [p["permission"]["isAllowed"] for p in everyone] == [False]
    agsadmin("permit", "Trails", "FeatureServer", "Maps", "esriEveryone")
    assert _anonymous_count(services, "Maps", "Trails") == {"count": 3}


def test_agsadmin_renames_and_deletes_a_service(
    services: LiveSite, agsadmin: Drive, admin_token: str, tmp_path: Path
) -> None:
    data = _points(tmp_path / "wells.geojson", 4)
    assert publish(services, admin_token, data, "Wells", "Maps")["status"] == "success"
    renamed = agsadmin("rename", "Wells", "FeatureServer", "Maps", "Springs")
    assert renamed["answer"] == {"status": "success"}
    assert renamed["name"] == "Springs" and renamed["status"]["realTimeState"] == "STARTED"
    assert _admin(services, _service_path("Maps", "Wells"))["code"] == 404
    assert _anonymous_count(services, "Maps", "Springs") == {"count": 4}
    assert agsadmin("delete", "Springs", "FeatureServer", "Maps") == {"status": "success"}
    assert _admin(services, _service_path("Maps", "Springs"))["code"] == 404


def test_agsadmin_reads_machines(services: LiveSite, agsadmin: Drive) -> None:
    """``machines.list()`` reads ``synchronize`` from every item of ``/admin/machines``, which
    ArcGIS Server's reference lists with ``machineName`` and ``adminURL`` only: a KeyError
    there too (SOURCE.md). ``machines.get(name)`` reads the machine resource, which has it."""
    assert agsadmin("machines") == {"error": "KeyError", "message": "'synchronize'"}
    [machine] = _admin(services, "machines")["machines"]
    name = machine["machineName"]
    assert agsadmin("machine", name) == {"name": name, "adminURL": machine["adminURL"]}


def test_agsadmin_stops_and_starts_the_machine(services: LiveSite, agsadmin: Drive) -> None:
    [machine] = _admin(services, "machines")["machines"]
    name = machine["machineName"]
    assert agsadmin("machine-stop", name) == {"name": name}
    assert _admin(services, f"machines/{name}/status")["configuredState"] == "STOPPED"
    assert agsadmin("machine-start", name) == {"name": name}
    assert _admin(services, f"machines/{name}/status")["configuredState"] == "STARTED"


def test_agsadmin_lists_and_reads_directories(services: LiveSite, agsadmin: Drive) -> None:
    listed = agsadmin("directories")
    assert "error" not in listed, listed
    directories = _admin(services, "system/directories")["directories"]
    assert listed == {
        d["name"]: {"type": d["directoryType"], "path": d["physicalPath"]} for d in directories
    }
    assert set(listed) >= {"arcgiscache", "arcgisjobs", "arcgisoutput", "arcgissystem"}


def test_agsadmin_registers_and_cleans_a_directory(
    services: LiveSite, agsadmin: Drive, tmp_path: Path
) -> None:
    target = tmp_path / "extra"
    target.mkdir()
    registered = agsadmin("register-directory", "extra", str(target), "OUTPUT", "more output")
    assert registered.get("name") == "extra", registered
    updated = agsadmin("update-directory", "extra", "older output", "30")
    assert updated["max_file_age"] == 30
    shown = _admin(services, "system/directories/extra")
    assert (shown["physicalPath"], shown["directoryType"], shown["maxFileAge"]) == (
        str(target),
        "OUTPUT",
        30,
    )
    assert shown["cleanupMode"] == "TIME_ELAPSED_SINCE_LAST_MODIFIED"
    assert "extra" in agsadmin("clean-directory", "extra")["names"]
    assert "extra" not in agsadmin("unregister-directory", "extra")["names"]
    assert _admin(services, "system/directories/extra")["code"] == 404


def test_agsadmin_uploads_a_file(services: LiveSite, agsadmin: Drive, tmp_path: Path) -> None:
    """``uploads.upload`` works; ``uploads.get`` and ``list`` read ``serviceName`` and
    ``contentType`` from every item, which ArcGIS Server's reference item does not have
    either: a KeyError (SOURCE.md)."""
    data = _points(tmp_path / "springs.geojson")
    answer = agsadmin("upload", str(data), "springs for agsadmin")
    assert answer["status"] == "success", answer
    item_id = answer["item"]["itemID"]
    item = _admin(services, f"uploads/{item_id}")
    assert (item["itemName"], item["description"]) == ("springs.geojson", "springs for agsadmin")
    assert agsadmin("get-upload", item_id) == {"error": "KeyError", "message": "'serviceName'"}
    assert agsadmin("list-uploads") == {"error": "KeyError", "message": "'serviceName'"}


def test_agsadmin_clears_the_rest_cache(agsadmin: Drive) -> None:
    assert agsadmin("clear-cache", "Parks", "FeatureServer", "") == {"status": "success"}


# --- bmi-arcgis-restapi 2.4.19 (Caleb Mackey, Bolton & Menk; GPL-2.0) -------------------------


@pytest.fixture
def restapi(services: LiveSite, tmp_path: Path) -> Iterator[Drive]:
    driver, env = _library("restapi", tmp_path)
    url = services.admin.removeprefix("http://") + "/services"  # as its sample writes it
    yield _driver(driver, env, url, ADMIN_USER, ADMIN_PASSWORD)
    _start_all(services)


def test_restapi_gets_a_token_and_lists_services(services: LiveSite, restapi: Drive) -> None:
    """``generate_token`` reads ``rest/info``'s ``tokenServicesUrl`` and posts there."""
    token = restapi("token")
    assert "error" not in token, token
    assert token["url"] == services.admin + "/services"
    info = httpx.get(services.admin + "/info", params={"f": "json", "token": token["token"]})
    assert "error" not in info.json()
    root = services.admin + "/services"
    assert restapi("services") == [
        f"{root}/Lakes.FeatureServer",
        f"{root}/Parks.FeatureServer",
        f"{root}/Utilities/Geometry.GeometryServer",
        f"{root}/Maps/Trails.FeatureServer",
    ]


def test_restapi_stops_and_starts_a_service_found_by_wildcard(
    services: LiveSite, restapi: Drive
) -> None:
    stopped = restapi("stop", "trails")
    assert stopped["url"] == services.admin + "/services/Maps/Trails.FeatureServer"
    assert stopped["state"] == "STOPPED" and stopped["status"]["realTimeState"] == "STOPPED"
    assert _state(services, "Maps", "Trails") == "STOPPED"
    assert "error" in _anonymous_count(services, "Maps", "Trails")
    assert restapi("start", "trails")["state"] == "STARTED"
    assert _state(services, "Maps", "Trails") == "STARTED"
    assert restapi("status", "lakes")["status"]["realTimeState"] == "STARTED"


def test_restapi_stops_and_starts_services_as_json(services: LiveSite, restapi: Drive) -> None:
    assert restapi("stop-services", "Maps", "Trails", "FeatureServer")["status"] == "success"
    assert _state(services, "Maps", "Trails") == "STOPPED"
    assert restapi("start-services", "Maps", "Trails", "FeatureServer")["status"] == "success"
    assert _state(services, "Maps", "Trails") == "STARTED"


def test_restapi_stop_services_of_a_folder_skips_feature_services(
    services: LiveSite, restapi: Drive
) -> None:
    """``stopServices(folderName=...)`` leaves out every ``FeatureServer`` of the folder (on
    ArcGIS Server a feature service is stopped with its MapServer); with none left it builds
    ``RequestError({'error': 'no services specified!'})``, which itself fails on the string:
    the library's own bug, on ArcGIS Server too (SOURCE.md)."""
    assert restapi("stop-folder", "Maps") == {
        "error": "AttributeError",
        "message": "'str' object has no attribute 'get'",
    }
    assert _state(services, "Maps", "Trails") == "STARTED"


def test_restapi_creates_a_folder_and_misses_deleting_it(
    services: LiveSite, restapi: Drive
) -> None:
    """``deleteFolder`` posts to ``.../servicesHydro/deleteFolder`` (a ``/`` missing in its
    format string): 404 on ArcGIS Server too (SOURCE.md)."""
    assert restapi("create-folder", "Hydro", "Water and rivers") == {"status": "success"}
    folder = _admin(services, "services/Hydro")
    assert (folder["folderName"], folder["description"]) == ("Hydro", "Water and rivers")
    missed = restapi("delete-folder", "Hydro")
    assert missed["code"] == 404 and "deleteFolder" in missed["messages"][0]
    assert "Hydro" in _admin(services, "services")["folders"]
    assert _admin(services, "services/Hydro/deleteFolder") == {"status": "success"}


def test_restapi_adds_and_removes_a_user_with_a_role(services: LiveSite, restapi: Drive) -> None:
    added = restapi("add-user", "surveyor", "Surveyor-password-1", "surveyors", "PUBLISH")
    assert "error" not in added, added
    for step in ("addRole", "assignPrivilege", "addUser", "addUsersToRole"):
        assert added[step] == {"status": "success"}, (step, added)
    assert added["getRolesForUser"]["roles"] == ["surveyors"]
    assert added["getUsersWithinRole"]["users"] == ["surveyor"]
    assert added["getPrivilegeForUser"]["privilege"] == "PUBLISH"
    users = _admin(services, "security/users/search", filter="surveyor")["users"]
    assert [(u["username"], u["fullname"], u["email"]) for u in users] == [
        ("surveyor", "Made By restapi", "u@example.com")
    ]
    token = services.token("surveyor", "Surveyor-password-1")
    uploads = httpx.get(services.admin + "/uploads", params={"f": "json", "token": token}).json()
    assert "items" in uploads

    assert restapi("remove-user", "surveyor") == {"status": "success"}
    assert _admin(services, "security/users/search", filter="surveyor")["users"] == []
    assert _admin(services, "security/roles/remove", rolename="surveyors") == {"status": "success"}


def test_restapi_role_removals_fail_in_the_library(restapi: Drive) -> None:
    """``ArcServerAdmin.removeUsersFromRole`` passes ``rolenameme``, ``UserStore.removeRoles``
    reads ``roles`` before it is set and ``RoleStore.removeRole`` passes its parameters as the
    URL: each fails before any request, on ArcGIS Server too (SOURCE.md)."""
    assert restapi("remove-users-from-role", "surveyors", "surveyor") == {
        "error": "NameError",
        "message": "name 'rolenameme' is not defined",
    }
    assert restapi("remove-roles", "surveyor", "surveyors") == {
        "error": "UnboundLocalError",
        "message": "cannot access local variable 'roles' where it is not associated with a value",
    }
    assert restapi("remove-role", "surveyors") == {
        "error": "AttributeError",
        "message": "'dict' object has no attribute 'split'",
    }


def test_restapi_queries_sets_and_cleans_the_logs(services: LiveSite, restapi: Drive) -> None:
    assert _admin(services, "services/NoSuchService.FeatureServer/start")["status"] == "error"
    services.flush_logs()
    found = restapi("logs", "WARNING")
    assert any("NoSuchService" in message for message in found["messages"]), found
    settings = restapi("log-settings")
    assert settings["logLevel"] == "FINE"
    edited = restapi("edit-log-settings", "INFO", "30")
    assert edited["status"] == "success", edited
    now = _admin(services, "logs/settings")["settings"]
    assert (now["logLevel"], now["maxLogFileAge"]) == ("INFO", 30)
    assert restapi("edit-log-settings", "FINE", str(settings["maxLogFileAge"]))["status"] == (
        "success"
    )
    assert restapi("clean-logs") == {"status": "success"}
    services.flush_logs()
    left = _admin(services, "logs/query", level="DEBUG", pageSize=10000, filter="{}")
    assert not any("NoSuchService" in m["message"] for m in left["logMessages"])


# --- restapi/admin/samples/admin_samples.py, run as a script --------------------------------


def _configured_sample(into: Path, **values: str) -> Path:
    """The published sample, ported by 2to3 and with the values its ``__main__`` block tells
    users to set (each assigned exactly once in that block), in ``into``."""
    source = pypi_release.fetch("restapi") / "restapi" / "admin" / "samples" / "admin_samples.py"
    into.mkdir()
    script = into / "admin_samples.py"
    shutil.copy(source, script)
    py3port.port(into)
    code, main = script.read_text().split("if __name__ == '__main__':")
    for name, value in values.items():
        pattern = re.compile(rf"^    {name} = .*$", re.MULTILINE)
        if len(pattern.findall(main)) != 1:
            raise ValueError(f"admin_samples.py: no single assignment of {name}")
        main = pattern.sub(lambda _m, n=name, v=value: f"    {n} = {v!r}", main)
    script.write_text(code + "if __name__ == '__main__':" + main)
    return script


def test_restapi_admin_sample_runs_against_a_site(tmp_path: Path) -> None:
    """``admin_samples.py`` lists a folder's services and all services, opens then secures the
    folder, stops and starts its services, prints the log records of its query, edits a
    service's description and sets it back, and lists the data store's items.

    Its folder is ``Utilities``: ``stopServices(folderName=...)`` skips feature services (see
    above), and the Geometry service is the folder's one other service. Its log query sends
    ``startTime`` three days ago and no ``endTime``, which ArcGIS reads as "records older than
    three days": the record made four days ago is printed, the fresh one is not."""
    site = make_site(tmp_path / "site")
    try:
        token = site.token()
        _populate(site, token, tmp_path)
        shares = tmp_path / "shares"
        shares.mkdir()
        item = {"path": "/fileShares/shares", "type": "folder", "info": {"path": str(shares)}}
        assert _admin(site, "data/registerItem", item=json.dumps(item))["status"] == "success"
        site.clock.advance(minutes=-4 * 24 * 60)
        assert _admin(site, "services/OldNoSuchService.FeatureServer/start")["status"] == "error"
        site.clock.advance(minutes=4 * 24 * 60)
        assert _admin(site, "services/NewNoSuchService.FeatureServer/start")["status"] == "error"
        site.flush_logs()
        env = _fetched("restapi")
        library = published.ported("restapi", tmp_path / "lib")
        env["PYTHONPATH"] += ":" + str(library)
        script = _configured_sample(
            tmp_path / "sample",
            url=site.admin.removeprefix("http://") + "/services",
            usr=ADMIN_USER,
            pw=ADMIN_PASSWORD,
            folder_name="Utilities",
            service_name="trails",
        )
        ran = published.run(script, env=env)
        assert ran.returncode == 0, ran.explain()
        lines = [line for line in ran.stdout.splitlines() if line.strip()]
        assert lines.count("Geometry STARTED") == 3, ran.explain()  # folder, all, restarted
        assert lines.count("Geometry STOPPED") == 1, ran.explain()
        assert {"Parks STARTED", "Lakes STARTED", "Trails STARTED"} <= set(lines)
        # The sample prints each record's time, then iterates the record (its keys).
        records = _admin(site, "logs/query", level="WARNING", pageSize=10000, filter="{}")
        old = [m for m in records["logMessages"] if "OldNoSuchService" in m["message"]]
        assert [line for line in lines if line.isdigit()] == [str(old[0]["time"])]
        assert "message" in lines and "requestID" in lines
        assert "folder /fileShares/shares" in lines and str(shares) in lines, ran.explain()
        # Its effects, through the API: the folder secured again, its service started, the
        # description edited and set back.
        assert _state(site, "Utilities", "Geometry", "GeometryServer") == "STARTED"
        permissions = _admin(site, "services/Utilities/permissions")["permissions"]
        everyone = [p for p in permissions if p["principal"] == "esriEveryone"]
        assert [p["permission"]["isAllowed"] for p in everyone] == [False]
        anonymous = httpx.get(
            site.http + "/arcgis/rest/services/Utilities/Geometry/GeometryServer",
            params={"f": "json"},
        ).json()
        assert anonymous["error"]["code"] in (401, 403, 499), anonymous
        assert _admin(site, _service_path("Maps", "Trails"))["description"] == ""
        site.flush_logs()
        records = _admin(site, "logs/query", level="FINE", pageSize=10000, filter="{}")
        edits = [m for m in records["logMessages"] if "Trails" in m["message"]]
        assert any("edit" in m["message"] for m in edits), edits
    finally:
        site.stop()
