"""The SQL dialects the ``where`` compiler writes: SQLite (GeoPackage) and PostgreSQL (PostGIS).

One parser, one tree (``geosite.engines.query.where``), one compiler
(``geosite.engines.query.sql``); a dialect says only what differs between the two engines, so
that the same tree gives the same rows on both:

- the parameter placeholder (``?`` for sqlite3, ``%s`` for psycopg);
- how a date field is read as epoch milliseconds (GeoPackage keeps ISO text, PostGIS a
  ``timestamptz``);
- the spelling of functions, and the casts PostgreSQL needs where SQLite converts by itself:
  text functions and ``||`` take their operands as text, ``ROUND(x, n)`` and ``MOD`` work in
  ``numeric`` and answer a double, as SQLite answers a REAL; a division or ``MOD`` by zero
  and the logarithm of zero or less are NULL, as in SQLite, not an error; a CAST to an integer
  truncates toward zero, as SQLite's does (PostgreSQL's rounds);
- ``LIKE``: case-sensitive on both (GeoPackage connections turn ``case_sensitive_like`` on);
  PostgreSQL escapes with a backslash unless told otherwise, so it is told ``ESCAPE ''``;
- literals: PostgreSQL types each parameter (``CAST(%s AS text)``, ``bigint``, ``double
  precision``), where SQLite needs no type; and since an untyped NULL is ambiguous to
  PostgreSQL's operators and functions, the tree's NULLs are folded first (a strict
  operation on a NULL literal is NULL; ``COALESCE`` drops NULL arguments).

Every literal is still a bound parameter, on both.
"""

from __future__ import annotations

from collections.abc import Callable


def quote(name: str) -> str:
    """A double-quoted identifier (the same in both dialects)."""
    return '"' + name.replace('"', '""') + '"'


class Dialect:
    """SQLite, the default: what the compiler wrote before there were dialects."""

    name = "sqlite"
    placeholder = "?"
    like = "LIKE"
    #: What follows a LIKE pattern sent without ESCAPE.
    like_default_escape = ""
    #: Whether the tree's NULL literals are folded before compiling (``sql.fold_nulls``).
    fold_nulls = False
    aggregates = {
        "COUNT": "count",
        "SUM": "sum",
        "MIN": "min",
        "MAX": "max",
        "AVG": "avg",
        "STDDEV": "geosite_stddev",
        "VAR": "geosite_var",
    }
    functions = {
        "ABS": "abs",
        "CEILING": "ceil",
        "FLOOR": "floor",
        "ROUND": "round",
        "LOG": "ln",
        "LOG10": "log10",
        "POWER": "power",
        "MOD": "mod",
        "CHAR_LENGTH": "length",
        "LOWER": "lower",
        "UPPER": "upper",
        "NULLIF": "nullif",
        "COALESCE": "coalesce",
        "TRIM": "trim",
    }
    casts = {
        "INTEGER": "INTEGER",
        "INT": "INTEGER",
        "SMALLINT": "INTEGER",
        "FLOAT": "REAL",
        "REAL": "REAL",
        "DOUBLE": "REAL",
        "VARCHAR": "TEXT",
        "CHAR": "TEXT",
    }
    #: Functions whose arguments are read as text.
    text_functions: frozenset[str] = frozenset()

    def literal(self, placeholder: str, value: object) -> str:
        """A bound literal (SQLite types it by its value)."""
        return placeholder

    def date_field(self, column: str) -> str:
        """A date column (already quoted) as epoch milliseconds."""
        return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"

    def text(self, sql: str) -> str:
        """An operand of a text operation (SQLite converts by itself)."""
        return sql

    def call(self, name: str, args: list[str]) -> str:
        """One of :attr:`functions` applied to compiled arguments."""
        if name == "COALESCE" and len(args) == 1:
            args = [*args, "NULL"]  # SQLite's coalesce() wants at least two arguments
        return f"{self.functions[name]}({', '.join(args)})"

    def position(self, needle: str, haystack: str) -> str:
        """POSITION(needle IN haystack), 1-based, 0 when absent."""
        return f"instr({haystack}, {needle})"

    def extract(self, part: str, part_format: Callable[[], str], moment: Callable[[], str]) -> str:
        """EXTRACT(part FROM an epoch-milliseconds value). The callables compile (and bind)
        the strftime format SQLite needs and the value, in the order the SQL reads them."""
        fmt = part_format()
        return f"CAST(strftime({fmt}, ({moment()}) / 1000.0, 'unixepoch') AS INTEGER)"

    def truncate(self, value: str, digits: str | None, again: Callable[[], str]) -> str:
        """TRUNCATE(value[, digits]); ``again`` binds the digits a second time."""
        if digits is None:
            return f"trunc({value})"
        return f"(trunc({value} * power(10, {digits})) / power(10, {again()}))"

    def substring(self, args: list[str]) -> str:
        """SUBSTRING(text, start[, length])."""
        return f"substr({', '.join(args)})"

    def cast(self, value: str, kind: str) -> str:
        """CAST(value AS kind), ``kind`` one of :attr:`casts`."""
        return f"CAST({value} AS {self.casts[kind]})"

    def divisor(self, value: str) -> str:
        """The right operand of ``/`` (SQLite's division by zero is NULL by itself)."""
        return value


class PostgresDialect(Dialect):
    """PostgreSQL (PostGIS feature sources, the PostgreSQL stores)."""

    name = "postgresql"
    placeholder = "%s"
    like_default_escape = " ESCAPE ''"
    fold_nulls = True
    aggregates = {**Dialect.aggregates, "STDDEV": "stddev_samp", "VAR": "var_samp"}
    functions = {**Dialect.functions, "CHAR_LENGTH": "char_length"}
    casts = {
        "INTEGER": "bigint",
        "INT": "bigint",
        "SMALLINT": "bigint",
        "FLOAT": "double precision",
        "REAL": "double precision",
        "DOUBLE": "double precision",
        "VARCHAR": "text",
        "CHAR": "text",
    }
    text_functions = frozenset({"CHAR_LENGTH", "LOWER", "UPPER", "TRIM"})

    def literal(self, placeholder: str, value: object) -> str:
        """A bound literal with its type, which PostgreSQL cannot always infer."""
        if isinstance(value, str):
            return f"CAST({placeholder} AS text)"
        if isinstance(value, bool | int) and -(2**63) <= int(value) < 2**63:
            return f"CAST({placeholder} AS bigint)"
        if isinstance(value, int):
            return f"CAST({placeholder} AS numeric)"
        return f"CAST({placeholder} AS double precision)"

    def date_field(self, column: str) -> str:
        """A ``timestamptz`` column as epoch milliseconds."""
        return f"CAST(round(extract(epoch FROM {column}) * 1000) AS bigint)"

    def text(self, sql: str) -> str:
        """PostgreSQL's text operations want text: cast."""
        return f"CAST({sql} AS text)"

    def call(self, name: str, args: list[str]) -> str:
        """With the casts PostgreSQL needs for SQLite's answers."""
        if name in self.text_functions:
            args = [self.text(a) for a in args]
        if name == "ROUND" and len(args) == 2:
            digits = f"CAST({args[1]} AS integer)"
            return f"CAST(round(CAST({args[0]} AS numeric), {digits}) AS double precision)"
        if name == "MOD":
            left, right = (f"CAST({a} AS numeric)" for a in args)
            # SQLite's MOD by zero is NULL; PostgreSQL's an error.
            return f"CAST(mod({left}, nullif({right}, 0)) AS double precision)"
        if name in ("LOG", "LOG10"):
            # SQLite's logarithm of zero or less is NULL; PostgreSQL's an error.
            inside = f"nullif(greatest(CAST({args[0]} AS double precision), 0), 0)"
            return f"{self.functions[name]}({inside})"
        if name in ("POWER", "CEILING", "FLOOR", "ROUND"):
            args = [f"CAST({a} AS double precision)" for a in args]
        return f"{self.functions[name]}({', '.join(args)})"

    def position(self, needle: str, haystack: str) -> str:
        """``strpos`` over text."""
        return f"strpos({self.text(haystack)}, {self.text(needle)})"

    def extract(self, part: str, part_format: Callable[[], str], moment: Callable[[], str]) -> str:
        """EXTRACT from the UTC time of the epoch milliseconds."""
        at = f"to_timestamp(({moment()}) / 1000.0) AT TIME ZONE 'utc'"
        return f"CAST(floor(extract({part} FROM {at})) AS bigint)"

    def truncate(self, value: str, digits: str | None, again: Callable[[], str]) -> str:
        """``trunc`` in ``numeric``, answered as a double."""
        if digits is None:
            return f"trunc(CAST({value} AS double precision))"
        scaled = f"CAST({value} AS numeric)"
        return f"CAST(trunc({scaled}, CAST({digits} AS integer)) AS double precision)"

    def divisor(self, value: str) -> str:
        """NULL for zero: a division by zero is NULL, as in SQLite, not an error."""
        return f"nullif({value}, 0)"

    def cast(self, value: str, kind: str) -> str:
        """To an integer toward zero, as SQLite casts (PostgreSQL would round): through
        ``numeric``, exact for every bigint and for text such as '12.7'."""
        if self.casts[kind] == "bigint":
            return f"CAST(trunc(CAST({value} AS numeric)) AS bigint)"
        return super().cast(value, kind)

    def substring(self, args: list[str]) -> str:
        """SUBSTRING(text FROM start [FOR length])."""
        text, start, *length = args
        count = f" FOR CAST({length[0]} AS integer)" if length else ""
        return f"substring({self.text(text)} FROM CAST({start} AS integer){count})"


SQLITE = Dialect()
POSTGRESQL = PostgresDialect()
#: The dialect of each feature source's ``dialect`` name.
DIALECTS = {SQLITE.name: SQLITE, POSTGRESQL.name: POSTGRESQL}
