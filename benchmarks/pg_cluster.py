"""A durable PostgreSQL + PostGIS cluster for the benchmarks' "geosite (PostGIS)" target.

The runner starts it itself, as the tests start theirs (``tests/pg.py``: ``initdb`` and
``pg_ctl`` in a temporary directory, a free loopback port, ``trust`` for its one user; as root
the server runs as ``postgres``), but with the settings a deployment keeps: ``fsync``,
``synchronous_commit`` and ``full_page_writes`` on, so an acknowledged edit survives a power
loss as GeoPackage's ``synchronous=FULL`` makes it; ``shared_buffers`` 256MB (the table of
1,000,000 points and its GiST index take about 150 MB). geosite reaches it with
``--data-store postgresql://...``; the configuration store stays SQLite, so that only the
feature data differs between the two geosite targets.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT, Service, _children, _cpu_seconds

sys.path.insert(0, str(ROOT))
from tests import pg

DATABASE = "bench"
SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "256MB",
}
SHOWN = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "shared_buffers",
    "work_mem",
    "jit",
    "max_connections",
)


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    return pg.missing()


@dataclass
class Cluster:
    """The running cluster and the one database geosite publishes into."""

    server: pg.PgServer

    @property
    def url(self) -> str:
        return self.server.url(DATABASE)

    def postmaster(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.server.data / "postmaster.pid").read_text().split()[0])
        return None

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, WAL writer...)."""
        first = self.postmaster()
        return [] if first is None else [first, *_children(first)]

    def cpu_seconds(self) -> float:
        """CPU time the whole cluster used so far, backends that ended included."""
        first = self.postmaster()
        if first is None:
            return 0.0
        ended = 0.0
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{first}/stat").read_text().rsplit(")", 1)[1].split()
            ended = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        return ended + sum(_cpu_seconds(pid) for pid in self.pids())

    def vacuum(self) -> None:
        """``VACUUM (ANALYZE)`` the database: freshly copied rows get their hint bits and the
        visibility map now, not from the first queries or an autovacuum during a measured
        run (GeoPackage has no such pending work)."""
        self.server.psql("VACUUM (ANALYZE)", DATABASE)

    def configuration(self) -> str:
        """The settings that matter for the comparison, as the server reports them."""
        values = self.server.psql(
            "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) "
            "FROM pg_settings WHERE name IN (" + ", ".join(f"'{n}'" for n in SHOWN) + ")",
            DATABASE,
        )
        return values

    def versions(self) -> dict[str, str]:
        found = {
            "PostgreSQL": self.server.psql("SHOW server_version", DATABASE),
            "PostGIS": self.server.psql("SELECT postgis_lib_version()", DATABASE),
        }
        with contextlib.suppress(ImportError):
            from importlib import metadata

            found["psycopg"] = metadata.version("psycopg")
            found["psycopg-pool"] = metadata.version("psycopg-pool")
        return found


@contextlib.contextmanager
def postgis_cluster() -> Iterator[Cluster]:
    """Start a durable cluster with a PostGIS database; always remove it afterwards."""
    why = missing()
    if why is not None:
        raise SystemExit(f"geosite (PostGIS) cannot run: {why}")
    # Not under the runner's temporary directory: as root the server runs as ``postgres``,
    # which must reach its own directory.
    home = Path(tempfile.mkdtemp(prefix="geosite-bench-pg-"))
    server = pg.start_server(home, SETTINGS)
    try:
        server.create_database(DATABASE)
        yield Cluster(server)
    finally:
        server.remove()


class WithDatabase(Service):
    """geosite's process tree, its CPU time counted together with the cluster's (the work a
    query does in PostgreSQL is part of what it costs). Memory and profiles stay geosite's."""

    def __init__(
        self, name: str, command: list[str], log_path: Path, env: dict[str, str], cluster: Cluster
    ) -> None:
        super().__init__(name, command, log_path, env)
        self.cluster = cluster

    def cpu_seconds(self) -> float:
        return super().cpu_seconds() + self.cluster.cpu_seconds()
