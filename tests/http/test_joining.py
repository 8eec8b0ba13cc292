"""Machines join a site (``joinSite``, ``machines/register``) and leave it (``deleteSite``):
real machines on loopback ports, sharing the first one's store; bad input changes nothing."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core import sealing
from geosite.core.site import read_pointer
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, MACHINE, LiveSite, make_site
from tests.http.test_publishing import publish

CODE = "correct-horse-battery"


def _post(url: str, **data: str) -> dict[str, Any]:
    return dict(httpx.post(url, data={"f": "json", **data}, timeout=60, verify=False).json())


def _get(url: str, **params: str) -> dict[str, Any]:
    return dict(httpx.get(url, params={"f": "json", **params}, timeout=60).json())


def _message(answer: dict[str, Any]) -> str:
    """The text of the Administrator API's error envelope."""
    assert answer.get("status") == "error", answer
    return " ".join(map(str, answer.get("messages") or []))


def _code(answer: dict[str, Any]) -> int:
    assert answer.get("status") == "error", answer
    return int(answer["code"])


def _join(machine: LiveSite, site: LiveSite) -> dict[str, Any]:
    """``joinSite`` on ``machine`` with the administrator's credentials of ``site``."""
    return _post(
        machine.admin + "/joinSite",
        adminURL=site.admin,
        username=ADMIN_USER,
        password=ADMIN_PASSWORD,
    )


def _machines(site: LiveSite, token: str) -> list[str]:
    return sorted(m["machineName"] for m in _get(site.admin + "/machines", token=token)["machines"])


@pytest.fixture
def first(tmp_path: Path) -> Iterator[LiveSite]:
    live = make_site(tmp_path / "first")
    yield live
    live.stop()


@pytest.fixture
def waiting(tmp_path: Path) -> Iterator[LiveSite]:
    live = make_site(tmp_path / "waiting", create=False, machine_name="WAITING.TEST")
    yield live
    live.stop()


@pytest.fixture
def coded(tmp_path: Path) -> Iterator[LiveSite]:
    live = make_site(tmp_path / "coded", create=False, machine_name="CODED.TEST", join_code=CODE)
    yield live
    live.stop()


def test_join_site_and_serve_as_one(first: LiveSite, waiting: LiveSite) -> None:
    """joinSite on a waiting machine: it proves the credentials, takes the store, registers
    itself; tokens of one machine work on the other; a change through one shows on both."""
    probe = _get(waiting.admin + "/joinInfo")
    assert probe["geosite"] is True and probe["site"] is False
    assert probe["joinCodeRequired"] is False and probe["machineName"] == "WAITING.TEST"
    answer = _join(waiting, first)
    assert answer == {"status": "success"}, answer
    token = first.token()
    assert _machines(waiting, token) == _machines(first, token) == sorted([MACHINE, "WAITING.TEST"])
    assert _get(waiting.admin + "/joinInfo")["site"] is True
    created = _post(
        waiting.admin + "/security/users/add",
        token=token,
        username="joined-user",
        password="joined-user-password-1",
    )
    assert created["status"] == "success", created
    login = _post(
        first.http + "/arcgis/tokens/generateToken",
        username="joined-user",
        password="joined-user-password-1",
        client="requestip",
    )
    assert login.get("token"), login
    machine = _get(first.admin + "/machines/WAITING.TEST", token=token)
    assert machine["adminURL"] == waiting.admin  # loopback: as the machine listens
    waiting.flush_logs()
    logs = _post(first.admin + "/logs/query", token=token, level="INFO", filter='{"codes": [7011]}')
    assert any("WAITING.TEST joined" in m["message"] for m in logs["logMessages"]), logs
    assert _get(waiting.admin + "/local", token=token) == {"machineName": "WAITING.TEST"}
    assert _get(first.admin + "/local", token=token) == {"machineName": MACHINE}
    store = _get(first.admin + "/system/configstore", token=token)
    assert store["type"] == "SQLITE" and store["status"] == "Ready"


def test_a_wrong_password_joins_nothing(first: LiveSite, waiting: LiveSite) -> None:
    answer = _post(
        waiting.admin + "/joinSite", adminURL=first.admin, username=ADMIN_USER, password="wrong"
    )
    assert _code(answer) == 400
    assert "did not accept the user name and password" in _message(answer)
    assert read_pointer(waiting.data_dir) is None
    assert _machines(first, first.token()) == [MACHINE]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://127.0.0.1/arcgis/admin",
        "http://user:pw@127.0.0.1:6080/arcgis/admin",
        "http://127.0.0.1:6080/arcgis/rest",
        "http://127.0.0.1:6080/arcgis/admin?x=1",
        "http://127.0.0.1:99999/arcgis/admin",
        "http://[not-ipv6]:6080/arcgis/admin",
        "http://127.0.0.1:6080/arcgis/admin#frag",
        "http://127.0.0.1:6080/../admin",
        "http://" + "a" * 3000 + "/arcgis/admin",
        "http://" + "a" * 64 + ":6080/arcgis/admin",  # a label longer than 63
        "http://a..b:6080/arcgis/admin",
        "http://exa mple:6080/arcgis/admin",
        "http://\u00e9.example:6080/arcgis/admin",
        "http://-a:6080/arcgis/admin",
    ],
)
def test_malformed_admin_urls(first: LiveSite, waiting: LiveSite, url: str) -> None:
    token = first.token()
    joined = _post(
        waiting.admin + "/joinSite", adminURL=url, username=ADMIN_USER, password=ADMIN_PASSWORD
    )
    registered = _post(
        first.admin + "/machines/register", token=token, machineName="X.TEST", adminURL=url
    )
    for answer in (joined, registered):
        assert _code(answer) == 400, answer
        assert "adminURL" in _message(answer)
    assert read_pointer(waiting.data_dir) is None
    assert _machines(first, token) == [MACHINE]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Impostor(http.server.BaseHTTPRequestHandler):
    """Not geosite: an HTML page, or a redirect for paths under /redirect."""

    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/arcgis/admin/joinInfo")
            self.end_headers()
            return
        body = b"<html>hello</html>" if self.path.startswith("/html") else b'{"success":true}'
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def impostor() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_register_refuses_what_is_not_a_waiting_geosite_machine(
    first: LiveSite, tmp_path: Path, impostor: str
) -> None:
    other = make_site(tmp_path / "other")
    try:
        token = first.token()
        cases = {
            f"{impostor}/html/arcgis/admin": "is not the administrator URL of a geosite machine",
            f"{impostor}/json/arcgis/admin": "is not the administrator URL of a geosite machine",
            f"{impostor}/redirect/arcgis/admin": "redirect",
            f"http://127.0.0.1:{_closed_port()}/arcgis/admin": "cannot be reached",
            other.admin: "participates in a site already",
        }
        for url, expected in cases.items():
            answer = _post(
                first.admin + "/machines/register",
                token=token,
                machineName="NEW.TEST",
                adminURL=url,
            )
            assert _code(answer) == 400, (url, answer)
            assert expected in _message(answer), (url, answer)
        taken = _post(
            first.admin + "/machines/register",
            token=token,
            machineName=MACHINE.lower(),
            adminURL=other.admin,
        )
        assert _code(taken) == 409, taken
        assert _machines(first, token) == [MACHINE]
        assert _machines(other, other.token()) == [MACHINE]
        joined = _post(
            first.admin + "/joinSite",
            adminURL=other.admin,
            username=ADMIN_USER,
            password=ADMIN_PASSWORD,
            token=token,
        )
        assert _code(joined) == 409, joined  # a machine of a site joins no other
    finally:
        other.stop()


def test_register_pulls_a_machine_with_its_join_code(first: LiveSite, coded: LiveSite) -> None:
    token = first.token()
    register = first.admin + "/machines/register"
    probe = _get(coded.admin + "/joinInfo", challenge="ab" * 16)
    assert probe["joinCodeRequired"] is True and len(probe["proof"]) == 64
    missing = _post(register, token=token, machineName="CODED.TEST", adminURL=coded.admin)
    assert "give it as 'joinCode'" in _message(missing)
    wrong = _post(
        register, token=token, machineName="CODED.TEST", adminURL=coded.admin, joinCode="nope"
    )
    assert "does not match" in _message(wrong)
    assert read_pointer(coded.data_dir) is None
    # An offer not sealed with the code is refused by the waiting machine itself.
    forged = _post(
        coded.https + "/arcgis/admin/acceptSite",
        machineName="CODED.TEST",
        adminURL=coded.admin,
        challenge="ab" * 16,
        offer='{"configStore": "sqlite:///tmp/elsewhere"}',
    )
    assert "does not match" in _message(forged)
    plain = _post(
        coded.admin + "/acceptSite",
        machineName="CODED.TEST",
        adminURL=coded.admin,
        offer="{}",
    )
    assert "only over HTTPS" in _message(plain)
    assert read_pointer(coded.data_dir) is None
    answer = _post(
        register, token=token, machineName="coded.test", adminURL=coded.admin, joinCode=CODE
    )
    assert answer == {"status": "success"}, answer
    assert _machines(first, token) == sorted([MACHINE, "CODED.TEST"])
    assert _machines(coded, token) == sorted([MACHINE, "CODED.TEST"])
    again = _post(
        register, token=token, machineName="AGAIN.TEST", adminURL=coded.admin, joinCode=CODE
    )
    assert "participates in a site already" in _message(again)


def test_register_without_a_code(first: LiveSite, waiting: LiveSite) -> None:
    token = first.token()
    unwanted = _post(
        first.admin + "/machines/register",
        token=token,
        machineName="WAITING.TEST",
        adminURL=waiting.admin,
        joinCode="unasked",
    )
    assert "started without a join code" in _message(unwanted)
    answer = _post(
        first.admin + "/machines/register",
        token=token,
        machineName="WAITING.TEST",
        adminURL=waiting.admin,
    )
    assert answer == {"status": "success"}, answer
    assert _machines(waiting, token) == sorted([MACHINE, "WAITING.TEST"])


def test_an_offer_of_no_site_makes_nothing(waiting: LiveSite, tmp_path: Path) -> None:
    """A machine waiting without a join code takes offers from anyone who reaches it; one that
    names a folder holding no site is refused, and nothing is made there."""
    nowhere = tmp_path / "nowhere"
    answer = _post(
        waiting.https + "/arcgis/admin/acceptSite",
        machineName="WAITING.TEST",
        adminURL=waiting.admin,
        offer=json.dumps({"configStore": f"sqlite:///{nowhere}"}),
    )
    assert "holds no site" in _message(answer)
    assert not nowhere.exists()
    assert read_pointer(waiting.data_dir) is None


def test_the_offer_is_for_administrators_over_https(first: LiveSite) -> None:
    token = first.token()
    plain = _post(first.admin + "/system/configstore/offer", token=token)
    assert "only over HTTPS" in _message(plain)
    offer = httpx.post(
        first.https + "/arcgis/admin/system/configstore/offer",
        data={"f": "json", "token": token},
        verify=False,
    ).json()
    assert offer["configStore"].startswith("sqlite:///")
    anonymous = httpx.post(
        first.https + "/arcgis/admin/system/configstore/offer", data={"f": "json"}, verify=False
    ).json()
    assert _code(anonymous) == 499


def test_delete_site_on_the_last_machine(first: LiveSite, waiting: LiveSite) -> None:
    token = first.token()
    joined = _join(waiting, first)
    assert joined == {"status": "success"}
    refused = _post(first.admin + "/deleteSite", token=token)
    assert "unregister them first" in _message(refused)
    own = _post(first.admin + "/machines/" + MACHINE + "/unregister", token=token)
    assert "machine answering" in _message(own)
    left = _post(first.admin + "/machines/WAITING.TEST/unregister", token=token)
    assert left == {"status": "success"}
    last = _post(first.admin + "/machines/" + MACHINE + "/unregister", token=token)
    assert "last machine of the site" in _message(last)
    assert _post(first.admin + "/deleteSite", token=token) == {"status": "success"}
    assert read_pointer(first.data_dir) is None
    assert not (first.data_dir / "config-store" / "site.db").exists()
    gone = _get(first.admin + "/", token=token)
    assert _code(gone) == 404 and "does not participate" in _message(gone)
    again = _post(
        first.admin + "/createNewSite", username="newadmin", password="new-admin-password-1"
    )
    assert again == {"status": "success"}, again
    assert _machines(first, first.token("newadmin", "new-admin-password-1")) == [MACHINE]


def test_secrets_are_sealed_and_travel_with_the_site(first: LiveSite, waiting: LiveSite) -> None:
    """The signing keys, the publicKey pair and the data item key are sealed in the store with
    the site key, which is in no store: a machine that joins gets it with the offer."""
    assert httpx.get(first.admin + "/publicKey", params={"f": "json"}).json()["publicKey"]
    store = first.store
    assert store.current_token_key()[1].startswith(sealing.PREFIX)
    assert store.get_setting("security.rsaKeyPair")["current"].startswith(sealing.PREFIX)
    registered = _post(
        first.admin + "/data/registerItem",
        token=first.token(),
        item=json.dumps(
            {
                "path": "/enterpriseDatabases/sealed",
                "type": "egdb",
                "info": {
                    "dataStoreConnectionType": "shared",
                    "isManaged": False,
                    "connectionString": "SERVER=127.0.0.1;DATABASE=x;USER=u;PASSWORD=p1;"
                    "DBCLIENT=postgresql;PORT=1",
                },
            }
        ),
    )
    del registered  # whatever the check of the database says, the key is made and sealed
    key = store.get_setting("security.dataItemKey")
    assert key is None or str(key["key"]).startswith(sealing.PREFIX)
    site_key = read_pointer(first.data_dir).site_key
    assert site_key is not None
    assert site_key not in (first.data_dir / "config-store" / "site.db").read_bytes().decode(
        "latin-1"
    )
    joined = _join(waiting, first)
    assert joined == {"status": "success"}, joined
    assert read_pointer(waiting.data_dir).site_key == site_key
    assert (waiting.data_dir / "machine.json").stat().st_mode & 0o077 == 0


def _point_service(site: LiveSite, token: str, folder: Path) -> None:
    path = folder / "one.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert publish(site, token, path, "One")["status"] == "success"


def _query(site: LiveSite) -> httpx.Response:
    return httpx.get(
        site.http + "/arcgis/rest/services/One/FeatureServer/0/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
    )


def _until(check: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_an_unregistered_machine_serves_nothing(
    first: LiveSite, waiting: LiveSite, tmp_path: Path
) -> None:
    token = first.token()
    joined = _join(waiting, first)
    assert joined == {"status": "success"}, joined
    _point_service(first, token, tmp_path)
    assert _query(waiting).json() == {"count": 1}
    left = _post(first.admin + "/machines/WAITING.TEST/unregister", token=token)
    assert left == {"status": "success"}
    _until(lambda: _query(waiting).status_code == 503)
    refused = _query(waiting).json()["error"]
    assert "'WAITING.TEST' is not part of the site" in refused["message"], refused
    health = httpx.get(waiting.http + "/arcgis/rest/info/healthCheck", params={"f": "json"})
    assert health.status_code == 503 and health.json()["status"] == "UNREGISTERED"
    assert _query(first).json() == {"count": 1}  # the site serves on


def test_a_renamed_machine_takes_its_new_name_on_start(first: LiveSite, tmp_path: Path) -> None:
    token = first.token()
    machine = make_site(tmp_path / "renamed", create=False, machine_name="OLD.TEST")
    try:
        joined = _join(machine, first)
        assert joined == {"status": "success"}, joined
        _point_service(first, token, tmp_path)
        renamed = _post(
            first.admin + "/machines/rename",
            token=token,
            machineName="OLD.TEST",
            newMachineName="NEW.TEST",
        )
        assert renamed == {"status": "success"}, renamed
        _until(lambda: _query(machine).status_code == 503)  # OLD.TEST is no machine of the site
    finally:
        machine.stop()
    again = make_site(tmp_path / "renamed", create=False, machine_name="NEW.TEST")
    try:
        assert _query(again).json() == {"count": 1}
        assert read_pointer(again.data_dir).machine_name == "NEW.TEST"
        status = _get(first.admin + "/machines/NEW.TEST/status", token=token)
        assert status["realTimeState"] == "STARTED"
    finally:
        again.stop()
