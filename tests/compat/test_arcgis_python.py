"""The ArcGIS API for Python (``arcgis`` 2.4.4) administering a live site.

Two ways of connecting, both as a user would write them:

* over the HTTPS port with the client's defaults (``all_ssl=True``, a guessed token URL,
  certificate checks off), which is how most scripts meet a stand-alone ArcGIS Server;
* over plain HTTP with ``all_ssl=False`` and ``token_url`` pointing at
  ``/arcgis/admin/generateToken`` (the client only uses it to find the site root, then asks
  ``/arcgis/rest/info`` for ``authInfo.tokenServicesUrl`` and logs in there).

The client swallows most failures (``Server.properties`` silently becomes ``{}``), so every
test asserts on values that only a working login can produce.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from geosite import ARCGIS_CURRENT_VERSION, ARCGIS_FULL_VERSION
from geosite.core.models import LogRecord
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, MACHINE, LiveSite

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
    # verify_cert defaults to False, so urllib3 warns on every HTTPS request to the
    # self-signed certificate (the client silences this only around some of its calls).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

ADMIN_RESOURCES = {"machines", "services", "security", "system", "logs", "info"}


def _disconnect(admin: Any) -> None:
    """Close the client's HTTP session.

    The client keeps its keep-alive connections open; left open, they hold up the live
    site's shutdown (by 15 s, the stop timeout, in practice).
    """
    admin._con._session.close()


@pytest.fixture(scope="module")
def https_server(site: LiveSite) -> Iterator[Any]:
    """``Server`` as the documentation shows it: URL, username, password, nothing else."""
    admin = Server(url=site.https + "/arcgis/admin", username=ADMIN_USER, password=ADMIN_PASSWORD)
    yield admin
    _disconnect(admin)


@pytest.fixture(scope="module")
def http_server(site: LiveSite) -> Iterator[Any]:
    """``Server`` on plain HTTP, as clients.md §1 recommends for a server without TLS."""
    admin = Server(
        url=site.http + "/arcgis/admin",
        token_url=site.http + "/arcgis/admin/generateToken",
        username=ADMIN_USER,
        password=ADMIN_PASSWORD,
        all_ssl=False,
    )
    yield admin
    _disconnect(admin)


@pytest.fixture(params=["https-defaults", "http-token-url"])
def server(request: pytest.FixtureRequest, site: LiveSite) -> Iterator[tuple[Any, str]]:
    """Each connection style, with the base URL its requests must go to."""
    if request.param == "https-defaults":
        yield request.getfixturevalue("https_server"), site.https
    else:
        yield request.getfixturevalue("http_server"), site.http


def test_root_resources(server: tuple[Any, str]) -> None:
    admin, base = server
    assert admin.url == base + "/arcgis/admin"
    properties = dict(admin.properties)
    assert properties, "Server.properties is empty: the client failed to log in or to read root"
    assert set(properties["resources"]) >= ADMIN_RESOURCES
    assert properties["currentVersion"] == ARCGIS_CURRENT_VERSION
    assert properties["fullVersion"] == ARCGIS_FULL_VERSION


def test_machines_and_status(server: tuple[Any, str]) -> None:
    admin, base = server
    machines = admin.machines.list()
    assert len(machines) == 1
    machine = machines[0]
    assert machine.url == f"{base}/arcgis/admin/machines/{MACHINE}"
    assert machine.properties["machineName"] == MACHINE
    assert machine.properties["adminURL"] == "http://testmachine.example:6080/arcgis/admin"
    assert machine.properties["ports"] == {"HTTPPort": 6080, "HTTPSPort": 6443}
    assert machine.status == {"configuredState": "STARTED", "realTimeState": "STARTED"}


def test_security_users(server: tuple[Any, str]) -> None:
    """``/admin/security`` then ``POST /admin/security/users/search`` (filter, maxCount)."""
    admin, _ = server
    users = admin._security.users
    found = users.search("siteadm")
    assert [user.username for user in found] == [ADMIN_USER]
    assert found[0]["disabled"] is False
    me = users.me
    assert me.username == ADMIN_USER
    assert users.get("nobody-by-this-name") is None


def test_client_token_works_on_its_own(server: tuple[Any, str], site: LiveSite) -> None:
    """The token the client obtained (``/arcgis/tokens/``, referer ``http``) is a real token."""
    admin, base = server
    token = admin._con.token
    assert token
    answer = httpx.get(
        base + "/arcgis/admin/machines",
        params={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {token}", "Referer": "http"},
        verify=False,
    ).json()
    assert [m["machineName"] for m in answer["machines"]] == [MACHINE]


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_wrong_password_is_refused(site: LiveSite, scheme: str) -> None:
    base = site.https if scheme == "https" else site.http
    extra: dict[str, Any] = {}
    if scheme == "http":
        extra = {"token_url": base + "/arcgis/admin/generateToken", "all_ssl": False}
    admin = Server(
        url=base + "/arcgis/admin", username=ADMIN_USER, password="not-the-password", **extra
    )
    try:
        # The client hides the failure behind empty properties ...
        assert dict(admin.properties) == {}
        # ... but a direct request raises the token service's error.
        with pytest.raises(Exception, match="Unable to generate token"):
            admin._con.get(base + "/arcgis/admin/machines", {"f": "json"})
    finally:
        _disconnect(admin)


def test_logs(server: tuple[Any, str], site: LiveSite) -> None:
    """``server.logs``: query (with its own paging), settings, edit, count_error_reports."""
    admin, _ = server
    now = int(time.time() * 1000)  # the client asks for records up to the real "now"
    marker = f"compat marker {now}"
    site.log_store.write(
        [LogRecord(now - 5_000, "SEVERE", 7500, "Cities.FeatureServer", MACHINE, marker)]
    )
    found = admin.logs.query(level="SEVERE", services="Cities.FeatureServer")
    messages = [m["message"] for m in found["logMessages"]]
    assert marker in messages
    assert all(m["source"] == "Cities.FeatureServer" for m in found["logMessages"])
    assert admin.logs.query(level="SEVERE", services="Other.MapServer")["logMessages"] == []
    before = admin.logs.settings
    assert before["logLevel"] == "FINE" and before["logDir"].endswith("/")
    age = before["maxLogFileAge"] + 1
    edited = admin.logs.edit(level="FINE", max_age=age)
    assert edited["status"] == "success" and edited["settings"]["maxLogFileAge"] == age
    assert admin.logs.settings["maxLogFileAge"] == age
    counts = admin.logs.count_error_reports()
    assert counts[MACHINE] >= 1


def test_usage_reports(server: tuple[Any, str]) -> None:
    """``server.usage``: create, list, query (data), quick_report, delete."""
    admin, _ = server
    usage = admin.usage
    name = f"compat{int(time.time() * 1000)}"
    query = {"resourceURIs": ["services/"], "metrics": ["RequestCount"]}
    report = usage.create(reportname=name, queries=[query], since="LAST_DAY")
    assert report.properties["reportname"] == name
    assert name in [r.properties["reportname"] for r in usage.list()]
    data = report.query()
    assert data["report"]["reportname"] == name
    assert data["report"]["report-data"][0][0]["metric-type"] == "RequestCount"
    assert len(data["report"]["time-slices"]) == 49
    assert report.delete()["status"] == "success"
    quick = usage.quick_report(since="LAST_WEEK", metrics="RequestCount,RequestsFailed")
    assert [s["metric-type"] for s in quick["report"]["report-data"][0]] == [
        "RequestCount",
        "RequestsFailed",
    ]
    usage._init()  # the client caches the list: quick_report's own report is gone since
    assert name not in [r.properties["reportname"] for r in usage.list()]


def test_site_export_and_import(http_server: Any) -> None:
    """``server.site.export()`` (exportSite) and ``import_site`` (importSite)."""
    exported = http_server.site.export()
    assert exported["status"] == "success" and exported["location"].endswith(".agssite")
    imported = http_server.site.import_site(exported["location"])
    assert imported["status"] == "success"
    assert {"services", "folders", "users", "roles"} <= set(imported["report"])
    assert http_server.machines.list()  # the primary site administrator's token still works
