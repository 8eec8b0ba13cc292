"""Three real machines form one site on PostgreSQL (issue 19): the first creates it, the second
joins with ``geosite serve --join``, the third waits with a join code and is pulled in with
``machines/register``; then they behave as one, and the ArcGIS API for Python administers them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.site3 import Machine, free_port
from tests.e2e.test_serve import PASSWORD, publish_point
from tests.pg import PgServer

CODE = "three-machines-join-code"
NAMES = ["GEO1.TEST", "GEO2.TEST", "GEO3.TEST"]


@dataclass
class Three:
    machines: list[Machine]
    token: str
    root: Path

    def admin(self, index: int) -> str:
        return self.machines[index].url + "/arcgis/admin"


def _post(url: str, **data: str) -> dict[str, Any]:
    return dict(httpx.post(url, data={"f": "json", **data}, timeout=60).json())


def _get(url: str, **params: str) -> dict[str, Any]:
    return dict(httpx.get(url, params={"f": "json", **params}, timeout=60).json())


def _wait_for_site(machine: Machine, deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if _get(machine.url + "/arcgis/admin/joinInfo").get("site") is True:
            return
        assert machine.process.poll() is None, machine.stop()
        time.sleep(0.2)
    raise AssertionError("the machine did not join: " + machine.stop())


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, postgres: PgServer) -> Iterator[Three]:
    root = tmp_path_factory.mktemp("three")
    database = postgres.create_database("three_machines")
    with pytest.MonkeyPatch.context() as patch:
        # The machines that join take the site's PostGIS database from the site, not from
        # the test pass's environment; and the password of --user from the environment.
        patch.setenv("GEOSITE_DATA_STORE", "")
        patch.setenv("GEOSITE_JOIN_PASSWORD", PASSWORD)
        machines: list[Machine] = []
        try:
            common = ["--workers", "1", "--trusted-proxies", "127.0.0.1"]
            first = Machine(
                NAMES[0],
                root / "m1",
                [
                    "--admin-password",
                    PASSWORD,
                    "--config-store",
                    database,
                    "--data-store",
                    database,
                    *common,
                ],
                None,
            )
            machines.append(first)
            join = f"{first.secure_url}/arcgis/admin"
            machines.append(
                Machine(
                    NAMES[1], root / "m2", ["--join", join, "--user", "siteadmin", *common], None
                )
            )
            machines.append(Machine(NAMES[2], root / "m3", ["--join-code", CODE, *common], None))
            _wait_for_site(machines[1])
            token = first.token()
            registered = _post(
                first.url + "/arcgis/admin/machines/register",
                token=token,
                machineName=NAMES[2],
                adminURL=machines[2].url + "/arcgis/admin",
                joinCode=CODE,
            )
            assert registered == {"status": "success"}, registered
            _wait_for_site(machines[2])
            yield Three(machines, token, root)
        finally:
            for machine in machines:
                machine.stop()


def _count(machine: Machine, service: str, token: str = "") -> Any:
    params = {"where": "1=1", "returnCountOnly": "true"}
    if token:
        params["token"] = token
    answer = _get(machine.url + f"/arcgis/rest/services/{service}/FeatureServer/0/query", **params)
    return answer.get("count", answer.get("error", {}).get("code"))


def test_three_machines_serve_as_one(three: Three) -> None:
    first, second, third = three.machines
    token = three.token
    listed = _get(three.admin(1) + "/machines", token=token)["machines"]
    assert sorted(m["machineName"] for m in listed) == NAMES
    for name in NAMES:
        status = _get(three.admin(2) + f"/machines/{name}/status", token=token)
        assert status == {"configuredState": "STARTED", "realTimeState": "STARTED"}, name
    # The machine that joined took the site's PostGIS data store with the site.
    assert _get(three.admin(1) + "/system/configstore", token=token)["type"] == "POSTGRESQL"

    # Published through machine 1, served by 2 and 3 (from PostGIS).
    publish_point(first, token, three.root, "Everywhere", {"name": "x"})
    assert [_count(m, "Everywhere") for m in three.machines] == [1, 1, 1]

    # An upload through machine 2, published through machine 3.
    data = three.root / "moved.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3, 4]}}
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [feature] * 2}))
    item = httpx.post(
        three.admin(1) + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (data.name, data.read_bytes())},
    ).json()["item"]
    service = {
        "serviceName": "Moved",
        "type": "FeatureServer",
        "capabilities": "Query",
        "properties": {"itemID": item["itemID"]},
    }
    created = _post(
        three.admin(2) + "/services/createService", token=token, service=json.dumps(service)
    )
    assert created["status"] == "success", created
    assert [_count(m, "Moved") for m in three.machines] == [2, 2, 2]
    # Each machine counts what it served: the service's statistics have a row per machine.
    deadline = time.monotonic() + 30
    while True:
        statistics = _get(three.admin(0) + "/services/Moved.FeatureServer/statistics", token=token)
        rows = {r["machineName"]: r["transactions"] for r in statistics["perMachine"]}
        if sorted(rows) == NAMES and all(count >= 1 for count in rows.values()):
            break
        assert time.monotonic() < deadline, statistics
        time.sleep(0.5)
    assert statistics["summary"]["transactions"] == sum(rows.values())

    # Stopped through machine 3: refused everywhere within a second.
    stopped = _post(three.admin(2) + "/services/Everywhere.FeatureServer/stop", token=token)
    assert stopped == {"status": "success"}, stopped
    start = time.monotonic()
    while True:
        codes = [_count(m, "Everywhere") for m in three.machines]
        if all(c != 1 for c in codes):
            break
        assert time.monotonic() - start < 1.0, codes
    # A user added through machine 2 logs in on machine 1; tokens cross machines.
    added = _post(
        three.admin(1) + "/security/users/add",
        token=token,
        username="everywhere",
        password="everywhere-password-1",
    )
    assert added["status"] == "success", added
    login = _post(
        first.url + "/arcgis/tokens/generateToken",
        username="everywhere",
        password="everywhere-password-1",
        client="requestip",
    )
    assert login.get("token"), login
    assert _count(third, "Moved", login["token"]) == 2
    second_token = second.token()
    assert "machines" in _get(three.admin(2) + "/machines", token=second_token)

    # Logs are one site's: machine 1 finds what machine 3 wrote, filtered by machine.
    deadline = time.monotonic() + 30
    while True:
        records = _post(
            three.admin(0) + "/logs/query",
            token=token,
            level="INFO",
            filter=json.dumps({"machines": [NAMES[2]]}),
            pageSize="1000",
        )["logMessages"]
        # The stopped service's refusals machine 3 answered above (the site logs WARNING and up).
        if any("Everywhere" in r["message"] for r in records):
            break
        assert time.monotonic() < deadline, records
        time.sleep(0.5)
    assert {r["machine"] for r in records} == {NAMES[2]}


def test_the_arcgis_api_for_python_on_three_machines(three: Three) -> None:
    server_module = pytest.importorskip(
        "arcgis.gis.server", reason="the ArcGIS API for Python is not installed"
    )
    import warnings

    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    first = three.machines[0]
    admin = server_module.Server(
        url=first.secure_url + "/arcgis/admin", username="siteadmin", password=PASSWORD
    )
    try:
        machines = admin.machines.list()
        assert sorted(m.properties["machineName"] for m in machines) == NAMES
        third = next(m for m in machines if m.properties["machineName"] == NAMES[2])
        assert third.status["realTimeState"] == "STARTED"
        assert third.stop() is True
        assert third.status == {"configuredState": "STOPPED", "realTimeState": "STOPPED"}
        health = three.machines[2].url + "/arcgis/rest/info/healthCheck"
        deadline = time.monotonic() + 5  # each worker reads its machine's state again
        while httpx.get(health).status_code != 503:  # the HTML page, as a probe asks
            assert time.monotonic() < deadline, "the stopped machine still says it is healthy"
            time.sleep(0.1)
        assert httpx.get(health, params={"f": "json"}).status_code == 503
        assert third.start() is True
        assert third.status["configuredState"] == "STARTED"
        properties = admin.site.properties
        assert "machines" in properties["resources"]
    finally:
        admin._con._session.close()


def _serve_once(
    data_dir: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``geosite serve`` on free ports with ``args``, expected to stop by itself."""
    ports = ["--port", str(free_port()), "--https-port", str(free_port())]
    command = [sys.executable, "-m", "geosite", "serve", "--data-dir", str(data_dir), *ports]
    return subprocess.run(
        [*command, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_nothing_joined(three: Three, data_dir: Path) -> None:
    assert not (data_dir / "machine.json").exists()
    names = _get(three.admin(0) + "/machines", token=three.token)["machines"]
    assert sorted(m["machineName"] for m in names) == NAMES


def test_the_store_alone_does_not_open_the_site(three: Three, postgres: PgServer) -> None:
    """The store's secrets are sealed with the site key: a machine given only the store's
    connection (--config-store) is refused with the reason; with the key of another machine's
    machine.json (GEOSITE_SITE_KEY) it opens the site, as a rebuilt machine would."""
    database = postgres.url("three_machines")
    data_dir = three.root / "m4"
    env = {"GEOSITE_MACHINE_NAME": "GEO4.TEST", "GEOSITE_DATA_STORE": "", "GEOSITE_SITE_KEY": ""}
    refused = _serve_once(data_dir, env, "--config-store", database)
    assert refused.returncode != 0
    assert "sealed with its site key" in refused.stdout + refused.stderr
    _assert_nothing_joined(three, data_dir)

    site_key = json.loads((three.root / "m1" / "machine.json").read_text())["siteKey"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEOSITE_SITE_KEY", site_key)
        patch.setenv("GEOSITE_DATA_STORE", "")
        fourth = Machine(
            "GEO4.TEST", data_dir, ["--config-store", database, "--data-store", database], None
        )
    try:
        assert fourth.token()  # its own signing keys open: it verifies the site's logins
        assert _count(fourth, "Moved") == 2
    finally:
        fourth.stop()
        left = _post(three.admin(0) + "/machines/GEO4.TEST/unregister", token=three.token)
        assert left == {"status": "success"}, left


def test_a_refused_join_stops_the_machine_for_good(three: Three) -> None:
    """geosite serve --join with a wrong password: the reason on stderr, exit status 78 (the
    unit's RestartPreventExitStatus: no retry that would lock the account), nothing joined."""
    data_dir = three.root / "m5"
    url = three.machines[0].secure_url + "/arcgis/admin"
    env = {"GEOSITE_MACHINE_NAME": "GEO5.TEST", "GEOSITE_JOIN_PASSWORD": "wrong"}
    refused = _serve_once(data_dir, env, "--join", url, "--user", "siteadmin")
    assert refused.returncode == 78, refused.stdout + refused.stderr
    assert "did not accept the user name and password" in refused.stderr
    _assert_nothing_joined(three, data_dir)
