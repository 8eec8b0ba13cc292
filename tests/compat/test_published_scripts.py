"""Published stand-alone administration scripts, run against a live site (issue 17, item 7).

Each script is one other people wrote for ArcGIS Server and published under a licence that
lets us run it (``tests/compat/scripts/<slug>/SOURCE.md``); it runs here as its author
wrote it, ported to Python 3 by :mod:`tests.compat.py3port` (``2to3`` and bytes, nothing
else). Every test then checks the script's effect through the API: services really stopped,
instances and timeouts really changed, logs really cleaned, a backup really written.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat import published
from tests.compat.published import Ran
from tests.compat.published import admin as _admin
from tests.compat.published import service_path as _service_path
from tests.compat.published import state as _state
from tests.compat.py3port import configure, port
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat

# The services the tests publish: (folder, name); "" is the root folder.
SERVICES = (("", "Parks"), ("", "Lakes"), ("Maps", "Trails"), ("Maps", "Roads"))


def _ported(slug: str, into: Path) -> Path:
    home = published.SCRIPTS / slug / "original"
    if not home.is_dir():
        pytest.skip(
            f"{home} is missing: the published files are not kept in this repository; "
            "fetch them with `python -m tests.compat.scripts.fetch` (see SOURCE.md)"
        )
    target = published.ported(slug, into)
    port(target)
    return target


@pytest.fixture(scope="module")
def services(
    site: LiveSite, admin_token: str, tmp_path_factory: pytest.TempPathFactory
) -> LiveSite:
    data = published.points(tmp_path_factory.mktemp("data") / "points.geojson")
    for folder, name in SERVICES:
        assert publish(site, admin_token, data, name, folder)["status"] == "success"
    return site


def _start_all(site: LiveSite) -> None:
    for folder, name in SERVICES:
        _admin(site, _service_path(folder, name) + "/start")


def _check(ran: Ran) -> None:
    assert ran.returncode == 0, ran.explain()
    assert "Traceback" not in ran.stderr, ran.explain()


# --- djarrard/Python-AGS-Admin: four samples on one small function library ------------------


@pytest.fixture
def ags_admin(services: LiveSite, tmp_path: Path) -> Iterator[Path]:
    """The samples, ported, with the parameters their README says to set."""
    home = _ported("python-ags-admin", tmp_path)
    for sample in home.glob("*_sample.py"):
        configure(
            sample,
            AGSRestEndpoint=services.http + "/arcgis/rest",
            username=ADMIN_USER,
            password=ADMIN_PASSWORD,
        )
    yield home
    _start_all(services)


def test_start_stop_delete_sample_stops_every_service(services: LiveSite, ags_admin: Path) -> None:
    """It stops every service outside the default folders (root ones by ``services//Name``)."""
    ran = published.run(ags_admin / "StartStopDelete_sample.py")
    _check(ran)
    assert ran.stdout.count("Result: success") == len(SERVICES), ran.explain()
    for folder, name in SERVICES:
        assert _state(services, folder, name) == "STOPPED"
    geometry = _admin(services, "services/Utilities/Geometry.GeometryServer/status")
    assert geometry["realTimeState"] == "STARTED"
    query = httpx.get(
        f"{services.http}/arcgis/rest/services/Parks/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()
    assert "error" in query


def test_min_max_instance_sample_sets_instances(services: LiveSite, ags_admin: Path) -> None:
    ran = published.run(ags_admin / "MinMaxInstance_sample.py")
    _check(ran)
    assert ran.stdout.count("Service update result: success") == len(SERVICES), ran.explain()
    for folder, name in SERVICES:
        service = _admin(services, _service_path(folder, name))
        assert (service["minInstancesPerNode"], service["maxInstancesPerNode"]) == (0, 2)
    again = published.run(ags_admin / "MinMaxInstance_sample.py")
    _check(again)
    assert again.stdout.count("Service was already configured as desired") == len(SERVICES)


def test_update_service_timeouts_sample_sets_timeouts(services: LiveSite, ags_admin: Path) -> None:
    for folder, name in SERVICES:
        service = _admin(services, _service_path(folder, name))
        service.update(maxWaitTime=30, maxStartupTime=100, maxIdleTime=900, maxUsageTime=120)
        edited = _admin(
            services, _service_path(folder, name) + "/edit", service=json.dumps(service)
        )
        assert edited["status"] == "success", edited
    ran = published.run(ags_admin / "UpdateServiceTimeouts_sample.py")
    _check(ran)
    assert ran.stdout.count("Serviced update result: success") == len(SERVICES), ran.explain()
    for folder, name in SERVICES:
        service = _admin(services, _service_path(folder, name))
        timeouts = [
            service[k] for k in ("maxWaitTime", "maxStartupTime", "maxIdleTime", "maxUsageTime")
        ]
        assert timeouts == [60, 300, 1800, 600]


def test_backup_site_sample_reaches_export_site(services: LiveSite, ags_admin: Path) -> None:
    """It writes the backup to ``C:\\temp``, in the call itself: a Windows folder.

    The version check passes (``currentVersion`` is a number >= 10.2) and ``exportSite`` is
    called; a server on Linux (ArcGIS Server's too) has no such folder, and the sample prints
    the error's messages. The backup itself is checked with AdminFunctions.py's ``exportSite``
    below, which takes the folder as an argument.
    """
    before = set(services.data_dir.rglob("*.agssite"))
    ran = published.run(ags_admin / "BackupSite_sample.py")
    _check(ran)
    assert "is not an existing folder the server can write to" in ran.stdout, ran.explain()
    assert "Backup Created" not in ran.stdout
    assert set(services.data_dir.rglob("*.agssite")) == before


# --- Esri's Developer Summit 2014 AdminFunctions.py, driven as its examples file does ---------


def _drive(site: LiveSite, home: Path, calls: str) -> Ran:
    """Run ``calls`` after ``CON = AdminFunctions.ADMINCON(...)``, as the examples file does."""
    port_number = site.http.rsplit(":", 1)[1]
    driver = home / "drive.py"
    driver.write_text(
        "import AdminFunctions\n"
        f"CON = AdminFunctions.ADMINCON({ADMIN_USER!r}, {ADMIN_PASSWORD!r}, '127.0.0.1', "
        f"{port_number})\n" + textwrap.dedent(calls)
    )
    return published.run(driver)


@pytest.fixture
def admin_functions(services: LiveSite, tmp_path: Path) -> Iterator[Path]:
    yield _ported("ds2014-admin-functions", tmp_path)
    _start_all(services)


def _log_messages(site: LiveSite) -> list[dict[str, Any]]:
    site.flush_logs()
    answer = _admin(site, "logs/query", level="DEBUG", pageSize=10000, filter="{}")
    return list(answer["logMessages"])


def _leave_a_warning(site: LiveSite, marker: str) -> None:
    """A WARNING record naming ``marker``: starting a service that does not exist."""
    answer = _admin(site, f"services/{marker}.FeatureServer/start")
    assert answer["status"] == "error"
    assert any(marker in m["message"] for m in _log_messages(site))


def test_admin_functions_modify_logs_cleans_and_sets_level(
    services: LiveSite, admin_functions: Path
) -> None:
    _leave_a_warning(services, "BeforeTheClean")
    before = _admin(services, "logs/settings")["settings"]
    try:
        ran = _drive(services, admin_functions, 'CON.modifyLogs(True, "DEBUG")\n')
        _check(ran)
        # The sample checks clean's answer with checkMSG(answer["status"]), a string, so it
        # never prints "Cleared log files" (on ArcGIS Server too); the level change it reports.
        assert ran.stdout.strip() == "Successfully changed log level to DEBUG", ran.explain()
        assert not any("BeforeTheClean" in m["message"] for m in _log_messages(services))
        after = _admin(services, "logs/settings")["settings"]
        assert after == {**before, "logLevel": "DEBUG"}
    finally:
        restored = _admin(services, "logs/settings/edit", **{**before, "logLevel": "FINE"})
        assert restored["status"] == "success", restored


def test_admin_functions_folders_rename_stop_and_list(
    services: LiveSite, admin_functions: Path
) -> None:
    ran = _drive(
        services,
        admin_functions,
        """
        CON.checkExpiredToken()
        CON.createFolder("testServices", "Folder for test services")
        print(CON.getFolders())
        CON.renameService("Lakes.FeatureServer", "Ponds")
        CON.stopStartServices("Stop", ["Ponds.FeatureServer", "Maps//Trails.FeatureServer"])
        CON.getServiceList()
        """,
    )
    try:
        _check(ran)
        lines = ran.stdout.splitlines()
        assert lines[:3] == [
            "Token is still valid",
            "Created folder: testServices",
            str(["System", "Utilities", "Maps", "testServices"]),
        ], ran.explain()
        assert "Successfully renamed service to : Ponds" in lines
        assert "Ponds.FeatureServer === Stop" in lines
        assert "Maps//Trails.FeatureServer === Stop" in lines
        # getServiceList leaves out System and Utilities (it removes both by name).
        assert lines[-1] == str(
            [
                "Parks.FeatureServer",
                "Ponds.FeatureServer",
                "Maps//Roads.FeatureServer",
                "Maps//Trails.FeatureServer",
            ]
        )
        folders = _admin(services, "services")["foldersDetail"]
        made = next(f for f in folders if f["folderName"] == "testServices")
        assert made["description"] == "Folder for test services"
        assert _state(services, "", "Ponds") == "STOPPED"
        assert _state(services, "Maps", "Trails") == "STOPPED"
        assert _state(services, "", "Parks") == "STARTED"
        assert _admin(services, _service_path("", "Lakes"))["status"] == "error"
    finally:
        _admin(services, "services/Ponds.FeatureServer/start")
        _admin(
            services,
            "services/renameService",
            serviceName="Ponds",
            serviceType="FeatureServer",
            serviceNewName="Lakes",
        )
        _admin(services, "services/testServices/deleteFolder")


def test_admin_functions_reports_and_export(services: LiveSite, admin_functions: Path) -> None:
    for path, params in (
        ("security/roles/add", {"rolename": "Editors", "description": "They edit"}),
        ("security/users/add", {"username": "ann", "password": "ann-Passw0rd!", "fullname": "Ann"}),
        ("security/roles/addUsersToRole", {"rolename": "Editors", "users": "ann"}),
    ):
        assert _admin(services, path, **params)["status"] == "success"
    # geosite writes backups only inside its server directories (ArcGIS: any folder).
    directory = _admin(services, "system/directories")["directories"][0]["physicalPath"]
    backups = Path(directory) / "script-backups"
    backups.mkdir()
    ran = _drive(
        services,
        admin_functions,
        f"""
        CON.getServerInfo()
        CON.securityReport()
        CON.listRoles()
        CON.listUsers()
        CON.listUsersInRole("Editors")
        CON.listRolesByUser("ann")
        CON.exportSite({str(backups)!r})
        """,
    )
    _check(ran)
    out = ran.stdout
    info = _admin(services, "info")
    assert f"Version: {info['currentversion']}" in out, ran.explain()
    assert "Log level: FINE" in out
    licenses = _admin(services, "system/licenses")
    assert f"License is: {licenses['edition']['name']} / {licenses['level']['name']}" in out
    assert "License does not expire" in out
    assert "securityEnabled             : True" in out
    assert "\n___Roles___\nEditors\n ... They edit\n" in out
    assert "username    : ann" in out and "username    : siteadmin" in out
    assert "Found these users in 'Editors' role...\nann\n" in out
    assert "Found these roles for 'ann'...\nEditors\n" in out
    (written,) = backups.iterdir()
    assert f"Exported site to {written}" in out
    assert written.stat().st_size > 0


# --- Esri's Developer Summit 2014 Logs/getLogs.py, called as its main.py does -----------------

LOG_FIELDS = (
    "type",
    "message",
    "time",
    "source",
    "machine",
    "user",
    "code",
    "elapsed",
    "process",
    "thread",
    "methodName",
)


def test_get_logs_reads_a_week_of_records(services: LiveSite, tmp_path: Path) -> None:
    """``getLogAsJSON`` with main.py's week; every field its SaveTools.logToCSV writes."""
    home = _ported("ds2014-get-logs", tmp_path)
    _leave_a_warning(services, "SeenByGetLogs")
    port_number = services.http.rsplit(":", 1)[1]
    driver = home / "drive.py"
    driver.write_text(
        textwrap.dedent(
            f"""
            import json, time
            import getLogs
            week = 60 * 60 * 24 * 1000 * 7
            starttime = int(time.time() * 1000)
            endtime = int((time.time() * 1000) - week)
            log = getLogs.getLogAsJSON(
                "127.0.0.1", {port_number}, {ADMIN_USER!r}, {ADMIN_PASSWORD!r}, starttime, endtime
            )
            print(json.dumps(log))
            """
        )
    )
    ran = published.run(driver)
    _check(ran)
    log = json.loads(ran.stdout)
    messages = log["logMessages"]
    assert any("SeenByGetLogs" in m["message"] for m in messages), ran.explain()
    for message in messages:
        assert set(LOG_FIELDS) <= set(message), message
        int(message["code"])  # logToTable writes code as LONG and elapsed as DOUBLE
        if str(message["elapsed"]):
            float(message["elapsed"])
