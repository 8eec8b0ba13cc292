"""The same property on PostgreSQL: for random ``where`` clauses, the SQL compiled in the
PostgreSQL dialect selects, on a real PostgreSQL server, exactly the rows the reference selects
(issue 18: one parser, one tree, a dialect per engine, bound parameters on both).

The generator, the rows and the reference are ``test_where_property``'s; the table has the
types a PostGIS layer gets (``bigint``, ``smallint``, ``double precision``, ``text``,
``timestamptz``, ``date``). The connection is made with psycopg 3, as the PostGIS feature
source makes it, and every literal travels as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, reject, settings

from geosite.engines.query.dialects import POSTGRESQL
from geosite.engines.query.sql import compile_where
from geosite.engines.query.where import parse_where
from geosite.errors import InvalidParameter
from tests.engines.test_where_property import FIELDS, TYPES, Case, cases
from tests.engines.where_reference import (
    POSTGRESQL_WORDS,
    Undefined,
    assert_only_parameters,
    selects,
)
from tests.pg import PgServer

psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is a dependency: pip install -e .")

PG_TYPES = {
    "esriFieldTypeOID": "bigint PRIMARY KEY",
    "esriFieldTypeInteger": "bigint",
    "esriFieldTypeSmallInteger": "smallint",
    "esriFieldTypeDouble": "double precision",
    "esriFieldTypeSingle": "double precision",
    "esriFieldTypeString": "text",
}
DATE_COLUMNS = {"Updated": "timestamptz", "opened": "date"}


@pytest.fixture(scope="module")
def connection(postgres: PgServer) -> Iterator[Any]:
    url = postgres.create_database("where_property", postgis=False)
    with psycopg.connect(url, autocommit=True) as conn:
        columns = ", ".join(
            f'"{f["name"]}" {DATE_COLUMNS.get(str(f["name"])) or PG_TYPES[str(f["type"])]}'
            for f in FIELDS
        )
        conn.execute(f"CREATE TABLE t ({columns})")
        yield conn


def select_ids(conn: Any, rows: list[dict[str, Any]], sql: str, params: list[Any]) -> set[int]:
    names = [str(f["name"]) for f in FIELDS]
    quoted = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("%s" for _ in names)
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("TRUNCATE t")
        cursor.executemany(
            f"INSERT INTO t ({quoted}) VALUES ({marks})", [[r[n] for n in names] for r in rows]
        )
        cursor.execute(f"SELECT id FROM t WHERE {sql}", params)
        return {oid for (oid,) in cursor.fetchall()}


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_postgresql_selects_what_the_reference_selects(connection: Any, case: Case) -> None:
    parsed = parse_where(case.text, FIELDS)
    try:
        expected = {row["id"] for row in case.rows if selects(case.node, row, now_ms=case.now_ms)}
    except Undefined as why:
        note(f"outside the property: {why}")
        reject()
    try:
        compiled = compile_where(parsed, case.now_ms, POSTGRESQL)
    except InvalidParameter as refused:  # a clause the compiled SQL nests too deeply: a 400
        assert "nested too deeply" in " ".join(refused.details), refused.details
        note("refused: nested too deeply")
        reject()
    note(f"SQL: {compiled.sql}  params: {compiled.params!r}")
    assert_only_parameters(compiled.sql.replace("%s", "?"), TYPES, POSTGRESQL_WORDS)
    try:
        selected = select_ids(connection, case.rows, compiled.sql, compiled.params)
    except psycopg.errors.DataError as error:
        # A value-dependent error (a CAST out of range, ...): the FeatureSource answers it as
        # a 400, where SQLite clamps or converts; outside the property, as the reference's
        # Undefined is.
        note(f"PostgreSQL refused the values: {error}")
        reject()
    assert selected == expected
