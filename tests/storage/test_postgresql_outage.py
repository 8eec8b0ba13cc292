"""A live site whose PostgreSQL store stops mid-run and comes back (a cluster of the test's
own, so that the session's server is never stopped): clear error envelopes meanwhile, never a
hang, and recovery without a restart of geosite."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.conftest import LiveSite, make_site
from tests.pg import PgServer


@pytest.fixture
def own_server(postgres: PgServer) -> Iterator[PgServer]:
    del postgres  # only for its skip where PostgreSQL is missing
    # Not under pytest's basetemp, as the postgres fixture: the server's user must reach it.
    server = pg.start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-outage-")))
    yield server
    server.remove()


def _users(live: LiveSite, token: str) -> httpx.Response:
    return httpx.post(
        live.admin + "/security/users/getUsers",
        data={"f": "json", "token": token},
        timeout=30,
    )


def test_the_store_stops_and_comes_back(own_server: PgServer, tmp_path: Path) -> None:
    url = own_server.create_database("outage", postgis=False)
    live = make_site(tmp_path / "site", config_store=url)
    try:
        token = live.token()
        assert "users" in _users(live, token).json()
        own_server.stop("fast")
        for _ in range(2):
            start = time.monotonic()
            answer = _users(live, token)
            took = time.monotonic() - start
            error = answer.json()  # the Administrator API's envelope
            assert error["status"] == "error" and error["code"] == 503 and took < 8, (error, took)
            assert "configuration store cannot be reached" in error["messages"][0]
            assert "127.0.0.1" not in str(error)  # where the database is goes to the log only
        own_server.start()
        deadline = time.monotonic() + 20
        while "users" not in _users(live, token).json():
            assert time.monotonic() < deadline, "the site did not recover"
            time.sleep(0.2)
        assert "users" in _users(live, token).json()
    finally:
        live.stop()
