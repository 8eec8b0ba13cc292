"""The test PostgreSQL server itself (``tests/pg.py``): PostGIS answers, data survives a
restart and a crash (``pg_ctl -m immediate``), and nothing listens beyond loopback."""

from __future__ import annotations

from tests.pg import PgServer


def test_postgis_answers(postgres: PgServer) -> None:
    postgres.create_database("smoke")
    version = postgres.psql("SELECT postgis_lib_version()", "smoke")
    assert version.split(".")[0] == "3", version
    area = postgres.psql(
        "SELECT round(ST_Area(ST_GeomFromText('POLYGON((0 0,0 2,3 2,3 0,0 0))', 4326))::numeric)",
        "smoke",
    )
    assert area == "6"
    assert postgres.psql("SHOW listen_addresses") == "127.0.0.1"


def test_data_survives_a_restart_and_a_crash(postgres: PgServer) -> None:
    postgres.create_database("durable", postgis=False)
    postgres.psql("CREATE TABLE t (n integer); INSERT INTO t VALUES (1), (2)", "durable")
    postgres.stop()
    postgres.start()
    assert postgres.psql("SELECT sum(n) FROM t", "durable") == "3"
    postgres.psql("INSERT INTO t VALUES (3)", "durable")
    postgres.stop("immediate")  # as a killed server: recovery replays the WAL
    postgres.start()
    assert postgres.psql("SELECT sum(n) FROM t", "durable") == "6"
