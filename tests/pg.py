"""A real PostgreSQL server with PostGIS for the tests, started by the tests themselves.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port (and a socket
directory of its own), one database per test module; stopped at the end of the session. As
root (CI, containers), the server runs as the ``postgres`` user Debian's package makes, since
PostgreSQL refuses to run as root. Nothing listens beyond 127.0.0.1, and authentication is
``trust`` on loopback for the test user only.

``.ci/run`` installs Debian's ``postgresql-15-postgis-3``; where it is missing the tests that
need it skip with the reason (:func:`missing`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "geosite"
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The tests' server settings. fsync off: the tests crash the server, never the machine, so
#: what a commit wrote to the OS survives; commits stay synchronous, so an acknowledged write
#: is never lost. (The benchmarks start theirs durable: ``benchmarks/pg_cluster.py``.)
TEST_SETTINGS = {"fsync": "off", "full_page_writes": "off"}


def bin_dir() -> Path | None:
    """The newest PostgreSQL server's binaries on this machine, or None."""
    found = sorted(
        (p for p in Path("/").glob(_BIN_GLOB.lstrip("/")) if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def missing() -> str | None:
    """Why a PostGIS server cannot be started here, or None when it can."""
    binaries = bin_dir()
    if binaries is None:
        return "PostgreSQL is not installed (.ci/run installs Debian's postgresql-15-postgis-3)"
    version = binaries.parent.name
    if not list(Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")):
        return f"PostGIS is not installed for PostgreSQL {version} (postgresql-{version}-postgis-3)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One test cluster: where it lives, its port, and how to reach it."""

    binaries: Path
    home: Path
    port: int
    settings: dict[str, str] = field(default_factory=lambda: dict(TEST_SETTINGS))

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def sockets(self) -> Path:
        return self.home / "sockets"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` as the test user, over TCP on loopback."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=timeout, check=True
        )

    def initdb(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.home, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._as_owner(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",  # Unicode UPPER/LOWER, as GeoPackage layers fold case
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server (with :attr:`settings`) and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1" + "".join(
            f" -c {name}={value}" for name, value in self.settings.items()
        )
        self._as_owner(
            str(self.binaries / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.home / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no checkpoint)."""
        self._as_owner(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql (the client of the same version) and return its output."""
        done = subprocess.run(
            [
                str(self.binaries / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(database),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    def create_database(self, name: str, *, postgis: bool = True) -> str:
        """A new empty database (with the PostGIS extension); its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        if postgis:
            self.psql("CREATE EXTENSION postgis", name)
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its files."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
                self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)


def start_server(home: Path, settings: dict[str, str] | None = None) -> PgServer:
    """A new cluster under ``home``, started (with ``settings`` instead of
    :data:`TEST_SETTINGS` when given); the caller removes it."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError(missing() or "PostgreSQL is not installed")
    server = PgServer(binaries, home, _free_port())
    if settings is not None:
        server.settings = dict(settings)
    server.initdb()
    for attempt in range(3):  # the free port can be taken in between: try another
        try:
            server.start()
            return server
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            server.port = _free_port()
            time.sleep(0.2)
    return server
