"""Esri's arcrest 10.3 (PyPI) and its command-line utilities against a live site (issue 17, item 7).

The release is fetched from PyPI at test time (``tests/compat/pypi_release.py``; where it comes
from and what is exercised: ``tests/compat/scripts/arcrest/SOURCE.md``) and run unchanged:
``manageservice.py`` and ``managesite.py`` as an administrator runs them (``-u -p -s``, a
subprocess each), and the ``arcrest.admin`` library through our ``driver.py``. Both go through
our ``launch.py``, which gives back the ``cgi.parse_qs`` that Python 3.8 removed and arcrest
calls on every request. Every effect is checked through geosite's own API: the service really
stopped or gone, the listing really the site's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat import published, py3port, pypi_release
from tests.compat.published import admin as _admin
from tests.compat.published import points as _points
from tests.compat.published import service_path as _path
from tests.compat.published import state as _state
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite
from tests.http.test_publishing import publish

pytestmark = pytest.mark.compat

SLUG = "arcrest"
HOME = published.SCRIPTS / SLUG
LAUNCH = HOME / "launch.py"

# The services every test starts from: (folder, name); "" is the root folder.
SERVICES = (("", "Parks"), ("", "Lakes"), ("Maps", "Trails"))


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release as published (a copy: running it writes ``__pycache__``)."""
    try:
        pypi_release.fetch(SLUG)
    except pypi_release.ReleaseUnavailable as error:
        pytest.skip(str(error))
    return published.ported(SLUG, tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def ported(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release with the mechanical port of its ``arcrest/admin`` (2to3's fixers, which
    turn ``dict.iteritems()`` into ``items()``): what ``manageservice -o status`` needs."""
    copy = tmp_path_factory.mktemp("ported") / SLUG
    shutil.copytree(library, copy)
    py3port.port(copy / "arcrest" / "admin")
    return copy


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _points(tmp_path_factory.mktemp("data") / "points.geojson")


@pytest.fixture(scope="module")
def services(site: LiveSite, admin_token: str, data: Path) -> LiveSite:
    for folder, name in SERVICES:
        assert publish(site, admin_token, data, name, folder)["status"] == "success"
    return site


@pytest.fixture
def started(services: LiveSite) -> Any:
    yield services
    for folder, name in SERVICES:
        _admin(services, _path(folder, name) + "/start")


def _count(site: LiveSite, folder: str, name: str) -> Any:
    where = f"{folder}/{name}" if folder else name
    return httpx.get(
        f"{site.http}/arcgis/rest/services/{where}/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    ).json()


def _site_states(site: LiveSite) -> dict[str, str]:
    """Every service and its real-time state, read from geosite's API, named as
    ``manageservice -l`` names them (``folder/name.type``, the root without a folder)."""
    root = _admin(site, "services")
    states: dict[str, str] = {}
    for folder in ["", *root["folders"]]:
        listing = _admin(site, f"services/{folder}") if folder else root
        for item in listing["services"]:
            name = f"{item['serviceName']}.{item['type']}"
            status = _admin(site, f"services/{folder + '/' if folder else ''}{name}/status")
            states[(folder + "/" if folder else "") + name] = status["realTimeState"]
    return states


def _utility(
    site: LiveSite,
    home: Path,
    name: str,
    *args: str,
    password: str = ADMIN_PASSWORD,
    context: str = "/arcgis",
) -> published.Ran:
    """``cmdline/<name>`` run as Esri's help shows: ``-u -p -s http://host:port[/arcgis]``."""
    script = home / "cmdline" / name
    credentials = ("-u", ADMIN_USER, "-p", password, "-s", site.http + context)
    return published.run(LAUNCH, str(home), str(script), *credentials, *args)


def _manageservice(site: LiveSite, home: Path, *args: str) -> published.Ran:
    return _utility(site, home, "manageservice.py", *args)


def _ok(ran: published.Ran) -> str:
    assert ran.returncode == 0, ran.explain()
    assert "Traceback" not in ran.stderr and "Error" not in ran.stdout, ran.explain()
    return ran.stdout


def _drive(site: LiveSite, home: Path, *args: str) -> Any:
    driver = str(HOME / "driver.py")
    ran = published.run(LAUNCH, str(home), driver, site.admin, ADMIN_USER, ADMIN_PASSWORD, *args)
    assert ran.returncode == 0, ran.explain()
    return json.loads(ran.stdout.strip().splitlines()[-1])


# --- manageservice.py ------------------------------------------------------------------------


def _listed(stdout: str) -> dict[str, str]:
    rows = [line.split("|") for line in stdout.splitlines() if "|" in line]
    return {name.strip(): state.strip() for name, state in rows}


@pytest.mark.parametrize("context", ["/arcgis", ""])  # both -s forms of Esri's help
def test_manageservice_lists_every_service_with_its_state(
    started: LiveSite, library: Path, context: str
) -> None:
    assert _admin(started, _path("Maps", "Trails") + "/stop") == {"status": "success"}
    listed = _listed(_ok(_utility(started, library, "manageservice.py", "-l", context=context)))
    assert listed == _site_states(started)
    assert listed["Maps/Trails.FeatureServer"] == "STOPPED"
    assert listed["Parks.FeatureServer"] == "STARTED"
    assert listed["Utilities/Geometry.GeometryServer"] == "STARTED"


@pytest.mark.parametrize(
    ("folder", "name", "given"),
    [("Maps", "Trails", "Maps/Trails"), ("", "Parks", "Parks.FeatureServer")],
)
def test_manageservice_stops_and_starts_a_service(
    started: LiveSite, library: Path, folder: str, name: str, given: str
) -> None:
    assert _ok(_manageservice(started, library, "-n", given, "-o", "stop")) == ""
    assert _state(started, folder, name) == "STOPPED"
    assert "error" in _count(started, folder, name)
    assert _state(started, "", "Lakes") == "STARTED"  # only the one named
    assert _ok(_manageservice(started, library, "-n", given, "-o", "start")) == ""
    assert _state(started, folder, name) == "STARTED"
    assert _count(started, folder, name) == {"count": 3}


def test_manageservice_stops_the_geometry_service(started: LiveSite, library: Path) -> None:
    geometry = "Utilities/Geometry.GeometryServer"
    assert _ok(_manageservice(started, library, "-n", "Utilities/Geometry", "-o", "stop")) == ""
    try:
        assert _admin(started, f"services/{geometry}/status")["realTimeState"] == "STOPPED"
    finally:
        assert _admin(started, f"services/{geometry}/start") == {"status": "success"}


def test_manageservice_status_needs_the_port(
    services: LiveSite, library: Path, ported: Path
) -> None:
    # As published, the release's own Python 3 bug (it would be the same against ArcGIS
    # Server): the status dict's iteritems().
    as_published = _manageservice(services, library, "-n", "Maps/Trails", "-o", "status")
    assert as_published.returncode == 1, as_published.explain()
    assert "'dict' object has no attribute 'iteritems'" in as_published.stderr
    # With the mechanical port it prints the status geosite keeps.
    printed = _ok(_manageservice(services, ported, "-n", "Maps/Trails", "-o", "status"))
    status = _admin(services, _path("Maps", "Trails") + "/status")
    assert printed.splitlines() == [f"{key}: {value}" for key, value in sorted(status.items())]
    assert "realTimeState: STARTED" in printed.splitlines()


def test_manageservice_deletes_a_service(services: LiveSite, library: Path, data: Path) -> None:
    assert publish(services, services.token(), data, "Scratch", "Maps")["status"] == "success"
    assert _ok(_manageservice(services, library, "-n", "Maps/Scratch", "-o", "delete")) == ""
    listing = _admin(services, "services/Maps")
    assert [s["serviceName"] for s in listing["services"]] == ["Trails"]
    assert _admin(services, _path("Maps", "Scratch"))["code"] == 404
    assert _count(services, "Maps", "Scratch")["error"]["code"] == 404


def test_manageservice_says_what_went_wrong(services: LiveSite, library: Path) -> None:
    before = _site_states(services)
    unknown = _manageservice(services, library, "-n", "Nope", "-o", "stop")
    assert unknown.returncode == 1, unknown.explain()
    assert unknown.stdout.strip() == "Error searching for service Nope: 'Nope'"
    refused = _utility(services, library, "manageservice.py", "-l", password="wrong")
    assert refused.returncode == 1, refused.explain()
    assert refused.stdout.startswith("Error connecting to admin site")
    assert "Could not create token" in refused.stdout
    assert _site_states(services) == before


# --- managesite.py ---------------------------------------------------------------------------


def test_managesite_lists_the_clusters(services: LiveSite, library: Path) -> None:
    printed = _ok(_utility(services, library, "managesite.py", "-lc")).splitlines()
    assert printed[0] == "===Clusters on this site==="
    names = [line.removeprefix("- ") for line in printed[1:] if line]
    assert names == [c["clusterName"] for c in _admin(services, "clusters")["clusters"]]


def test_managesite_machines_and_operations_need_a_cluster(
    services: LiveSite, library: Path
) -> None:
    # Esri's help: "-l Lists the machines in the cluster you specified with the -c parameter";
    # -o starts or stops that cluster. geosite's site has no clusters (ArcGIS deprecated them).
    before = _site_states(services)
    alone = _utility(services, library, "managesite.py", "-l")
    assert alone.returncode == 1, alone.explain()
    assert alone.stdout.strip() == "Error performing : No cluster specified"
    for args in (("-l", "-c", "default"), ("-o", "stop", "-c", "default")):
        ran = _utility(services, library, "managesite.py", *args)
        assert ran.returncode == 1, ran.explain()
        assert ran.stdout.strip() == "Error looking up cluster: 'default'"
    assert _site_states(services) == before
    machines = _admin(services, "machines")["machines"]
    assert all(
        _admin(services, f"machines/{m['machineName']}")["configuredState"] == "STARTED"
        for m in machines
    )


# --- the utilities that need ArcGIS's geoprocessing tools ------------------------------------


@pytest.mark.parametrize(
    ("utility", "args", "message"),
    [
        ("createservice.py", ("-f", "{sd}"), "Error looking up Publish Tool"),
        ("deletecache.py", ("-n", "Parks"), "Error fetching reference to Delete Cache tool"),
        ("managecachetiles.py", ("-n", "Parks"), "Error fetching reference to Manage Cache tool"),
        ("createcacheschema.py", ("-n", "Parks"), "Error fetching reference to Import Cache tool"),
        (
            "convertcachestorageformat.py",
            ("-n", "Parks"),
            "Error fetching reference to Convert Cache Storage Format tool",
        ),
    ],
)
def test_geoprocessing_utilities_stop_with_a_message(
    services: LiveSite, library: Path, tmp_path: Path, utility: str, args: Any, message: str
) -> None:
    sd = tmp_path / "Parks.sd"
    sd.write_bytes(b"not a service definition")
    before = _site_states(services)
    ran = _utility(services, library, utility, *(a.format(sd=sd) for a in args))
    assert ran.returncode == 1, ran.explain()
    assert ran.stdout.startswith(message), ran.explain()
    assert "System" in ran.stdout
    assert _site_states(services) == before


def test_reportcachestatus_is_missing_from_the_release(services: LiveSite, library: Path) -> None:
    ran = _utility(services, library, "reportcachestatus.py")
    assert ran.returncode == 1
    assert "has no attribute 'reportcachestatus'" in ran.stderr


# --- the arcrest.admin library -----------------------------------------------------------------


def test_library_logs_in_and_reads_the_site(services: LiveSite, library: Path) -> None:
    root = _admin(services, "")
    assert _drive(services, library, "info") == {
        "resources": root["resources"],
        "currentVersion": root["currentVersion"],
    }


def test_library_lists_folders_and_services(services: LiveSite, library: Path) -> None:
    answer = _drive(services, library, "folders")
    root = _admin(services, "services")
    assert answer["root"] == "/"
    assert answer["rootServices"] == sorted(
        f"{s['serviceName']}.{s['type']}" for s in root["services"]
    )
    assert answer["folders"] == {
        folder: [s["serviceName"] for s in _admin(services, f"services/{folder}")["services"]]
        for folder in root["folders"]
    }
    assert answer["folders"]["Maps"] == ["Trails"]
    assert answer["folders"]["Utilities"] == ["Geometry"]
    every = _drive(services, library, "every-service")
    assert every == sorted(name.rsplit("/", 1)[-1] for name in _site_states(services))
    types = _admin(services, "services/types")["types"]
    assert _drive(services, library, "types") == sorted(t["name"] for t in types)


def test_library_stops_and_starts_a_service(started: LiveSite, library: Path) -> None:
    stopped = _drive(started, library, "stop", "Maps/Trails.FeatureServer")
    assert stopped == {"name": "Trails.FeatureServer", "answer": {"status": "success"}}
    assert _state(started, "Maps", "Trails") == "STOPPED"
    status = _drive(started, library, "status", "Maps/Trails")["answer"]
    assert status == _admin(started, _path("Maps", "Trails") + "/status")
    assert status["realTimeState"] == "STOPPED"
    assert _drive(started, library, "start", "maps/trails")["answer"] == {"status": "success"}
    assert _state(started, "Maps", "Trails") == "STARTED"
    assert _count(started, "Maps", "Trails") == {"count": 3}


def test_library_reads_statistics(services: LiveSite, library: Path) -> None:
    _count(services, "", "Parks")
    answer = _drive(services, library, "statistics", "Parks")
    assert answer["name"] == "Parks.FeatureServer"
    summary = answer["answer"]["summary"]
    assert (summary["folderName"], summary["serviceName"]) == ("/", "Parks")
    assert summary["transactions"] >= 1


def test_library_lists_machines_and_clusters(services: LiveSite, library: Path) -> None:
    machines = _admin(services, "machines")["machines"]
    expected = []
    for listed in sorted(machines, key=lambda m: m["machineName"]):
        machine = _admin(services, f"machines/{listed['machineName']}")
        expected.append(
            {
                "name": machine["machineName"],
                "adminURL": machine["adminURL"],
                "platform": machine["platform"],
            }
        )
    assert _drive(services, library, "machines") == expected
    clusters = _admin(services, "clusters")["clusters"]
    assert _drive(services, library, "clusters") == [c["clusterName"] for c in clusters]


def test_library_refuses_a_wrong_password(services: LiveSite, library: Path) -> None:
    ran = published.run(
        LAUNCH, str(library), str(HOME / "driver.py"), services.admin, ADMIN_USER, "wrong", "info"
    )
    answer = json.loads(ran.stdout.strip().splitlines()[-1])
    assert answer["error"] == "HTTPError"
    assert "Could not create token" in answer["message"]
