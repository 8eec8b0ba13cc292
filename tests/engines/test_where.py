"""The ``where`` parser's refusals, and known clauses with the SQL they compile to."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from geosite.data import geopackage
from geosite.engines.query import where
from geosite.engines.query.sql import compile_where
from geosite.engines.query.where import MAX_LENGTH, parse_where
from geosite.errors import InvalidParameter
from tests.engines.test_where_property import COLUMNS, FIELDS, select_ids
from tests.engines.where_reference import assert_only_parameters

NAMES = [str(f["name"]) for f in FIELDS]
EMPTY_ROW: dict[str, Any] = {name: None for name in NAMES}
NOW = 1_614_834_367_123  # 2021-03-04T05:06:07.123Z
DATE_SQL = 'CAST(ROUND((julianday("{}") - 2440587.5) * 86400000) AS INTEGER)'


def refusal(text: str) -> InvalidParameter:
    """The error for a clause that must be refused, checked for the ArcGIS shape."""
    with pytest.raises(InvalidParameter) as caught:
        compile_where(parse_where(text, FIELDS), NOW)
    error = caught.value
    assert error.code == 400
    assert error.messages == ["Unable to complete operation."]
    assert error.details[0] == "'where' parameter is invalid"
    return error


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        # comments
        ("Name = 'x' -- and the rest", "Comments are not allowed."),
        ("Name = 'x' /* hidden */", "Comments are not allowed."),
        ("Pop = 1--1", "Comments are not allowed."),
        # statement separators and other characters outside the grammar
        ("Pop = 1; DROP TABLE t", "Unexpected character ';' at position 8."),
        ("Name = 'x';", "Unexpected character ';' at position 11."),
        ("Pop = 1 % 2", "Unexpected character '%' at position 9."),
        ("Name = 'unterminated", 'Unexpected character "\'" at position 8.'),
        # subqueries
        ("Pop = (SELECT min(Pop) FROM t)", "Subqueries are not supported."),
        ("Pop IN (SELECT Pop FROM t)", "Subqueries are not supported."),
        ("Pop IN (1, (SELECT 2))", "Subqueries are not supported."),
        ("SELECT * FROM t", "Unexpected SELECT at position 1."),
        ("EXISTS (SELECT 1)", "Function 'EXISTS' is not supported."),
        ("Name = 'x' UNION SELECT 1", "Unexpected 'UNION' at position 12."),
        # unknown fields
        ("nope = 1", "Unknown field 'nope' at position 1."),
        ("Pop > 1 AND population < 2", "Unknown field 'population' at position 13."),
        ('"nope" = 1', "Unknown field 'nope' at position 1 (text values go in single quotes)."),
        ("sqlite_master = 1", "Unknown field 'sqlite_master' at position 1."),
        # unknown functions
        ("sqlite_version() = '3'", "Function 'SQLITE_VERSION' is not supported."),
        ("load_extension('evil') IS NULL", "Function 'LOAD_EXTENSION' is not supported."),
        ("RANDOM() > 0", "Function 'RANDOM' is not supported."),
        ("COUNT(Pop) > 1", "Function 'COUNT' is not supported."),
        ("Pop = MAX(rank, 1)", "Function 'MAX' is not supported."),
        ("ABS(Pop, 2) = 1", "Function ABS takes 1 to 1 arguments."),
        ("CAST(Pop AS BLOB) = 1", "Cannot CAST to 'BLOB'."),
        ("EXTRACT(WEEK FROM Updated) = 1", "Cannot EXTRACT 'WEEK'."),
        ("TRUNCATE(Area_km2, rank) = 1", "TRUNCATE takes a whole number of digits"),
        # (the digits are written twice: nested there, 400 bytes of text made 2^30 of SQL)
        ("Pop = " + "TRUNCATE(5, " * 30 + "1" + ")" * 30, "TRUNCATE takes a whole number"),
        # double-quoted strings used as values
        (
            'Name = "Main St"',
            "Unexpected double quote at position 8: double quotes are only for field names; "
            "put text values in single quotes ('like this').",
        ),
        ('Name = "Main"', "Unknown field 'Main' at position 8 (text values go in single quotes)."),
        ('Name LIKE "%a%"', "Unexpected double quote at position 11"),
        # other malformed clauses
        ("Name =", "Unexpected 'end of text' at position 7."),
        ("Pop = 1 Pop", "Unexpected 'Pop' at position 9."),
        ("Pop", "Expected a comparison at position 4."),
        ("Name LIKE 'a' ESCAPE 'ab'", "ESCAPE takes a single character in quotes."),
        ("Pop BETWEEN 1 OR 2", "Expected AND at position 15."),
        ("Updated > DATE '2021-13-01'", "Invalid date literal '2021-13-01'."),
        ("Updated > TIMESTAMP 'yesterday'", "Invalid timestamp literal 'yesterday'."),
    ],
)
def test_refusals_say_what_is_wrong(text: str, message: str) -> None:
    assert refusal(text).details[1].startswith(message)


def test_too_long() -> None:
    clause = " OR ".join(["Pop = 1"] * (MAX_LENGTH // 11 + 1))
    assert len(clause) > MAX_LENGTH
    assert refusal(clause).details[1] == "The where clause is too long."
    # The limit is on the text, whatever it holds.
    assert refusal("Pop = 1" + " " * MAX_LENGTH).details[1] == "The where clause is too long."


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100 + "Pop = 1" + ")" * 100,
        "Pop = " + "(" * 100 + "1" + ")" * 100,
        "NOT " * 100 + "Pop = 1",
        "Pop = " + "- " * 100 + "1",
        "Pop = " + "ABS(" * 100 + "1" + ")" * 100,
        "Pop = " + "1 + " * 100 + "1",
        "Name = " + "'a' || " * 100 + "'a'",
        "(Pop = 1 OR " * 40 + "Pop = 1" + ")" * 40,
    ],
)
def test_excessive_nesting(text: str) -> None:
    assert refusal(text).details[1] == "The where clause is nested too deeply."


# Shapes of nesting: each at every depth must run in SQLite or be refused (never a 500 from a
# parser stack overflow, an expression tree too large, or a Python RecursionError).
NESTINGS = {
    "not": lambda n: "NOT " * n + "Pop = 1",
    "negate": lambda n: "Pop = " + "- " * n + "1",
    "parenthesised condition": lambda n: "(" * n + "Pop = 1" + ")" * n,
    "parenthesised value": lambda n: "Pop = " + "(" * n + "1" + ")" * n,
    "function": lambda n: "Pop = " + "ABS(" * n + "1" + ")" * n,
    "coalesce": lambda n: "Pop = " + "COALESCE(1, " * n + "1" + ")" * n,
    "substring": lambda n: "Name = " + "SUBSTRING(Name FROM 1 FOR " * n + "2" + ")" * n,
    "extract": lambda n: "Pop = " + "EXTRACT(YEAR FROM " * n + "Updated" + ")" * n,
    "truncate": lambda n: "Pop = " + "TRUNCATE(" * n + "Pop" + ", 2)" * n,
    "right arithmetic": lambda n: "Pop = " + "1 + (" * n + "1" + ")" * n,
    "left arithmetic": lambda n: "Pop = 1" + " * 2" * n,
    "concatenation": lambda n: "Name = 'a'" + " || 'a'" * n,
    "right OR": lambda n: "(Pop = 1 OR " * n + "Pop = 1" + ")" * n,
    "AND of OR": lambda n: "(Pop = 1 AND (Pop = 2 OR " * n + "Pop = 1" + "))" * n,
    "IN of arithmetic": lambda n: "Pop IN (1, " + "(1 + " * n + "1" + ")" * n + ")",
    "long OR then coalesce": lambda n: (
        " OR ".join(["Pop = 1"] * 500) + " OR Pop = " + "COALESCE(1, " * n + "1" + ")" * n
    ),
}


@pytest.mark.parametrize("shape", NESTINGS)
def test_every_nesting_runs_or_is_refused(shape: str) -> None:
    accepted = refused = 0
    for depth in range(1, 70):
        text = NESTINGS[shape](depth)
        try:
            compiled = compile_where(parse_where(text, FIELDS), NOW)
        except InvalidParameter as error:
            assert error.details[1] == "The where clause is nested too deeply."
            refused += 1
            if refused == 5:
                break
            continue
        accepted = depth
        select_ids([], compiled.sql, compiled.params)
    assert accepted >= 3  # (EXTRACT alone opens three parentheses per level)


def test_long_and_or_chains_are_accepted() -> None:
    """Clients send long OR lists; they parse into a balanced tree, so SQLite takes them."""
    rows = [{**EMPTY_ROW, "id": 1, "Pop": 7}, {**EMPTY_ROW, "id": 2, "Pop": 7000}]
    for joiner, ids in ((" OR ", {1}), (" and ", set())):
        text = joiner.join(f"Pop = {n}" for n in range(1000))
        assert len(text) < MAX_LENGTH
        compiled = compile_where(parse_where(text, FIELDS), NOW)
        assert compiled.params == list(range(1000))
        assert select_ids(rows, compiled.sql, compiled.params) == ids


def test_long_sums_are_accepted() -> None:
    """A sum of many fields (census bands, say) compiles flat, not as nested parentheses."""
    text = " + ".join(["Pop"] * 40) + " > 0"
    compiled = compile_where(parse_where(text, FIELDS), NOW)
    assert compiled.sql == "((" + " + ".join(['"Pop"'] * 40) + ") > ?)"
    assert select_ids([{**EMPTY_ROW, "id": 1, "Pop": 1}], compiled.sql, compiled.params) == {1}


def test_too_many_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # At two characters a value ('1,'), MAX_LENGTH allows ~8,000 values, below MAX_LITERALS
    # and below SQLite's 32,766 parameters; the limit is checked with a smaller bound.
    monkeypatch.setattr(where, "MAX_LITERALS", 5)
    assert (
        refusal("Pop IN (1, 2, 3, 4, 5, 6)").details[1] == "The where clause has too many values."
    )
    assert parse_where("Pop IN (1, 2, 3, 4, 5)", FIELDS) is not None


def test_the_most_values_that_fit_run_in_sqlite() -> None:
    count = (MAX_LENGTH - len("Pop IN ()")) // 2
    text = "Pop IN (" + ",".join(["1"] * count) + ")"
    compiled = compile_where(parse_where(text, FIELDS), NOW)
    assert len(compiled.params) == count
    assert select_ids([{**EMPTY_ROW, "id": 1, "Pop": 1}], compiled.sql, compiled.params) == {1}


def test_huge_numbers_are_values_not_errors() -> None:
    for digits in (20, 400, 5000):  # beyond int64, and beyond Python's int-parsing limit
        compiled = compile_where(parse_where("Pop < " + "9" * digits, FIELDS), NOW)
        assert compiled.sql == '("Pop" < ?)'
        assert isinstance(compiled.params[0], float)
        assert select_ids([{**EMPTY_ROW, "id": 1, "Pop": 5}], compiled.sql, compiled.params) == {1}


# -- known clauses -------------------------------------------------------------------------------
KNOWN: list[tuple[str, str, list[Any]]] = [
    ("Pop > 1000", '("Pop" > ?)', [1000]),
    ("pop>=-5", '("Pop" >= (-?))', [5]),
    ('"POP" != 3', '("Pop" <> ?)', [3]),
    ("Name = 'O''Brien'", '("Name" = ?)', ["O'Brien"]),
    ("Name = 'x'' OR ''1''=''1'", '("Name" = ?)', ["x' OR '1'='1"]),
    ("Name = '; DROP TABLE t; --'", '("Name" = ?)', ["; DROP TABLE t; --"]),
    ("Name = '\"quoted\" /* not a comment */'", '("Name" = ?)', ['"quoted" /* not a comment */']),
    ("Name LIKE '%ünch%'", '("Name" LIKE ?)', ["%ünch%"]),
    (
        "Name NOT LIKE '%\\_%' ESCAPE '\\'",
        '("Name" NOT LIKE ? ESCAPE ?)',
        ["%\\_%", "\\"],
    ),
    (
        "UPPER(code) LIKE UPPER('a%') ESCAPE '!'",
        '(upper("code") LIKE upper(?) ESCAPE ?)',
        ["a%", "!"],
    ),
    ("Pop IN (1, 2, NULL)", '("Pop" IN (?, ?, NULL))', [1, 2]),
    (
        "SUBSTRING(Name FROM 2 FOR 3) NOT IN ('bc', 'de')",
        '(substr("Name", ?, ?) NOT IN (?, ?))',
        [2, 3, "bc", "de"],
    ),
    ("Pop BETWEEN -5 AND 2.5", '("Pop" BETWEEN (-?) AND ?)', [5, 2.5]),
    ("Pop NOT BETWEEN 1 AND 2", '("Pop" NOT BETWEEN ? AND ?)', [1, 2]),
    ("code IS NOT NULL", '("code" IS NOT NULL)', []),
    ("Name is null", '("Name" IS NULL)', []),
    (
        "Pop = 1 AND (rank = 2 OR NOT rank = 3)",
        '(("Pop" = ?) AND (("rank" = ?) OR (NOT ("rank" = ?))))',
        [1, 2, 3],
    ),
    ("Pop + rank * 2 - 1 > 0", '(("Pop" + ("rank" * ?) - ?) > ?)', [2, 1, 0]),
    ("Pop / 2.0 < Area_km2", '(("Pop" / ?) < "Area_km2")', [2.0]),
    ("Name || code = 'ab'", '(("Name" || "code") = ?)', ["ab"]),
    ("CHAR_LENGTH(TRIM(Name)) = 3", '(length(trim("Name")) = ?)', [3]),
    ("LOWER(Name) = 'münchen'", '(lower("Name") = ?)', ["münchen"]),
    ("POSITION('a' IN 'banana') = 2", "(instr(?, ?) = ?)", ["banana", "a", 2]),
    (
        "TRUNCATE(Area_km2, 2) > 1",
        '((trunc("Area_km2" * power(10, ?)) / power(10, ?)) > ?)',
        [2, 2, 1],
    ),
    ("ROUND(Area_km2, 1) = 2.5", '(round("Area_km2", ?) = ?)', [1, 2.5]),
    ("COALESCE(Pop) = 1", '(coalesce("Pop", NULL) = ?)', [1]),
    ("CAST(Pop AS VARCHAR) = '12'", '(CAST("Pop" AS TEXT) = ?)', ["12"]),
    ("Pop < 99999999999999999999", '("Pop" < ?)', [1e20]),
    ("Updated >= DATE '2021-03-04'", f"({DATE_SQL.format('Updated')} >= ?)", [1614816000000]),
    (
        "Updated < TIMESTAMP '2021-03-04 06:06:07.123+01:00'",
        f"({DATE_SQL.format('Updated')} < ?)",
        [1614834367123],
    ),
    (
        "opened BETWEEN date '2021-01-01' AND CURRENT_DATE",
        f"({DATE_SQL.format('opened')} BETWEEN ? AND ?)",
        [1609459200000, 1614816000000],
    ),
    ("Updated > CURRENT_TIMESTAMP()", f"({DATE_SQL.format('Updated')} > ?)", [NOW]),
    (
        "EXTRACT(YEAR FROM TIMESTAMP '2021-03-04 05:06:07') = 2021",
        "(CAST(strftime(?, (?) / 1000.0, 'unixepoch') AS INTEGER) = ?)",
        ["%Y", 1614834367000, 2021],
    ),
    ("1=1", "1", []),
    ("1 = 1 AND Pop = 2", '((? = ?) AND ("Pop" = ?))', [1, 1, 2]),
]


@pytest.mark.parametrize(("text", "sql", "params"), KNOWN)
def test_known_clauses_compile_to_parameters(text: str, sql: str, params: list[Any]) -> None:
    compiled = compile_where(parse_where(text, FIELDS), NOW)
    assert compiled.sql == sql
    assert compiled.params == params
    assert compiled.sql.count("?") == len(compiled.params)
    assert_only_parameters(compiled.sql, NAMES)
    select_ids([{**EMPTY_ROW, "id": 1}], compiled.sql, compiled.params)  # SQLite takes it


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Name = 'O''Brien'", {1}),
        ("Name = 'x'' OR ''1''=''1'", set()),
        ("Name LIKE 'o%'", set()),  # LIKE is case-sensitive
        ("Name LIKE '%''%'", {1}),
        ("code LIKE '100!%' ESCAPE '!'", {2}),
        ("code LIKE '100%'", {2, 3}),
        ("code LIKE '_0_%'", {2, 3}),
        ("code NOT LIKE '%\\_%' ESCAPE '\\'", {1, 2}),
        ("SUBSTRING(code FROM 4 FOR 1) IN ('%', '_')", {2, 3}),
        ("Pop IN (1, NULL)", {1}),
        ("NOT Pop IN (1, NULL)", set()),  # unknown for every row but 1, where it is false
        ("Pop NOT IN (1)", {2}),
        ("Pop IS NULL", {3}),
        ("NOT (Pop > 1)", {1}),  # row 3 (NULL) is unknown, so not selected
        ("Pop > 1 OR Pop IS NULL", {2, 3}),
        ("Updated = TIMESTAMP '2021-03-04 05:06:07.123'", {1}),
        ("Updated > DATE '2021-03-04'", {1}),
        ("EXTRACT(YEAR FROM Updated) = 2021 AND EXTRACT(SECOND FROM Updated) = 7", {1}),
        ("POSITION('Br' IN Name) = 3", {1}),
        ("Pop * 2 + 1 = 5", {2}),
        ("-Pop < -1", {2}),
    ],
)
def test_known_clauses_select(text: str, ids: set[int]) -> None:
    rows = [
        {**EMPTY_ROW, "id": 1, "Pop": 1, "Name": "O'Brien", "code": "abc",
         "Updated": "2021-03-04T05:06:07.123Z"},
        {**EMPTY_ROW, "id": 2, "Pop": 2, "Name": "x", "code": "100%"},
        {**EMPTY_ROW, "id": 3, "code": "100_"},
    ]  # fmt: skip
    compiled = compile_where(parse_where(text, FIELDS), NOW)
    assert select_ids(rows, compiled.sql, compiled.params) == ids


def test_no_where_means_every_row() -> None:
    for text in (None, "", "   ", "1=1", " 1 = 1 "):
        assert parse_where(text, FIELDS) is None
    assert compile_where(None, NOW).sql == "1"


# -- known limitation -------------------------------------------------------------------------
def test_upper_and_lower_fold_non_ascii_letters(tmp_path: Path) -> None:
    path = tmp_path / "layer.gpkg"
    with sqlite3.connect(path) as conn:
        columns = ", ".join(f'"{f["name"]}" {kind}' for f, kind in COLUMNS)
        conn.execute(f"CREATE TABLE t ({columns})")
        conn.execute('INSERT INTO t (id, "Name") VALUES (1, ?)', ["München"])
    conn.close()
    compiled = compile_where(
        parse_where("UPPER(Name) = 'MÜNCHEN' AND LOWER(Name) = 'münchen'", FIELDS), NOW
    )
    query = f"SELECT id FROM t WHERE {compiled.sql}"
    try:
        with geopackage.reading(str(path)) as reader:
            found = reader.execute(query, compiled.params).fetchall()
    finally:
        geopackage.release(str(path))
    assert found == [(1,)]
