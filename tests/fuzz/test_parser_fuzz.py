"""Fuzzing the query parsers (security-and-reliability §4 R3).

Targets: the ``where`` grammar (with ``havingClause``, the SQL compiler, and the compiled SQL
run on an in-memory GeoPackage-like table; with ``GEOSITE_TEST_FEATURE_DATA=postgis``, compiled
in the PostgreSQL dialect and run through the PostGIS source's statement path on a table of
PostGIS layer types), the Esri JSON query geometry (with
``geometryType``, ``inSR``, ``distance`` and ``units``, projected and buffered as a query
does), the spatial-reference parser, and the whole parameter set of a layer query.

Hypothesis writes random text and bytes, and near-valid input shaped by each grammar: where
tokens mixed with junk (quotes, parentheses, comments, unicode, very long numbers, deep
nesting), and geometry JSON with wrong types, NaN/Infinity, huge arrays, deep lists and missing
keys. For every input the parser either returns or raises ``InvalidParameter`` (which the HTTP
layer turns into ArcGIS's 400 envelope; anything else becomes a 500), and each call finishes
within ``HANG_SECONDS``.

``make test`` runs a few hundred examples per target. ``GEOSITE_FUZZ_SECONDS=600`` (``make
fuzz-parsers``) runs each target for that long, in rounds of fresh examples, and prints the
executions per target.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geosite.data import geopackage
from geosite.data.postgis_load import COLUMN_TYPES
from geosite.data.postgis_source import PostGISData
from geosite.data.spatial_reference import resolve
from geosite.engines.query import where as where_grammar
from geosite.engines.query.dialects import POSTGRESQL
from geosite.engines.query.geometry import UNITS_M, in_layer, parse_query_geometry
from geosite.engines.query.params import parse_query
from geosite.engines.query.sql import compile_where
from geosite.engines.query.where import parse_having, parse_where
from geosite.errors import InvalidParameter
from tests import pg

# A failure's example can be megabytes long; hypothesis warns while printing it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
HANG_SECONDS = 1.0
BUDGET_SECONDS = float(os.environ.get("GEOSITE_FUZZ_SECONDS", "0") or 0)
EXAMPLES = int(os.environ.get("GEOSITE_FUZZ_EXAMPLES", "300"))
ROUND = 2_000  # examples per hypothesis run in the timed mode

FIELDS: list[dict[str, Any]] = [
    {"name": "OBJECTID", "type": "esriFieldTypeOID"},
    {"name": "pop_est", "type": "esriFieldTypeDouble"},
    {"name": "rank", "type": "esriFieldTypeSmallInteger"},
    {"name": "Count", "type": "esriFieldTypeInteger"},
    {"name": "name", "type": "esriFieldTypeString"},
    {"name": "iso_a3", "type": "esriFieldTypeString"},
    {"name": "Updated", "type": "esriFieldTypeDate"},
]
_COLUMNS = {
    "esriFieldTypeOID": "INTEGER PRIMARY KEY",
    "esriFieldTypeDouble": "DOUBLE",
    "esriFieldTypeSmallInteger": "SMALLINT",
    "esriFieldTypeInteger": "INTEGER",
    "esriFieldTypeString": "TEXT",
    "esriFieldTypeDate": "DATETIME",
}
ROWS = [
    (1, 1.5e8, 3, 2**62, "Côte d'Ivoire", "CIV", "2020-01-02T03:04:05Z"),
    (2, -0.0, -1, -(2**63), "100%_sure", "X'Y", "1970-01-01"),
    (3, None, None, None, None, None, None),
    (4, 1e308, 32767, 0, "", "🙂", "not a date"),
]


# -- bookkeeping -----------------------------------------------------------------------------
@dataclass
class Stats:
    """What one target saw: calls, refusals (``InvalidParameter``), the slowest call."""

    executions: int = 0
    refused: int = 0
    slowest: float = 0.0


STATS: dict[str, Stats] = {}


def timed(target: str, call: Callable[[], object], shown: object) -> None:
    """Run ``call``; only ``InvalidParameter`` may escape it, and never after a hang."""
    stats = STATS.setdefault(target, Stats())
    stats.executions += 1
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # numpy's overflow warnings (huge coordinates) are printed by a server, not raised;
            # the inf they leave behind must still end as InvalidParameter.
            warnings.simplefilter("ignore", RuntimeWarning)
            call()
    except InvalidParameter:
        stats.refused += 1
    finally:
        elapsed = time.perf_counter() - start
        stats.slowest = max(stats.slowest, elapsed)
    assert elapsed < HANG_SECONDS, f"{target}: {elapsed:.2f} s on {str(shown)[:300]!r}"


def run(target: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    """``check`` over ``strategy``: a few hundred examples, or rounds until the budget ends."""

    def once(examples: int) -> None:
        @settings(
            max_examples=examples,
            deadline=None,  # the per-call limit is ``timed``'s, measured around the parser only
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def fuzz(value: Any) -> None:
            check(value)

        fuzz()

    if BUDGET_SECONDS <= 0:
        once(EXAMPLES)
        return
    end = time.monotonic() + BUDGET_SECONDS
    while time.monotonic() < end:
        once(ROUND)
    stats = STATS[target]
    print(
        f"\nfuzz {target}: {stats.executions} executions in {BUDGET_SECONDS:.0f} s, "
        f"{stats.refused} refused with InvalidParameter, 0 crashes, "
        f"0 hangs > {HANG_SECONDS:.0f} s (slowest call {stats.slowest * 1000:.0f} ms)",
        flush=True,
    )


# -- strategies: shared ----------------------------------------------------------------------
def _decoded(data: bytes) -> str:
    # As the HTTP layer reads parameters: UTF-8 with replacement (parse_qsl's default).
    return data.decode("utf-8", "replace")


RANDOM_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(_decoded),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)
SEPARATORS = st.sampled_from(["", " ", " ", "  ", "\t", "\n", "\u00a0", "\u2028", "\x00", "\r\n"])
BIG = st.integers(min_value=1, max_value=6_000)


@st.composite
def long_numbers(draw: st.DrawFn) -> str:
    """Numbers of up to thousands of digits, leading zeros, exponents, unicode digits."""
    digits = draw(st.sampled_from(["9", "0", "1", "\u0663", "\uff15"])) * draw(BIG)
    head = draw(st.sampled_from(["", "0" * draw(BIG), "-", "+", "."]))
    tail = draw(st.sampled_from(["", ".", ".5", "e999", "E-999", "e+", "e", "." + digits]))
    return head + digits + tail


def soup(tokens: st.SearchStrategy[str], max_size: int = 60) -> st.SearchStrategy[str]:
    """Texts made of ``tokens`` joined by random separators."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = draw(st.lists(tokens, max_size=max_size))
        return "".join(part + draw(SEPARATORS) for part in parts)

    return build()


# -- strategies: where -------------------------------------------------------------------------
WHERE_WORDS = [
    *(str(f["name"]) for f in FIELDS),
    *(f'"{f["name"]}"' for f in FIELDS),
    "nope",
    '"nope"',
    '"pop est"',
    # The grammar's own words, so that the vocabulary follows the grammar...
    *sorted(where_grammar._KEYWORDS | set(where_grammar.FUNCTIONS)),
    *where_grammar.CAST_TYPES,
    *where_grammar.EXTRACT_PARTS,
    # ...and the special forms and aggregates (havingClause) it reads outside those tables.
    "CAST",
    "EXTRACT",
    "POSITION",
    "SUBSTRING",
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "STDDEV",
    "VAR",
    "randomblob",
    "sqlite_version",
    "load_extension",
    "UNION",
    "ATTACH",
    "DROP",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "||",
    "(",
    ")",
    ",",
    "'",
    "''",
    '"',
    ";",
    "--",
    "/*",
    "*/",
    "`",
    "[",
    "]",
    "\\",
    "%",
    "_",
    "?",
    ":x",
    "@x",
    "$1",
    "#",
    "0x1F",
    "1e400",
    "-9223372036854775808",
    "9223372036854775807",
    "'2020-01-01'",
    "'2020-13-45'",
    "'1970-01-01 00:00:00'",
    "'%'",
    "'_'",
    "'a''b'",
    "'é'",
    "'\x00'",
    "'" + "x" * 2000 + "'",
    "\u202e",
    "\ufeff",
    "ǅ",
    "ß",
    "\u0661\u0662\u0663",
    "\U0001d7d9",
]
WHERE_TOKENS = st.one_of(
    st.sampled_from(WHERE_WORDS),
    long_numbers(),
    st.text(max_size=8),
    st.from_regex(r"'[^']{0,20}'", fullmatch=True),
    st.integers().map(str),
    st.floats().map(repr),
)


@st.composite
def deep_where(draw: st.DrawFn) -> str:
    """Deep nesting and long chains, balanced or not."""
    n = draw(BIG)
    core = draw(st.sampled_from(["pop_est > 1", "1=1", "name = 'x'", "rank", "", "(", "'"]))
    forms = [
        "(" * n + core + ")" * n,
        "(" * n + core + ")" * draw(st.integers(0, n + 2)),
        "NOT " * n + core,
        "pop_est = " + "-" * n + "1",
        "pop_est = " + "ABS(" * n + "1" + ")" * n,
        "pop_est = " + " + ".join(["rank"] * n),
        "pop_est = " + " * ".join(["1"] * n),
        " OR ".join([core or "1=1"] * n),
        " AND ".join(["rank IN (1, 2)"] * n),
        "rank IN (" + ",".join(["1"] * n) + ")",
        "name LIKE '" + "%_" * n + "' ESCAPE '\\'",
        "name = " + " || ".join(["name"] * n),
        "pop_est = TRUNCATE(" * n + "1, 2" + ")" * n,
        "rank = COALESCE(" + ",".join(["rank"] * min(n, 40)) + ")",
        "CAST(" * n + "rank" + " AS INTEGER)" * n + " = 1",
        "Updated > DATE '" + "9" * n + "-01-01'",
        "name = '" + "'" * n + "'",
        "pop_est = " + "0" * n + "1",
    ]
    return draw(st.sampled_from(forms))


WHERE_INPUTS = st.one_of(RANDOM_TEXT, soup(WHERE_TOKENS), deep_where())


@functools.cache
def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    geopackage.prepare(conn)
    columns = ", ".join(f'"{f["name"]}" {_COLUMNS[str(f["type"])]}' for f in FIELDS)
    conn.execute(f"CREATE TABLE t ({columns})")
    conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(FIELDS))})", ROWS)
    return conn


@functools.cache
def _postgis_table() -> PostGISData:
    """ROWS in a table of the types a PostGIS layer gets (values an ``integer`` or a
    ``timestamptz`` cannot hold become its bounds or NULL), in the tests' feature store."""
    import psycopg
    from psycopg import sql

    url, schema = pg.feature_store(), "parser_fuzz"
    types = {**COLUMN_TYPES, "esriFieldTypeOID": "bigint PRIMARY KEY"}
    columns = sql.SQL(", ").join(
        sql.SQL("{} " + types[str(f["type"])]).format(sql.Identifier(str(f["name"])))
        for f in FIELDS
    )
    limit = 2**31 - 1
    rows = [
        tuple(
            max(-limit - 1, min(limit, v))
            if f["type"] == "esriFieldTypeInteger" and v
            else (None if f["type"] == "esriFieldTypeDate" and v == "not a date" else v)
            for f, v in zip(FIELDS, row, strict=True)
        )
        for row in ROWS
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        table = sql.Identifier(schema, "t")
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
        marks = sql.SQL(", ").join(sql.Placeholder() * len(FIELDS))
        with conn.cursor() as cursor:
            cursor.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(table, marks), rows)
    return PostGISData(url, schema)


def _where(text: str) -> None:
    node = parse_where(text, FIELDS)
    if pg.on_postgis():
        compiled = compile_where(node, 1_700_000_000_000, POSTGRESQL)
        # The statement path of every PostGIS query: only InvalidParameter may come out.
        statement = f'SELECT "OBJECTID" FROM "parser_fuzz"."t" WHERE {compiled.sql}'
        _postgis_table().rows(statement, compiled.params)
        return
    compiled = compile_where(node, 1_700_000_000_000)
    if compiled is not None:
        _table().execute(f"SELECT OBJECTID FROM t WHERE {compiled.sql}", compiled.params).fetchall()


def check_where(text: str) -> None:
    """``where``: parse, compile, and run the SQL; ``havingClause``: parse."""
    timed("where", lambda: _where(text), text)
    timed("having", lambda: parse_having(text, FIELDS), text)


def test_where_parser_raises_only_invalid_parameter() -> None:
    if pg.on_postgis():
        _postgis_table()  # made before the clock runs
    run("where", WHERE_INPUTS, check_where)


# -- strategies: geometry ----------------------------------------------------------------------
GEOMETRY_TYPES = [
    "esriGeometryEnvelope",
    "esriGeometryPoint",
    "esriGeometryMultipoint",
    "esriGeometryPolyline",
    "esriGeometryPolygon",
    "esriGeometryNope",
    "",
]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**63, 180.0, -90.0, 1e15]),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=20),
    st.sampled_from(["1", "NaN", "Infinity", "1e999", "", "0x10"]),
)
JSON_ANY = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)


@st.composite
def coordinates(draw: st.DrawFn) -> Any:
    """A coordinate list: valid-ish, wrong-shaped, huge, or nested deeply."""
    pair = st.lists(NUMBERS, min_size=0, max_size=4)
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.lists(pair, max_size=12))
    if kind == 1:  # a closed ring with a few points
        points = draw(st.lists(st.tuples(NUMBERS, NUMBERS).map(list), min_size=1, max_size=8))
        return [*points, points[0]]
    if kind == 2:  # huge (just past the vertex limit, or well inside it)
        n = draw(st.sampled_from([0, 1, 3, 1_000, 20_000, 100_001]))
        return [[float(i % 360 - 180), float(i % 170 - 85)] for i in range(n)]
    if kind == 3:  # deeply nested lists
        value: Any = [1.0, 2.0]
        for _ in range(draw(st.integers(1, 900))):  # json.dumps recurses; deeper is text
            value = [value]
        return value
    if kind == 4:  # a spike: many vertices back and forth
        n = draw(st.integers(1, 3_000))
        return [[0.0, 0.0], *([[1.0, 1.0], [0.0, 1e-9]] * n), [0.0, 0.0]]
    return draw(JSON_ANY)


SPATIAL_REFERENCES = st.one_of(
    st.sampled_from(
        [
            {"wkid": 4326},
            {"wkid": 102100},
            {"latestWkid": 3857},
            {"wkid": 2263},
            {"wkid": 0},
            {"wkid": -1},
            {"wkid": 2**64},
            {"wkid": "4326"},
            {"wkid": None},
            {"wkt": "GEOGCS[]"},
            {"wkt": 'PROJCS["x",GEOGCS["y"]]'},
            {"wkid": 32661},
            {"wkid": 3031},
            {"type": "GeographicCRS", "name": "x"},
        ]
    ),
    JSON_ANY,
)


@st.composite
def near_geometry(draw: st.DrawFn) -> dict[str, Any]:
    """An Esri JSON geometry with some keys right, some wrong and some missing."""
    keys = draw(
        st.sets(
            st.sampled_from(
                [
                    "x",
                    "y",
                    "z",
                    "points",
                    "paths",
                    "rings",
                    "xmin",
                    "ymin",
                    "xmax",
                    "ymax",
                    "spatialReference",
                    "hasZ",
                ]
            ),
            max_size=6,
        )
    )
    value: dict[str, Any] = {}
    for key in keys:
        if key in ("points",):
            value[key] = draw(coordinates())
        elif key in ("paths", "rings"):
            value[key] = draw(st.one_of(st.lists(coordinates(), max_size=4), JSON_SCALARS))
        elif key == "spatialReference":
            value[key] = draw(SPATIAL_REFERENCES)
        else:
            value[key] = draw(st.one_of(NUMBERS, JSON_SCALARS, JSON_ANY))
    return value


def _json(value: Any) -> str:
    # The stdlib writes NaN and Infinity as bare words, as careless clients do.
    return json.dumps(value, allow_nan=True)


@st.composite
def deep_geometry(draw: st.DrawFn) -> str:
    """Lists nested thousands deep, closed or not."""
    n = draw(BIG)
    key = draw(st.sampled_from(["rings", "paths", "points", "x", "spatialReference"]))
    return f'{{"{key}": ' + "[" * n + "0, 0" + "]" * draw(st.integers(0, n)) + "}"


GEOMETRY_TEXT = st.one_of(
    RANDOM_TEXT,
    deep_geometry(),
    near_geometry().map(_json),
    JSON_ANY.map(_json),
    soup(st.sampled_from(["{", "}", "[", "]", ",", ":", '"x"', '"rings"', "1", "NaN", "-"]), 40),
    st.lists(NUMBERS.map(str), max_size=6).map(",".join),
    st.lists(st.text(max_size=6), max_size=6).map(",".join),
)
WKIDS = st.one_of(
    st.sampled_from(
        ["4326", "3857", "102100", "2263", "32661", "3031", "0", "-1", "²", "\u0663\u0662\u0666"]
    ),
    st.integers().map(str),
    RANDOM_TEXT,
    SPATIAL_REFERENCES.map(_json),
)


@dataclass(frozen=True)
class GeometryRequest:
    """The parameters that make a query geometry."""

    params: dict[str, str]


@st.composite
def geometry_requests(draw: st.DrawFn) -> GeometryRequest:
    params = {"geometry": draw(GEOMETRY_TEXT)}
    if draw(st.booleans()):
        params["geometryType"] = draw(st.one_of(st.sampled_from(GEOMETRY_TYPES), RANDOM_TEXT))
    if draw(st.booleans()):
        params["inSR"] = draw(WKIDS)
    if draw(st.booleans()):
        params["distance"] = draw(
            st.one_of(
                NUMBERS.map(str),
                st.sampled_from(["0", "1e308", "nan", "-inf", "1_000", "\u0661\u0660", "10000000"]),
                RANDOM_TEXT,
            )
        )
        params["units"] = draw(st.one_of(st.sampled_from(sorted(UNITS_M)), RANDOM_TEXT))
    return GeometryRequest(params)


LAYER_SR = {"4326": resolve(4326, "layer"), "3857": resolve(3857, "layer")}


def _geometry(params: dict[str, str]) -> None:
    query = parse_query_geometry(params.get)
    if query is None:
        return
    sr = params.get("inSR") or query.spatial_reference
    in_sr = resolve(sr, "inSR") if sr else None
    for layer_sr in LAYER_SR.values():
        in_layer(query, in_sr, layer_sr)


def check_geometry(request: GeometryRequest) -> None:
    """``geometry`` with its companions, projected to the layer as a query does."""
    timed("geometry", lambda: _geometry(request.params), request.params)


def test_geometry_parser_raises_only_invalid_parameter() -> None:
    run("geometry", geometry_requests(), check_geometry)


# -- strategies: spatial references ------------------------------------------------------------
SR_VALUES = st.one_of(WKIDS, SPATIAL_REFERENCES, st.integers(), RANDOM_TEXT)


def check_spatial_reference(value: Any) -> None:
    """``inSR`` / ``outSR`` / a geometry's ``spatialReference``: text or decoded JSON."""
    timed("spatialReference", lambda: resolve(value, "inSR"), value)


def test_spatial_reference_parser_raises_only_invalid_parameter() -> None:
    run("spatialReference", SR_VALUES, check_spatial_reference)


# -- strategies: the whole query ---------------------------------------------------------------
QUERY_NAMES = [
    "where",
    "objectIds",
    "outFields",
    "orderByFields",
    "groupByFieldsForStatistics",
    "outStatistics",
    "havingClause",
    "returnDistinctValues",
    "resultOffset",
    "resultRecordCount",
    "returnGeometry",
    "returnCountOnly",
    "returnIdsOnly",
    "geometryPrecision",
    "maxAllowableOffset",
    "outSR",
    "spatialRel",
    "sqlFormat",
    "time",
    "text",
]
FIELD_LISTS = soup(
    st.sampled_from([*(str(f["name"]) for f in FIELDS), ",", "*", "DESC", "asc", "x", "'", '"']),
    12,
)
STATISTICS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "statisticType": st.one_of(
                st.sampled_from(["count", "sum", "min", "max", "avg", "stddev", "var"]),
                JSON_SCALARS,
            ),
            "onStatisticField": st.one_of(
                st.sampled_from([str(f["name"]) for f in FIELDS]), JSON_ANY
            ),
            "outStatisticFieldName": st.one_of(
                st.from_regex(r"[A-Za-z_]\w{0,8}", fullmatch=True), JSON_ANY
            ),
        },
    ),
    max_size=4,
).map(_json)
QUERY_VALUES = st.one_of(
    RANDOM_TEXT, FIELD_LISTS, STATISTICS, WHERE_INPUTS, st.integers().map(str), long_numbers()
)


@st.composite
def query_requests(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.sets(st.sampled_from(QUERY_NAMES), max_size=6))
    return {name: draw(QUERY_VALUES) for name in names}


def check_query(params: dict[str, str]) -> None:
    """Every parameter of a layer query together."""
    timed("query", lambda: parse_query(params.get, FIELDS, 1000), params)


def test_query_parameters_raise_only_invalid_parameter() -> None:
    run("query", query_requests(), check_query)
