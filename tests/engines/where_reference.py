"""A reference evaluator for ``where`` trees, in plain Python, with SQL's three-valued logic.

``evaluate(node, row)`` answers True, False or None (unknown) for a condition, and a value for
an expression. It is the oracle of ``test_where_property``: the SQL that
``geosite.engines.query.sql`` compiles must select exactly the rows for which this returns True.

``row`` maps each field's canonical name to the value as a GeoPackage stores it: numbers,
text, None, and dates as ISO-8601 text the way GDAL writes them
(``2021-03-04T05:06:07.000Z``, ``2021-03-04``, or with a ``+hh:mm`` offset). Date values are
epoch milliseconds (UTC), as ArcGIS clients see them.

Where SQL itself leaves a result undefined or the SQLite backend has a peculiarity rather than
a meaning (integer division, mixed-type comparison, numbers concatenated as text, division by
zero, the logarithm of a non-positive number, integer overflow, ...), the evaluator raises
``Undefined`` instead of imitating SQLite; the property test keeps its generator inside
type-correct expressions, where these never happen, and discards the rare example that
reaches one anyway (e.g. through overflow).

UPPER and LOWER fold every letter (``geosite.data.geopackage.fold_case``: a letter never
becomes two, so 'ß' stays), as the functions a layer's connection registers do.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from geosite.data.geopackage import fold_case
from geosite.engines.query.where import (
    Arithmetic,
    Between,
    Compare,
    Field,
    Function,
    In,
    IsNull,
    Like,
    Literal,
    Logical,
    Negate,
    Node,
    Not,
)

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MS = datetime.timedelta(milliseconds=1)
INT64 = (-(2**63), 2**63 - 1)
DAY_MS = 86_400_000


class Undefined(Exception):
    """The expression has no defined SQL meaning (or only a backend-specific one)."""


# -- values ------------------------------------------------------------------------------------
def date_ms(stored: str) -> int:
    """Epoch milliseconds of a date as GDAL stores it (naive means UTC)."""
    moment = datetime.datetime.fromisoformat(stored)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - EPOCH) // MS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_kind(a: Any, b: Any) -> None:
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return
    # SQLite orders numbers before text and never converts; standard SQL refuses.
    raise Undefined(f"comparison of {type(a).__name__} with {type(b).__name__}")


def _checked(value: Any) -> Any:
    """Refuse results that SQLite would represent differently (overflow, inf, NaN)."""
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise Undefined("integer overflow")  # SQLite silently switches to REAL
    if isinstance(value, float) and not math.isfinite(value):
        raise Undefined("non-finite number")  # SQLite turns NaN into NULL
    return value


def _number(value: Any) -> int | float:
    if not _is_number(value):
        raise Undefined(f"{value!r} is not a number")
    return value  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Undefined(f"{value!r} is not text")
    return value


# -- three-valued logic ------------------------------------------------------------------------
def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    _same_kind(a, b)
    # Text compares by code point, which is the byte order of UTF-8 (SQLite's BINARY).
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise AssertionError(op)


def like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    """A regular expression equivalent to a case-sensitive SQL LIKE pattern."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape:
            if index + 1 == len(pattern):
                # Standard SQL refuses a pattern ending in its escape; SQLite matches nothing.
                raise Undefined("LIKE pattern ends with the escape character")
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


def _like(value: Any, pattern: Any, escape: str | None) -> bool | None:
    if value is None or pattern is None:
        return None
    return like_regex(_text(pattern), escape).fullmatch(_text(value)) is not None


def _in(value: Any, items: list[Any]) -> bool | None:
    if value is None:
        return None
    unknown = False
    for item in items:
        verdict = _compare("=", value, item)
        if verdict:
            return True
        unknown = unknown or verdict is None
    return None if unknown else False


# -- arithmetic --------------------------------------------------------------------------------
def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if op == "||":
        # SQLite would also concatenate numbers as text (in its own number format).
        return _text(a) + _text(b)
    x, y = _number(a), _number(b)
    if op == "+":
        return _checked(x + y)
    if op == "-":
        return _checked(x - y)
    if op == "*":
        return _checked(x * y)
    if op == "/":
        if y == 0:
            raise Undefined("division by zero")  # SQLite: NULL; standard SQL: an error
        if isinstance(x, int) and isinstance(y, int):
            raise Undefined("integer division")  # truncating in SQLite, exact in others
        return _checked(x / y)
    raise AssertionError(op)


def _upper(text: str) -> str:
    return fold_case(text, upper=True)


def _lower(text: str) -> str:
    return fold_case(text, upper=False)


def _half_away(value: float) -> float:
    # ROUND(x): half away from zero (SQL Server, PostgreSQL numeric, SQLite), in the same
    # floating-point operations SQLite uses.
    return math.copysign(float(math.floor(abs(value) + 0.5)), value)


def _decimals(value: int | float, digits: Any, rounding: str) -> float:
    # ROUND(x, n) / TRUNCATE(x, n) on the decimal value of x. Not generated by the property
    # test: SQLite's round(x, n) goes through its printf (round(2.675, 2) = 2.68) and TRUNCATE
    # is compiled as trunc(x * 10^n) / 10^n in binary floating point (0.29 -> 0.28).
    quantum = Decimal(1).scaleb(-int(_number(digits)))
    return float(Decimal(repr(value)).quantize(quantum, rounding=rounding))


def _function(node: Function, args: list[Any], now_ms: int) -> Any:
    name = node.name
    if name == "CURRENT_TIMESTAMP":
        return now_ms
    if name == "CURRENT_DATE":
        return now_ms - now_ms % DAY_MS
    if name == "COALESCE":
        return next((a for a in args if a is not None), None)
    if name == "NULLIF":
        a, b = args
        if a is None or b is None:
            return a
        return None if _compare("=", a, b) else a
    if any(a is None for a in args):
        return None  # every other function is NULL on a NULL argument
    if name == "ABS":
        return _checked(abs(_number(args[0])))
    if name in ("CEILING", "FLOOR", "TRUNCATE", "ROUND"):
        x = _number(args[0])
        if len(args) == 2 and _number(args[1]) != 0:
            return _decimals(x, args[1], ROUND_DOWN if name == "TRUNCATE" else ROUND_HALF_UP)
        if name == "ROUND":
            return _half_away(float(x))
        if isinstance(x, int):
            return x if len(args) == 1 else float(x)
        step = {"CEILING": math.ceil, "FLOOR": math.floor, "TRUNCATE": math.trunc}[name]
        return float(step(x))
    if name in ("LOG", "LOG10"):
        x = _number(args[0])
        if x <= 0:
            raise Undefined("logarithm of a non-positive number")  # SQLite: NULL
        return math.log(x) if name == "LOG" else math.log10(x)
    if name == "POWER":
        try:
            return _checked(math.pow(_number(args[0]), _number(args[1])))
        except (ValueError, OverflowError):
            raise Undefined("POWER out of domain") from None
    if name == "MOD":
        x, y = _number(args[0]), _number(args[1])
        if y == 0:
            raise Undefined("MOD by zero")  # SQLite: NULL
        return math.fmod(x, y)  # sign of the dividend, as in SQL
    if name == "CHAR_LENGTH":
        return len(_text(args[0]))  # code points, as SQLite's length() on text
    if name == "UPPER":
        return _upper(_text(args[0]))
    if name == "LOWER":
        return _lower(_text(args[0]))
    if name == "TRIM":
        return _text(args[0]).strip(" ")
    if name == "CONCAT":
        # Compiled as ||, so NULL-propagating (SQL Server's and PostgreSQL's CONCAT skip NULLs).
        return _text(args[0]) + _text(args[1])
    if name == "POSITION":
        return _text(args[1]).find(_text(args[0])) + 1
    if name == "SUBSTRING":
        text, start = _text(args[0]), _number(args[1])
        length = _number(args[2]) if len(args) == 3 else len(text)
        if not (isinstance(start, int) and isinstance(length, int)) or start < 1 or length < 0:
            # SQLite's substr() counts negative starts from the end; SQL does not.
            raise Undefined("SUBSTRING outside 1-based, non-negative bounds")
        return text[start - 1 : start - 1 + length]
    if name == "CAST":
        return _cast(args[0], node.option)
    if name == "EXTRACT":
        moment = EPOCH + int(_number(args[0])) * MS
        # SECOND is the whole second (strftime('%S')), without the fraction.
        return getattr(moment, node.option.lower())
    raise Undefined(f"function {name}")


def _cast(value: Any, kind: str) -> Any:
    if kind in ("INTEGER", "INT", "SMALLINT"):
        return _checked(math.trunc(_number(value)))  # toward zero
    if kind in ("FLOAT", "REAL", "DOUBLE"):
        return float(_number(value))
    if isinstance(value, int):
        return str(value)
    # Text of a REAL is SQLite's own format ('1.0e+20'); text stays text.
    return _text(value)


# -- the evaluator -----------------------------------------------------------------------------
def evaluate(node: Node | None, row: Mapping[str, Any], *, now_ms: int = 0) -> Any:
    """The value of ``node`` for ``row``: True/False/None for a condition (None = unknown).

    ``None`` as the node (the parser's "every row") is True.
    """
    if node is None:
        return True
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Field):
        value = row[node.name]
        if node.type == "esriFieldTypeDate" and value is not None:
            return date_ms(value)
        return value
    if isinstance(node, Negate):
        value = evaluate(node.operand, row, now_ms=now_ms)
        return None if value is None else _checked(-_number(value))
    if isinstance(node, Arithmetic):
        left = evaluate(node.left, row, now_ms=now_ms)
        right = evaluate(node.right, row, now_ms=now_ms)
        return _arithmetic(node.op, left, right)
    if isinstance(node, Function):
        args = [evaluate(a, row, now_ms=now_ms) for a in node.args]
        return _function(node, args, now_ms)
    if isinstance(node, Compare):
        left = evaluate(node.left, row, now_ms=now_ms)
        return _compare(node.op, left, evaluate(node.right, row, now_ms=now_ms))
    if isinstance(node, Like):
        value = evaluate(node.value, row, now_ms=now_ms)
        verdict = _like(value, evaluate(node.pattern, row, now_ms=now_ms), node.escape)
        return _not(verdict) if node.negated else verdict
    if isinstance(node, In):
        value = evaluate(node.value, row, now_ms=now_ms)
        verdict = _in(value, [evaluate(i, row, now_ms=now_ms) for i in node.items])
        return _not(verdict) if node.negated else verdict
    if isinstance(node, Between):
        value = evaluate(node.value, row, now_ms=now_ms)
        low = evaluate(node.low, row, now_ms=now_ms)
        high = evaluate(node.high, row, now_ms=now_ms)
        verdict = _and(_compare(">=", value, low), _compare("<=", value, high))
        return _not(verdict) if node.negated else verdict
    if isinstance(node, IsNull):
        missing = evaluate(node.value, row, now_ms=now_ms) is None
        return not missing if node.negated else missing
    if isinstance(node, Logical):
        left = evaluate(node.left, row, now_ms=now_ms)
        right = evaluate(node.right, row, now_ms=now_ms)
        return _and(left, right) if node.op == "AND" else _or(left, right)
    if isinstance(node, Not):
        return _not(evaluate(node.operand, row, now_ms=now_ms))
    raise TypeError(f"unknown node {type(node).__name__}")


def selects(node: Node | None, row: Mapping[str, Any], *, now_ms: int = 0) -> bool:
    """Whether a WHERE with this condition keeps ``row`` (only True does)."""
    return evaluate(node, row, now_ms=now_ms) is True


# -- SQL hygiene -------------------------------------------------------------------------------
_SQL_TOKEN = re.compile(
    r"""\s+|"(?:[^"]|"")*"|'[a-z]*'|\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|<>|<=|>=|\|\||[-+*/=<>(),?]"""
)
# What the compiler writes itself: keywords, function names and its own constants ("1" for
# every row, the epoch's julian day, ms per day, 10 for TRUNCATE, 'unixepoch' for EXTRACT).
SQL_WORDS = {
    "AND", "OR", "NOT", "LIKE", "ESCAPE", "IN", "BETWEEN", "IS", "NULL", "CAST", "AS",
    "INTEGER", "REAL", "TEXT", "ROUND", "julianday", "abs", "ceil", "floor", "round", "ln",
    "log10", "power", "mod", "length", "lower", "upper", "nullif", "coalesce", "trim",
    "trunc", "instr", "substr", "strftime",
}  # fmt: skip
SQL_CONSTANTS = {"1", "2440587.5", "86400000", "10", "1000.0", "'unixepoch'"}
# What the PostgreSQL dialect writes besides (geosite.engines.query.dialects).
POSTGRESQL_WORDS = {
    "true", "ILIKE", "bigint", "double", "precision", "numeric", "text", "char_length",
    "strpos", "substring", "FROM", "FOR", "integer", "stddev_samp", "var_samp", "extract", "epoch",
    "to_timestamp", "AT", "TIME", "ZONE", "'utc'", "''", "1000", "YEAR", "MONTH", "DAY", "HOUR",
    "MINUTE", "SECOND", "greatest", "0",
}  # fmt: skip


def assert_only_parameters(
    sql: str, field_names: Iterable[str], words: frozenset[str] | set[str] = frozenset()
) -> None:
    """The SQL holds no text from the client: every value is a ``?`` parameter.

    Each token must be a parameter, an operator, one of the layer's fields (quoted), or a
    keyword, function name or constant that the compiler writes itself.
    """
    quoted = {'"' + name.replace('"', '""') + '"' for name in field_names}
    at = 0
    while at < len(sql):
        match = _SQL_TOKEN.match(sql, at)
        assert match is not None, f"unexpected SQL at {sql[at:]!r}"
        token = match.group()
        at = match.end()
        if token.isspace() or token in "()+-*/=<>,?" or token in ("<>", "<=", ">=", "||"):
            continue
        assert token in SQL_WORDS | SQL_CONSTANTS | words | quoted, f"{token!r} in SQL: {sql}"
