"""The feature-data contract on PostGIS: the published test layer loaded into a schema of a
real PostgreSQL (the session's ``postgres`` fixture) answers as the GeoPackage does."""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from geosite.core.models import LayerDescription
from geosite.data import postgis_source
from geosite.data.postgis_load import drop_schema, load_geopackage
from geosite.data.postgis_source import PostGISData
from geosite.data.registry import open_data
from geosite.data.source import FeatureData, RowFilter
from geosite.engines.source_contract import FeatureSourceContract, published_points
from geosite.errors import DataUnavailable, NotFound, QueryTooLong
from tests import pg
from tests.pg import PgServer

_schemas = itertools.count()


@pytest.fixture(scope="module")
def database(postgres: PgServer) -> Iterator[str]:
    url = postgres.create_database("feature_sources")
    yield url
    postgis_source.close_pools()


class TestPostGISSource(FeatureSourceContract):
    @pytest.fixture(autouse=True)
    def _database(self, database: str) -> None:
        self.url = database

    def make_data(self, gpkg: Path, layers: list[LayerDescription]) -> FeatureData:
        return load_geopackage(gpkg, layers, self.url, f"s_{next(_schemas)}")


def test_a_location_opens_through_the_resolver(database: str, tmp_path: Path) -> None:
    """``postgis://<connection>/<schema>`` opens with the connection string the installed
    resolver gives; no password lives in the location."""
    gpkg, layers = published_points(tmp_path)
    load_geopackage(gpkg, layers, database, "resolved")
    where = postgis_source.location("site", "resolved")
    data = open_data(where, lambda name: database if name == "site" else "")
    assert data.source(layers[0]).count(RowFilter()) == 40
    drop_schema(database, "resolved")
    with pytest.raises(NotFound):
        data.source(layers[0]).count(RowFilter())
    with pytest.raises(DataUnavailable):  # no resolver: no database known
        open_data(where)


def test_a_database_that_goes_away_is_a_clear_error_then_recovers(
    postgres: PgServer, tmp_path: Path
) -> None:
    """A stopped database answers DataUnavailable (code 503) without a driver's text; once it
    is back, the same source reads again, and no acknowledged edit was lost."""
    server = pg.start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-fault-")))
    try:
        url = server.create_database("faults")
        gpkg, layers = published_points(tmp_path)
        data = load_geopackage(gpkg, layers, url, "faulty")
        source = data.source(layers[0])
        with data.edit() as tx:
            tx.delete(layers[0], 1)
        server.stop("immediate")
        with pytest.raises(DataUnavailable) as caught:
            source.count(RowFilter())
        assert caught.value.code == 503 and url not in str(caught.value.details)
        server.start()
        deadline = time.monotonic() + 30
        while True:  # the pool reconnects by itself, its attempts backing off
            try:
                assert source.count(RowFilter()) == 39
                break
            except DataUnavailable:
                assert time.monotonic() < deadline, "the pool did not reconnect in 30 s"
                time.sleep(0.5)
    finally:
        postgis_source.close_pools()
        server.remove()


def test_after_a_long_outage_the_pool_reconnects_within_seconds(postgres: PgServer) -> None:
    """A database away for 40 s: every request meanwhile is a clear DataUnavailable; once it
    is back, requests succeed again within seconds, not after a wait as long as the outage
    (psycopg_pool's default: one attempt that backs off 1, 2, 4 ... 32, 64 s for 5 minutes,
    so the site stayed down for up to another outage's length)."""
    server = pg.start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-outage-")))
    try:
        url = server.create_database("outage", postgis=False)

        def select() -> None:
            with postgis_source.connection(url) as conn:
                conn.execute("SELECT 1")

        select()
        server.stop("fast")
        stopped = time.monotonic()
        while time.monotonic() - stopped < 40:
            with pytest.raises(DataUnavailable):
                select()
        server.start()
        back = time.monotonic()
        while True:
            try:
                select()
                break
            except DataUnavailable:
                assert time.monotonic() - back < 60, "the pool did not reconnect in 60 s"
        waited = time.monotonic() - back
        print(f"\nrequests succeed again {waited:.1f} s after the database is back")
        # Within 12 s (about 5 s here; 15 to 30 s with the default's backoff).
        assert waited < 12, f"requests failed for {waited:.1f} s after the database was back"
    finally:
        postgis_source.close_pools()
        server.remove()


def test_a_statement_past_its_timeout_is_a_clear_error(database: str, tmp_path: Path) -> None:
    """A statement cancelled at ``statement_timeout`` (here: waiting on a lock another session
    holds) is QueryTooLong, a 400 that says what to do; the pool serves the next request."""
    gpkg, layers = published_points(tmp_path)
    load_geopackage(gpkg, layers, database, "slow")
    quick = make_conninfo(database, options="-c statement_timeout=300")
    source = PostGISData(quick, "slow").source(layers[0])
    with psycopg.connect(database) as other, other.transaction():
        other.execute(f'LOCK TABLE slow."{layers[0].table}" IN ACCESS EXCLUSIVE MODE')
        with pytest.raises(QueryTooLong) as caught:
            source.count(RowFilter(object_ids=(1,)))
        assert caught.value.code == 400 and "narrow" in caught.value.details[0]
    assert source.count(RowFilter(object_ids=(1,))) == 1


def test_only_schemas_geosite_made_are_dropped(database: str) -> None:
    """drop_schema leaves a schema without geosite_layers (a user's) alone."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA users_own")
        conn.execute("CREATE TABLE users_own.t (id integer)")
    drop_schema(database, "users_own")
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('users_own.t') IS NOT NULL").fetchone() == (True,)
