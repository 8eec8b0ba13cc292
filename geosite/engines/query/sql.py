"""Compiling a ``where`` tree to SQL with bound parameters, in a dialect (SQLite by default,
or PostgreSQL: ``geosite.engines.query.dialects``).

Identifiers come only from the layer's field list (already resolved by the parser) and are
quoted; every literal becomes a parameter; functions map through the dialect's fixed table.
Date fields are compared as epoch milliseconds, as ArcGIS clients send them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

from geosite.engines.query.dialects import SQLITE, Dialect, quote
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
from geosite.errors import invalid_parameter

_LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "||": 3}  # SQLite's precedence, all left-associative
# SQLite's parser has a fixed stack (YYSTACKDEPTH, 100 entries): the compiled SQL may nest
# parentheses this deep, which needs at most ~5 entries each (as in coalesce(?, coalesce(...).
MAX_NESTING = 16
_EXTRACT = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "SECOND": "%S"}


__all__ = ["Compiled", "compile_where", "field_sql", "quote"]


def field_sql(name: str, esri_type: str, dialect: Dialect = SQLITE) -> str:
    """The SQL for reading a field (dates as epoch milliseconds)."""
    if esri_type == "esriFieldTypeDate":
        return dialect.date_field(quote(name))
    return quote(name)


@dataclass
class Compiled:
    """SQL text with its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


class _Compiler:
    def __init__(self, now_ms: int, dialect: Dialect) -> None:
        self.params: list[Any] = []
        self.now_ms = now_ms
        self.dialect = dialect

    def bind(self, value: Any) -> str:
        # Parameters are positional: bind them in the order their placeholders appear.
        self.params.append(value)
        return self.dialect.placeholder

    def emit(self, node: Node) -> str:
        if isinstance(node, Literal):
            if node.value is None:
                return "NULL"
            return self.dialect.literal(self.bind(node.value), node.value)
        if isinstance(node, Field):
            return field_sql(node.name, node.type, self.dialect)
        if isinstance(node, Negate):
            return f"(-{self.emit(node.operand)})"
        if isinstance(node, Arithmetic):
            left, right = self.emit(node.left), self.emit(node.right)
            if isinstance(node.left, Arithmetic) and _LEVEL[node.left.op] == _LEVEL[node.op]:
                left = left[1:-1]  # a + b + c, not ((a + b) + c): SQLite's parser stack is small
            if node.op == "||":
                left, right = self.dialect.text(left), self.dialect.text(right)
            elif node.op == "/":
                right = self.dialect.divisor(right)
            return f"({left} {node.op} {right})"
        if isinstance(node, Function):
            return self.function(node)
        if isinstance(node, Compare):
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Like):
            value, pattern = self.emit(node.value), self.emit(node.pattern)
            escape = (
                f" ESCAPE {self.emit(Literal(node.escape))}"
                if node.escape
                else self.dialect.like_default_escape
            )
            op = f"NOT {self.dialect.like}" if node.negated else self.dialect.like
            return f"({value} {op} {pattern}{escape})"
        if isinstance(node, In):
            value = self.emit(node.value)
            items = ", ".join(self.emit(item) for item in node.items)
            return f"({value} {'NOT IN' if node.negated else 'IN'} ({items}))"
        if isinstance(node, Between):
            op = "NOT BETWEEN" if node.negated else "BETWEEN"
            return (
                f"({self.emit(node.value)} {op} {self.emit(node.low)} AND {self.emit(node.high)})"
            )
        if isinstance(node, IsNull):
            return f"({self.emit(node.value)} IS {'NOT NULL' if node.negated else 'NULL'})"
        if isinstance(node, Logical):
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Not):
            return f"(NOT {self.emit(node.operand)})"
        raise TypeError(f"unknown node {type(node).__name__}")

    def function(self, node: Function) -> str:
        name, dialect = node.name, self.dialect
        if name in dialect.aggregates:
            inner = "*" if node.option == "*" else self.emit(node.args[0])
            return f"{dialect.aggregates[name]}({inner})"
        if name == "POSITION":
            haystack = self.emit(node.args[1])
            return dialect.position(self.emit(node.args[0]), haystack)
        if name == "EXTRACT":
            part = node.option or ""
            return dialect.extract(
                part, lambda: self.bind(_EXTRACT[part]), lambda: self.emit(node.args[0])
            )
        args = [self.emit(a) for a in node.args]
        if name in dialect.functions:
            return dialect.call(name, args)
        if name == "CONCAT":
            return f"({dialect.text(args[0])} || {dialect.text(args[1])})"
        if name == "TRUNCATE":
            # The digits may appear twice in the SQL, so their parameters are bound again.
            digits = args[1] if len(args) == 2 else None
            return dialect.truncate(args[0], digits, lambda: self.emit(node.args[1]))
        if name == "SUBSTRING":
            return dialect.substring(args)
        if name == "CAST":
            return dialect.cast(args[0], node.option or "")
        if name == "CURRENT_TIMESTAMP":
            return self.bind(self.now_ms)
        if name == "CURRENT_DATE":
            day = datetime.datetime.fromtimestamp(self.now_ms / 1000, datetime.UTC).date()
            start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
            return self.bind(int(start.timestamp() * 1000))
        raise TypeError(f"unknown function {name}")


def compile_where(node: Node | None, now_ms: int, dialect: Dialect = SQLITE) -> Compiled:
    """SQL for a parsed ``where`` (``1``, or ``true`` in PostgreSQL, for none)."""
    if node is None:
        return Compiled("1" if dialect is SQLITE else "true")
    if dialect.fold_nulls:
        node = fold_nulls(node)
    compiler = _Compiler(now_ms, dialect)
    sql = compiler.emit(node)
    if _nesting(sql) > MAX_NESTING:
        raise invalid_parameter("where", "The where clause is nested too deeply.")
    return Compiled(sql, compiler.params)


def _nesting(sql: str) -> int:
    """How deep parentheses nest in ``sql`` (outside quoted names and strings)."""
    depth = deepest = 0
    quote = ""
    for char in sql:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


#: Functions that are NULL when any argument is (COALESCE and NULLIF are not).
_NULLABLE_FUNCTIONS = frozenset(
    {
        "ABS", "CEILING", "FLOOR", "ROUND", "TRUNCATE", "LOG", "LOG10", "POWER", "MOD",
        "CHAR_LENGTH", "LOWER", "UPPER", "CONCAT", "TRIM", "POSITION", "SUBSTRING", "EXTRACT",
    }
)  # fmt: skip
_NULL = Literal(None)


def fold_nulls(node: Node) -> Node:
    """The same condition with the NULL literals folded where SQL's rules make the result
    NULL anyway: a NULL operand of arithmetic, negation or a strict function; COALESCE
    without its NULL arguments; NULLIF(NULL, x) is NULL and NULLIF(x, NULL) is x. Comparisons
    and predicates keep their NULLs (their three-valued answers are the engines' own)."""
    if isinstance(node, Negate):
        operand = fold_nulls(node.operand)
        return _NULL if operand == _NULL else Negate(operand)
    if isinstance(node, Arithmetic):
        left, right = fold_nulls(node.left), fold_nulls(node.right)
        return _NULL if _NULL in (left, right) else Arithmetic(node.op, left, right)
    if isinstance(node, Function):
        args = tuple(fold_nulls(a) for a in node.args)
        if node.name == "COALESCE":
            kept = tuple(a for a in args if a != _NULL)
            return Function(node.name, kept, node.option) if kept else _NULL
        if node.name == "NULLIF":
            if args[0] == _NULL:
                return _NULL
            if args[1] == _NULL:
                return args[0]
        if node.name in _NULLABLE_FUNCTIONS and _NULL in args:
            return _NULL
        return Function(node.name, args, node.option)
    if isinstance(node, Compare):
        return Compare(node.op, fold_nulls(node.left), fold_nulls(node.right))
    if isinstance(node, Like):
        return replace(node, value=fold_nulls(node.value), pattern=fold_nulls(node.pattern))
    if isinstance(node, In):
        return replace(
            node, value=fold_nulls(node.value), items=tuple(fold_nulls(i) for i in node.items)
        )
    if isinstance(node, Between):
        return replace(
            node,
            value=fold_nulls(node.value),
            low=fold_nulls(node.low),
            high=fold_nulls(node.high),
        )
    if isinstance(node, IsNull):
        return replace(node, value=fold_nulls(node.value))
    if isinstance(node, Logical):
        return Logical(node.op, fold_nulls(node.left), fold_nulls(node.right))
    if isinstance(node, Not):
        return Not(fold_nulls(node.operand))
    return node
