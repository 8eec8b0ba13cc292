"""``geosite.client`` sessions against a live site: tokens, renewal, errors, retries."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geosite.client import (
    ClientError,
    ConnectionFailed,
    LoginFailed,
    LoginRequired,
    NotFound,
    PermissionDenied,
    ServerError,
    Site,
    Token,
    TokenRequired,
    site_root,
)
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site


@pytest.fixture
def connected(fresh_site: LiveSite) -> Iterator[Site]:
    with Site.connect(fresh_site.http + "/arcgis/admin", ADMIN_USER, ADMIN_PASSWORD) as site:
        yield site


def test_site_root_from_any_url_of_a_site() -> None:
    assert site_root("https://gis.example:6443/arcgis/admin/services") == (
        "https://gis.example:6443/arcgis"
    )
    assert site_root("http://h/server/rest/services/") == "http://h/server"
    assert site_root("http://h") == "http://h/arcgis"
    # Context paths of several segments (geosite serve --context-path /gis/server).
    assert site_root("https://h/gis/server/admin/services") == "https://h/gis/server"
    assert site_root("https://h/gis/server") == "https://h/gis/server"
    assert site_root("https://h/gis/server/REST/services") == "https://h/gis/server"
    for bad in ("gis.example/arcgis", "ftp://h/arcgis", "http:///arcgis"):
        with pytest.raises(ClientError, match="Not a site URL"):
            site_root(bad)


def test_connect_finds_the_token_service_and_logs_in(
    connected: LiveSite, fresh_site: LiveSite
) -> None:
    assert connected.session.token_url == fresh_site.http + "/arcgis/tokens/generateToken"
    assert connected.session.logins == 1
    assert [m["machineName"] for m in connected.machines.list()] == ["TESTMACHINE.EXAMPLE"]


def test_wrong_password_raises_login_failed_with_the_sites_messages(fresh_site: LiveSite) -> None:
    with pytest.raises(LoginFailed) as raised:
        Site.connect(fresh_site.http + "/arcgis", ADMIN_USER, "not-the-password")
    assert raised.value.code == 400
    assert "Unable to generate token." in raised.value.messages


def test_a_token_expiring_in_one_second_is_renewed_before_the_next_call(
    connected: Site,
) -> None:
    token = connected.session.token
    assert token is not None
    # The token the session holds now runs out one second from now.
    connected.session.token = Token(token.value, time.time() + 1, issued_s=time.time() - 59)
    time.sleep(1.2)
    assert connected.machines.list()  # renewed first, then asked
    assert connected.session.logins == 2
    assert connected.session.token.value != token.value


def test_a_token_the_site_refuses_is_renewed_once_and_the_call_succeeds(
    fresh_site: LiveSite, connected: Site
) -> None:
    # The site's clock runs past the token's expiry while the client still thinks it is fresh.
    token = connected.session.token
    assert token is not None
    fresh_site.clock.advance(seconds=token.expires_s - time.time() + 1)
    assert connected.users.search("")  # 498, a new token, the same request again
    assert connected.session.logins == 2


def test_without_a_password_an_expired_or_refused_token_needs_a_login(
    fresh_site: LiveSite,
) -> None:
    token = fresh_site.token()
    expired = Site.from_token(fresh_site.http + "/arcgis", token, int(time.time() * 1000) - 1)
    with pytest.raises(LoginRequired, match="has expired"):
        expired.machines.list()
    later = int(time.time() * 1000) + 3_600_000
    refused = Site.from_token(fresh_site.http + "/arcgis", token + "x", later)
    with pytest.raises(LoginRequired, match="refused the stored token"):
        refused.machines.list()
    anonymous = Site.anonymous(fresh_site.http + "/arcgis")
    with pytest.raises(TokenRequired) as raised:
        anonymous.machines.list()
    assert raised.value.code == 499
    assert anonymous.health() is True


def test_error_envelopes_raise_in_http_200_answers_too(
    fresh_site: LiveSite, connected: Site
) -> None:
    # The REST services directory answers a missing service with HTTP 200 and an envelope.
    answer = httpx.get(fresh_site.http + "/arcgis/rest/services/Nope/FeatureServer?f=json")
    assert answer.status_code == 200 and "error" in answer.json()
    with pytest.raises(NotFound) as rest:
        connected.session.get_json("rest/services/Nope/FeatureServer")
    assert rest.value.code == 404
    with pytest.raises(NotFound):
        connected.services.get("Nope.FeatureServer")
    with pytest.raises(ServerError) as admin:
        connected.users.add("x", "short")
    assert admin.value.code == 400 and admin.value.messages


def test_a_publisher_gets_permission_denied(fresh_site: LiveSite, connected: Site) -> None:
    connected.roles.add("publishers", privilege="PUBLISH")
    connected.users.add("pat", "Publisher-password-1")
    connected.users.assign_roles("pat", ["publishers"])
    with Site.connect(fresh_site.http + "/arcgis", "pat", "Publisher-password-1") as pat:
        assert pat.services.list() == []
        with pytest.raises(PermissionDenied) as raised:
            list(pat.users.list())
        assert raised.value.code == 403


# -- retries ------------------------------------------------------------------------------------


class DroppingProxy:
    """A TCP proxy that reads the first ``drops`` requests and closes without answering."""

    def __init__(self, target_port: int, drops: int) -> None:
        self.target_port = target_port
        self.drops = drops
        self.dropped = 0
        self.forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        if self.dropped < self.drops:
            self.dropped += 1
            with client:
                client.recv(65536)  # the request arrives, no answer does
            return
        self.forwarded += 1
        upstream = socket.create_connection(("127.0.0.1", self.target_port))

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while chunk := source.recv(65536):
                    sink.sendall(chunk)
            except OSError:
                pass
            finally:
                for side in (source, sink):
                    with contextlib.suppress(OSError):
                        side.shutdown(socket.SHUT_RDWR)

        other = threading.Thread(target=pump, args=(client, upstream), daemon=True)
        other.start()
        pump(upstream, client)
        other.join(timeout=10)
        client.close()
        upstream.close()

    def close(self) -> None:
        self._stop = True
        self._listener.close()


def test_reads_are_retried_on_connection_errors_and_writes_are_not_sent_twice(
    fresh_site: LiveSite, connected: Site
) -> None:
    port = int(fresh_site.http.rsplit(":", 1)[1])
    token = connected.session.token
    assert token is not None
    proxy = DroppingProxy(port, drops=2)
    try:
        through = Site.from_token(
            f"http://127.0.0.1:{proxy.port}/arcgis", token.value, int(token.expires_s * 1000)
        )
        assert [m["machineName"] for m in through.machines.list()] == ["TESTMACHINE.EXAMPLE"]
        assert (proxy.dropped, proxy.forwarded) == (2, 1)
        through.close()
        proxy.drops = proxy.dropped + 1
        through = Site.from_token(
            f"http://127.0.0.1:{proxy.port}/arcgis", token.value, int(token.expires_s * 1000)
        )
        with pytest.raises(ConnectionFailed, match="Could not POST"):
            through.roles.add("only-once")
        assert proxy.dropped == 3  # sent once, not again
        assert "only-once" not in [r["rolename"] for r in connected.roles.list()]
        through.close()
    finally:
        proxy.close()


def test_an_unreachable_site_raises_connection_failed(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    began = time.monotonic()
    with pytest.raises(ConnectionFailed, match="Could not"):
        Site.connect(f"http://127.0.0.1:{port}/arcgis", "a", "b", retries=1)
    assert time.monotonic() - began < 30


def test_create_site_on_a_machine_without_one(tmp_path: Path) -> None:
    live = make_site(tmp_path / "new", create=False)
    try:
        answer = Site.create_site(live.http + "/arcgis", "newadmin", "New-admin-password-1")
        assert answer["status"] == "success"
        with Site.connect(live.http + "/arcgis", "newadmin", "New-admin-password-1") as site:
            assert "services" in site.admin()["resources"]
        with pytest.raises(ServerError):  # only once
            Site.create_site(live.http + "/arcgis", "other", "Other-password-1")
    finally:
        live.stop()


def test_the_token_goes_only_to_the_site(fresh_site: LiveSite, connected: Site) -> None:
    # The same server under another name is another site: no token is sent there.
    other = fresh_site.http.replace("127.0.0.1", "localhost") + "/arcgis/admin/machines"
    with pytest.raises(TokenRequired):
        connected.session.get_json(other)
    assert connected.session.get_json(connected.root + "/admin/machines")["machines"]
