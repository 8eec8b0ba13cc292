"""A real PostgreSQL server with PostGIS for the tests, started by the tests themselves.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port (and a socket
directory of its own), one database per test module; stopped at the end of the session. As
root (CI, containers), the server runs as the ``postgres`` user Debian's package makes, since
PostgreSQL refuses to run as root. Nothing listens beyond 127.0.0.1, and authentication is
``trust`` on loopback for the test user only.

``.ci/run`` installs Debian's ``postgresql-15-postgis-3``; where it is missing the tests that
need it skip with the reason (:func:`missing`).

``GEOSITE_TEST_FEATURE_DATA=postgis`` puts every service the tests publish into PostGIS
(:func:`on_postgis`): the sites they start get a data store in one database of a server
started on first use (:func:`feature_store`) and removed at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "geosite"
#: Where the services the tests publish keep their data: ``geopackage`` (the default) or
#: ``postgis`` (the second pass of ``make test``).
FEATURE_DATA_ENV = "GEOSITE_TEST_FEATURE_DATA"
_FEATURE_DATA_VALUES = ("geopackage", "postgis")
FEATURES_DATABASE = "features"
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


def feature_data() -> str:
    """``geopackage`` or ``postgis``, from ``GEOSITE_TEST_FEATURE_DATA``."""
    value = os.environ.get(FEATURE_DATA_ENV, "").strip().lower() or "geopackage"
    if value not in _FEATURE_DATA_VALUES:
        raise RuntimeError(f"{FEATURE_DATA_ENV} is {value!r}: one of {_FEATURE_DATA_VALUES}")
    return value


def on_postgis() -> bool:
    """Whether the services the tests publish go into PostGIS."""
    return feature_data() == "postgis"


_shared: PgServer | None = None
_shared_lock = threading.Lock()


def feature_store() -> str:
    """The URL of the database every site the tests start publishes into, on a server of
    the session started on first use (each service gets a schema of its own there)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            why = missing()
            if why is not None:
                raise RuntimeError(why)
            # Not under pytest's basetemp: as root the server runs as ``postgres``.
            server = start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-features-")))
            try:
                server.create_database(FEATURES_DATABASE)
            except BaseException:
                server.remove()
                raise
            _shared = server
        return _shared.url(FEATURES_DATABASE)


def stop_feature_store() -> None:
    """Remove the server of :func:`feature_store` if one was started."""
    global _shared
    with _shared_lock:
        server, _shared = _shared, None
    if server is not None:
        server.remove()


def layer_counts(location: str, table: str, geometry: str) -> tuple[int, int, int]:
    """(rows, rows found through the GiST index, the maintained count) of a layer a site
    published into :func:`feature_store` (``location`` is ``postgis://site/<schema>``)."""
    import psycopg
    from psycopg import sql

    schema = location.rpartition("/")[2]
    name = sql.Identifier(schema, table)
    with psycopg.connect(feature_store(), autocommit=True) as conn:
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()
        conn.execute("SET enable_seqscan = off")
        indexed = conn.execute(
            sql.SQL(
                "SELECT count(*) FROM {} WHERE {} && "
                "ST_MakeEnvelope(-1e308, -1e308, 1e308, 1e308, Find_SRID(%s, %s, %s))"
            ).format(name, sql.Identifier(geometry)),
            (schema, table, geometry),
        ).fetchone()
        kept = conn.execute(
            sql.SQL("SELECT feature_count FROM {} WHERE table_name = %s").format(
                sql.Identifier(schema, "geosite_layers")
            ),
            (table,),
        ).fetchone()
    assert rows is not None and indexed is not None and kept is not None
    return int(rows[0]), int(indexed[0]), int(kept[0])


def write_raw_points(
    location: str, table: str, geometry: str, points: list[tuple[float, float]]
) -> None:
    """Points written straight into a layer in :func:`feature_store`, as another program
    could (infinite and NaN coordinates included), with an extent of infinities."""
    import psycopg
    from psycopg import sql

    schema = location.rpartition("/")[2]
    with psycopg.connect(feature_store()) as conn:
        for x, y in points:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} ({}) VALUES (ST_SetSRID(ST_MakePoint(%s, %s), "
                    "Find_SRID(%s, %s, %s)))"
                ).format(sql.Identifier(schema, table), sql.Identifier(geometry)),
                (x, y, schema, table, geometry),
            )
        conn.execute(
            sql.SQL(
                "UPDATE {} SET max_x = 'Infinity', min_y = '-Infinity', "
                "feature_count = feature_count + %s WHERE table_name = %s"
            ).format(sql.Identifier(schema, "geosite_layers")),
            (len(points), table),
        )


def fingerprint(location: str) -> str:
    """The tables, columns, indexes and every row of a service's schema in
    :func:`feature_store`, hashed."""
    import hashlib

    import psycopg
    from psycopg import sql

    schema = location.rpartition("/")[2]
    digest = hashlib.sha256()
    with psycopg.connect(feature_store(), autocommit=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, column_default FROM "
            "information_schema.columns WHERE table_schema = %s ORDER BY 1, ordinal_position",
            (schema,),
        ).fetchall()
        digest.update(repr(columns).encode())
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            (schema,),
        ).fetchall()
        digest.update(repr(indexes).encode())
        for table in sorted({row[0] for row in columns}):
            rows = conn.execute(
                sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(schema, table))
            )
            for row in rows:
                digest.update(repr(row).encode())
    return digest.hexdigest()
