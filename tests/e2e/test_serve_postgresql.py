"""``geosite serve --config-store postgresql://...``: real processes on a PostgreSQL store."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from geosite.storage.postgresql_logs import PostgresLogStore
from tests.e2e.test_serve import PASSWORD, Server, publish_point
from tests.pg import USER, PgServer

SECRET = "not-shown-anywhere"


def _properties(server: Server, token: str) -> list[dict[str, object]]:
    def read(_: int) -> dict[str, object]:
        with httpx.Client() as client:  # a new connection each time: both workers answer
            answer = client.get(
                server.url + "/arcgis/admin/system/properties",
                params={"f": "json", "token": token},
            )
            return dict(answer.json())

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(read, range(16)))


def _update_until_both_workers_logged(server: Server, token: str, database: str) -> None:
    """Audited updates on new connections, concurrently, until records of two processes are in
    the database: which worker accepts a connection is the kernel's choice, so a fixed number of
    requests may all reach one (CI saw three land on the same worker)."""

    def update(_: int) -> None:
        with httpx.Client() as client:
            answer = client.post(
                server.url + "/arcgis/admin/system/properties/update",
                data={"f": "json", "token": token, "properties": '{"WebContextURL": ""}'},
            ).json()
            assert answer["status"] == "success", answer

    logs = PostgresLogStore(database)
    try:
        for _ in range(20):
            if len({r.process for r in logs.query(limit=10_000)}) == 2:
                return
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(update, range(16)))
        raise AssertionError("320 audited updates on new connections all reached one worker")
    finally:
        logs.close()


def test_two_workers_on_postgresql(tmp_path: Path, postgres: PgServer) -> None:
    """The site is made in the database; every worker sees a change within a second; the
    password of the URL is shown nowhere; a restart opens the same site."""
    database = postgres.create_database("serve_e2e", postgis=False)
    url = database.replace(f"{USER}@", f"{USER}:{SECRET}@")  # trust: accepted, never needed
    data = tmp_path / "site"
    server = Server(data, "--workers", "2", "--admin-password", PASSWORD, "--config-store", url)
    try:
        token = server.token()
        assert _properties(server, token) == [{}] * 16  # every worker reads them, and keeps
        changed = httpx.post(
            server.url + "/arcgis/admin/system/properties/update",
            data={"f": "json", "token": token, "properties": '{"WebContextURL": ""}'},
        ).json()
        assert changed["status"] == "success", changed
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            seen = _properties(server, token)
            if all(p == {"WebContextURL": ""} for p in seen):
                break
        else:
            raise AssertionError(f"not every worker saw the change within a second: {seen}")
        publish_point(server, token, tmp_path, "Cities", {"name": "x"})
        _update_until_both_workers_logged(server, token, database)
        output = server.stop()
        assert SECRET not in output and f"{USER}:***@127.0.0.1" in output
        assert not (data / "config-store").exists()
        logs = PostgresLogStore(database)
        try:
            records = logs.query(limit=10_000)
            assert len({r.process for r in records}) == 2  # both workers wrote to PostgreSQL
            assert not [r for r in records if SECRET in r.message]
        finally:
            logs.close()

        again = Server(data)
        assert (
            httpx.get(
                again.url + "/arcgis/rest/services/Cities/FeatureServer/0/query",
                params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
            ).json()["count"]
            == 1
        )
        assert SECRET not in again.stop()
    finally:
        server.stop()
