"""``geosite serve`` as an administrator runs it: real processes, real ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from geosite.storage.sqlite_logs import SqliteLogStore
from tests.conftest import feature_data_store

PASSWORD = "serve-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self,
        data_dir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        ports: tuple[int, int] | None = None,
        new_session: bool = False,
    ) -> None:
        """``ports``: (HTTP, HTTPS) instead of two free ones; ``new_session``: the server and
        its workers in a process group of their own (``os.killpg(server.process.pid, ...)``)."""
        self.port, self.https_port = ports or (_free_port(), _free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.secure_url = f"https://127.0.0.1:{self.https_port}"
        env = {**os.environ, "GEOSITE_MACHINE_NAME": "E2E.MACHINE", **(env or {})}
        store = feature_data_store()  # GEOSITE_TEST_FEATURE_DATA=postgis: publish into PostGIS
        if store is not None and "--data-store" not in args:
            env.setdefault("GEOSITE_DATA_STORE", store)
        env.pop("GEOSITE_ADMIN_PASSWORD", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "geosite",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(self.port),
                "--https-port",
                str(self.https_port),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=new_session,
        )
        self.output = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: " + (self.process.stdout.read() or ""))  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/arcgis/rest/info/healthCheck?f=json").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> str:
        if self.process.stdout is None or self.process.stdout.closed:
            return self.output
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output += self.process.stdout.read() or ""  # type: ignore[union-attr]
        self.process.stdout.close()  # type: ignore[union-attr]
        return self.output

    def token(self, password: str = PASSWORD, user: str = "siteadmin") -> str:
        return str(
            httpx.post(
                self.url + "/arcgis/admin/generateToken",
                data={
                    "username": user,
                    "password": password,
                    "client": "requestip",
                    "f": "json",
                },
            ).json()["token"]
        )


def publish_point(
    server: Server,
    token: str,
    folder: Path,
    name: str,
    properties: dict[str, object],
    capabilities: str = "Query",
) -> None:
    """Publish a one-point layer through uploads/upload and createService."""
    data = folder / f"{name}.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [1, 2]},
        "properties": properties,
    }
    data.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    publish_file(server, token, data, name, capabilities)


def publish_file(
    server: Server, token: str, data: Path, name: str, capabilities: str = "Query"
) -> None:
    """Publish ``data`` as the service ``name`` through uploads/upload and createService."""
    item = httpx.post(
        server.url + "/arcgis/admin/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (data.name, data.read_bytes())},
    ).json()["item"]
    service = {
        "serviceName": name,
        "type": "FeatureServer",
        "capabilities": capabilities,
        "properties": {"itemID": item["itemID"]},
    }
    created = httpx.post(
        server.url + "/arcgis/admin/services/createService",
        data={"f": "json", "token": token, "service": json.dumps(service)},
        timeout=120,
    ).json()
    assert created["status"] == "success", created


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def test_two_workers_share_tokens_and_restart_keeps_the_site(
    tmp_path: Path, servers: list[Server]
) -> None:
    data = tmp_path / "site"
    first = Server(data, "--workers", "2", "--admin-password", PASSWORD, "--log-level", "fine")
    servers.append(first)
    token = first.token()

    def call(_: int) -> dict:  # type: ignore[type-arg]
        with httpx.Client() as client:  # a new connection each time, so both workers answer
            return client.get(
                first.url + "/arcgis/admin/machines",  # type: ignore[no-any-return]
                params={"f": "json", "token": token},
            ).json()

    logs = SqliteLogStore(data / "config-store" / "logs.db")
    pids: set[int] = set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):  # bounded: at most 20 rounds of 16 requests
            answers = list(pool.map(call, range(16)))
            assert all(a["machines"][0]["machineName"] == "E2E.MACHINE" for a in answers), answers
            time.sleep(0.3)
            pids = {
                r.process
                for r in logs.query(limit=10_000)
                if r.code == 7100 and r.user == "siteadmin"
            }
            if len(pids) >= 2:
                break
    logs.close()
    assert len(pids) == 2, "both workers must have accepted the token"

    secure = httpx.get(
        first.secure_url + "/arcgis/admin/machines",
        params={"f": "json", "token": token},
        verify=False,
    ).json()
    assert secure["machines"][0]["machineName"] == "E2E.MACHINE"
    first.stop()

    second = Server(data)
    servers.append(second)
    again = httpx.get(
        second.url + "/arcgis/admin/machines", params={"f": "json", "token": token}
    ).json()
    assert again["machines"][0]["machineName"] == "E2E.MACHINE"
    assert (
        "token"
        in httpx.post(
            second.url + "/arcgis/tokens/",
            data={"username": "siteadmin", "password": PASSWORD, "f": "json"},
        ).json()
    )
    assert "Password (shown only this once)" not in second.stop()


def test_generated_password_is_printed_once(tmp_path: Path, servers: list[Server]) -> None:
    server = Server(tmp_path / "site", "--admin-user", "boss")
    servers.append(server)
    output = server.stop()
    found = re.search(r"Password \(shown only this once\): (\S+)", output)
    assert found, output
    password = found.group(1)
    site_db = (tmp_path / "site" / "config-store" / "site.db").read_bytes()
    assert password.encode() not in site_db
    assert b"$argon2id$" in site_db
    again = Server(tmp_path / "site")
    servers.append(again)
    assert again.token(password, user="boss")


def test_no_site_then_create_new_site(tmp_path: Path, servers: list[Server]) -> None:
    server = Server(tmp_path / "machine", "--no-site", "--workers", "2")
    servers.append(server)
    body = httpx.get(server.url + "/arcgis/admin/?f=json").json()
    assert body["code"] == 404 and "does not participate in any Site" in body["messages"][0]
    created = httpx.post(
        server.url + "/arcgis/admin/createNewSite",
        data={
            "username": "admin",
            "password": PASSWORD,
            "configStoreConnection": '{"type":"FILESYSTEM","connectionString":"store"}',
            "f": "json",
        },
    ).json()
    assert created == {"status": "success"}
    token = server.token(user="admin")
    for _ in range(12):
        with httpx.Client() as client:
            body = client.get(
                server.url + "/arcgis/admin/machines", params={"f": "json", "token": token}
            ).json()
            assert body["machines"][0]["machineName"] == "E2E.MACHINE", body


def test_https_listener_has_a_self_signed_certificate(
    tmp_path: Path, servers: list[Server]
) -> None:
    server = Server(tmp_path / "site", "--admin-password", PASSWORD)
    servers.append(server)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.secure_url + "/arcgis/rest/info?f=json")  # not a trusted CA
    cert = tmp_path / "site" / "tls" / "server.crt"
    body = httpx.get(server.secure_url + "/arcgis/rest/info?f=json", verify=False).json()
    assert body["authInfo"]["tokenServicesUrl"] == server.secure_url + "/arcgis/tokens/"
    assert oct((tmp_path / "site" / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_demo_site(tmp_path: Path, servers: list[Server]) -> None:
    """``make serve`` runs ``geosite serve --demo``: a new site gets the sample services."""
    server = Server(tmp_path / "site", "--admin-password", PASSWORD, "--demo")
    servers.append(server)
    catalog = httpx.get(server.url + "/arcgis/rest/services?f=json").json()
    assert catalog["folders"] == ["Maps", "NewYork", "Utilities"]
    assert [s["name"] for s in catalog["services"]] == ["Cities", "Countries"]
    world = httpx.get(server.url + "/arcgis/rest/services/Maps?f=json").json()["services"]
    assert {(s["name"], s["type"]) for s in world} == {
        ("Maps/World", "MapServer"),
        ("Maps/World", "FeatureServer"),
    }
    tile = httpx.get(server.url + "/arcgis/rest/services/Maps/World/MapServer/tile/1/0/0")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    count = httpx.get(
        server.url + "/arcgis/rest/services/NewYork/Boroughs/FeatureServer/0/query",
        params={"where": "1=1", "returnCountOnly": "true", "f": "json"},
    ).json()
    assert count == {"count": 5}
    output = server.stop()
    assert "Published the demo service NewYork/Boroughs (FeatureServer)" in output
    again = Server(tmp_path / "site", "--demo")  # an existing site is left as it is
    servers.append(again)
    assert "Published" not in again.stop()


def test_a_stopped_service_is_refused_by_every_worker(
    tmp_path: Path, servers: list[Server]
) -> None:
    """Stop on the admin API: within a second, no worker answers the service; start: all do."""
    server = Server(tmp_path / "site", "--workers", "2", "--admin-password", PASSWORD)
    servers.append(server)
    token = server.token()
    publish_point(server, token, tmp_path, "Points", {})
    query = server.url + "/arcgis/rest/services/Points/FeatureServer/0/query"

    def codes() -> set[object]:
        seen = set()
        for _ in range(16):  # a new connection each time, so both workers answer
            with httpx.Client() as client:
                answer = client.get(query, params={"f": "json", "returnCountOnly": "true"}).json()
            seen.add(answer.get("count", answer.get("error", {}).get("code")))
        return seen

    assert codes() == {1}
    admin = server.url + "/arcgis/admin/services/Points.FeatureServer"
    assert (
        httpx.post(admin + "/stop", data={"f": "json", "token": token}).json()["status"]
        == "success"
    )
    stopped_at = time.monotonic()
    assert codes() == {500}
    assert time.monotonic() - stopped_at < 5  # every answer came well within the second each
    assert (
        httpx.post(admin + "/start", data={"f": "json", "token": token}).json()["status"]
        == "success"
    )
    assert codes() == {1}


def test_the_readme_command_line_walk_through(tmp_path: Path, servers: list[Server]) -> None:
    """A new user after ``make serve``: log in, list, stop one, read the warnings."""
    server = Server(tmp_path / "site", "--admin-password", PASSWORD, "--demo")
    servers.append(server)
    env = {**os.environ, "GEOSITE_CONFIG_DIR": str(tmp_path / "config")}
    for name in ("GEOSITE_URL", "GEOSITE_USER", "GEOSITE_PASSWORD"):
        env.pop(name, None)

    def geosite(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "geosite", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for shown in (
        "geosite login http://127.0.0.1:6080/arcgis --user siteadmin",
        "geosite services ls",
        "geosite services stop Cities",
        "geosite logs query --level WARNING",
    ):
        assert shown in readme, shown
    login = geosite(
        "login",
        server.url + "/arcgis",
        "--user",
        "siteadmin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert "Logged in to" in login.stdout
    listed = geosite("services", "ls").stdout
    for name in ("Countries", "Cities", "NewYork/Boroughs"):
        assert name in listed
    stopped = geosite("services", "stop", "Cities")
    assert "Cities.FeatureServer: STOPPED" in stopped.stdout
    refused = httpx.get(server.url + "/arcgis/rest/services/Cities/FeatureServer?f=json").json()
    assert "error" in refused
    warnings = geosite("logs", "query", "--level", "WARNING").stdout
    assert "Cities" in warnings  # the refused request above is a WARNING record


def _requests_with_secrets(server: Server, secret: str) -> tuple[str, str]:
    """Requests whose query strings and bodies carry a token and passwords (returned)."""
    token = server.token()
    httpx.get(server.url + "/arcgis/admin/machines", params={"f": "json", "token": token})
    httpx.post(server.url + "/arcgis/admin/services/createFolder",
               data={"f": "json", "token": token, "folderName": "Maps"})  # fmt: skip
    user = {"f": "json", "token": token, "username": "ann", "password": secret}
    httpx.post(server.url + "/arcgis/admin/security/users/add", data=user)
    httpx.get(server.url + "/arcgis/rest/services/Nothing/FeatureServer",
              params={"f": "json", "token": token})  # fmt: skip
    return token, secret


def test_json_log_lines_on_stdout(tmp_path: Path, servers: list[Server]) -> None:
    """``--log-format json --access-log``: one JSON object per line; no token, no password."""
    server = Server(tmp_path / "site", "--admin-password", PASSWORD, "--log-level", "fine",
                    "--log-format", "json", "--access-log")  # fmt: skip
    servers.append(server)
    token, secret = _requests_with_secrets(server, "Ann-Secret-Pass-1")
    output = server.stop()
    assert token not in output and token[:40] not in output
    assert PASSWORD not in output and secret not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [r for r in lines if r["logger"] == "geosite.access"]
    (machines,) = [r for r in access if r["path"] == "/arcgis/admin/machines"]
    assert machines["client"] == "127.0.0.1" and machines["method"] == "GET"
    assert machines["status"] == 200 and machines["errorCode"] is None
    assert machines["user"] == "siteadmin" and machines["durationMs"] >= 0
    assert re.fullmatch(r"[0-9a-f]{16}", machines["requestId"])
    # The FINE record of the same request, with the same id.
    (done,) = [r for r in lines if r["logger"] == "geosite.request"
               and r["requestId"] == machines["requestId"]]  # fmt: skip
    assert done["level"] == "FINE" and done["code"] == 7100
    assert done["message"] == "GET /arcgis/admin/machines completed with code 200."
    (missing,) = [r for r in access if r["path"] == "/arcgis/rest/services/Nothing/FeatureServer"]
    assert missing["status"] == 200 and missing["errorCode"] == 404  # an ArcGIS envelope
    audits = [(r["user"], r["message"]) for r in lines if r["logger"] == "geosite.audit"]
    assert ("siteadmin", "siteadmin: createFolder services (folderName=Maps)") in audits
    assert ("siteadmin", "siteadmin: add security/users (username=ann; parameters: password)") in (
        audits
    )


def test_text_log_lines_from_the_environment(tmp_path: Path, servers: list[Server]) -> None:
    """``GEOSITE_LOG_FORMAT=text GEOSITE_ACCESS_LOG=1``; the site's level (WARNING) applies."""
    env = {"GEOSITE_LOG_FORMAT": "text", "GEOSITE_ACCESS_LOG": "1"}
    server = Server(tmp_path / "site", "--admin-password", PASSWORD, env=env)
    servers.append(server)
    token, secret = _requests_with_secrets(server, "Ann-Secret-Pass-2")
    output = server.stop()
    assert token not in output and token[:40] not in output
    assert PASSWORD not in output and secret not in output
    lines = output.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    access = rf'{stamp} INFO geosite\.access 127\.0\.0\.1 "GET /arcgis/admin/machines" 200 '
    assert any(re.match(access + r"[\d.]+ms siteadmin id=[0-9a-f]{16}$", x) for x in lines), lines
    rejected = rf"{stamp} WARNING geosite\.request \[7101 Rest "
    assert any(re.match(rejected, x) and "failed with code 404" in x for x in lines), lines
    assert any(
        re.match(rf"{stamp} INFO geosite\.audit \[7201 Admin user=siteadmin id=", x)
        and x.endswith("siteadmin: createFolder services (folderName=Maps)")
        for x in lines
    ), lines
    assert not any(" FINE " in x for x in lines)  # below the site's level


def test_a_bad_log_format_is_refused(tmp_path: Path) -> None:
    site = str(tmp_path / "site")
    done = subprocess.run(
        [sys.executable, "-m", "geosite", "serve", "--data-dir", site, "--log-format", "xml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "xml" in done.stderr
    assert not (tmp_path / "site").exists()
