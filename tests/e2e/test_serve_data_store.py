"""``geosite serve --data-store``: a data store that cannot serve feature data stops the start
with a clear message (never a password); a good one is announced, and publishing uses it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.test_serve import PASSWORD, Server, publish_point
from tests.pg import USER, PgServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refused(tmp_path: Path, url: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "geosite",
            "serve",
            "--data-dir",
            str(tmp_path / "site"),
            "--port",
            str(_free_port()),
            "--https-port",
            str(_free_port()),
            "--data-store",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GEOSITE_MACHINE_NAME": "E2E.MACHINE"},
    )
    assert done.returncode == 2, done
    return done.stdout + done.stderr


def test_a_data_store_that_cannot_serve_is_refused(tmp_path: Path, postgres: PgServer) -> None:
    plain = postgres.create_database("no_postgis_here", postgis=False)
    assert "PostGIS is not installed" in _refused(tmp_path, plain)
    missing = postgres.url("no_such_database")
    assert "no_such_database" in _refused(tmp_path, missing)
    secret = "s3cret-never-shown"
    closed = f"postgresql://{USER}:{secret}@127.0.0.1:{_free_port()}/x"
    output = _refused(tmp_path, closed)
    assert "cannot be used" in output and secret not in output
    assert "cannot be used" in _refused(tmp_path, "postgresql://127.0.0.1:1/x?sslmode=require")


def test_a_good_data_store_is_used(tmp_path: Path, postgres: PgServer) -> None:
    url = postgres.create_database("serve_data_store")
    server = Server(tmp_path / "site", "--admin-password", PASSWORD, "--data-store", url)
    try:
        token = server.token()
        publish_point(server, token, tmp_path, "InDatabase", {"name": "x"})
        schemas = postgres.psql(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 's\\_%'", "serve_data_store"
        )
        assert schemas.strip() == "1"
    finally:
        output = server.stop()
    assert "New services are published into:" in output
