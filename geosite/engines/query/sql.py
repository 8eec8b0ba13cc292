"""Compiling a ``where`` tree to SQLite SQL with bound parameters.

Identifiers come only from the layer's field list (already resolved by the parser) and are
quoted; every literal becomes a ``?`` parameter; functions map through a fixed table.
Date fields are compared as epoch milliseconds, as ArcGIS clients send them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

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

_AGGREGATES = {
    "COUNT": "count",
    "SUM": "sum",
    "MIN": "min",
    "MAX": "max",
    "AVG": "avg",
    "STDDEV": "geosite_stddev",
    "VAR": "geosite_var",
}
_SIMPLE_FUNCTIONS = {
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
_CAST = {
    "INTEGER": "INTEGER",
    "INT": "INTEGER",
    "SMALLINT": "INTEGER",
    "FLOAT": "REAL",
    "REAL": "REAL",
    "DOUBLE": "REAL",
    "VARCHAR": "TEXT",
    "CHAR": "TEXT",
}
_LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "||": 3}  # SQLite's precedence, all left-associative
# SQLite's parser has a fixed stack (YYSTACKDEPTH, 100 entries): the compiled SQL may nest
# parentheses this deep, which needs at most ~5 entries each (as in coalesce(?, coalesce(...).
MAX_NESTING = 16
_EXTRACT = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "SECOND": "%S"}


def quote(name: str) -> str:
    """A double-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def field_sql(name: str, esri_type: str) -> str:
    """The SQL for reading a field (dates as epoch milliseconds)."""
    if esri_type == "esriFieldTypeDate":
        return f"CAST(ROUND((julianday({quote(name)}) - 2440587.5) * 86400000) AS INTEGER)"
    return quote(name)


@dataclass
class Compiled:
    """SQL text with its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


class _Compiler:
    def __init__(self, now_ms: int) -> None:
        self.params: list[Any] = []
        self.now_ms = now_ms

    def bind(self, value: Any) -> str:
        # Parameters are positional: bind them in the order their ``?`` appear in the text.
        self.params.append(value)
        return "?"

    def emit(self, node: Node) -> str:
        if isinstance(node, Literal):
            return "NULL" if node.value is None else self.bind(node.value)
        if isinstance(node, Field):
            return field_sql(node.name, node.type)
        if isinstance(node, Negate):
            return f"(-{self.emit(node.operand)})"
        if isinstance(node, Arithmetic):
            left = self.emit(node.left)
            if isinstance(node.left, Arithmetic) and _LEVEL[node.left.op] == _LEVEL[node.op]:
                left = left[1:-1]  # a + b + c, not ((a + b) + c): SQLite's parser stack is small
            return f"({left} {node.op} {self.emit(node.right)})"
        if isinstance(node, Function):
            return self.function(node)
        if isinstance(node, Compare):
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Like):
            value, pattern = self.emit(node.value), self.emit(node.pattern)
            escape = f" ESCAPE {self.bind(node.escape)}" if node.escape else ""
            op = "NOT LIKE" if node.negated else "LIKE"
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
        name = node.name
        if name in _AGGREGATES:
            inner = "*" if node.option == "*" else self.emit(node.args[0])
            return f"{_AGGREGATES[name]}({inner})"
        if name == "POSITION":
            haystack = self.emit(node.args[1])
            return f"instr({haystack}, {self.emit(node.args[0])})"
        if name == "EXTRACT":
            fmt = self.bind(_EXTRACT[node.option])
            moment = self.emit(node.args[0])
            return f"CAST(strftime({fmt}, ({moment}) / 1000.0, 'unixepoch') AS INTEGER)"
        args = [self.emit(a) for a in node.args]
        if name == "COALESCE" and len(args) == 1:
            args.append("NULL")  # SQLite's coalesce() wants at least two arguments
        if name in _SIMPLE_FUNCTIONS:
            return f"{_SIMPLE_FUNCTIONS[name]}({', '.join(args)})"
        if name == "CONCAT":
            return f"({args[0]} || {args[1]})"
        if name == "TRUNCATE":
            if len(args) == 1:
                return f"trunc({args[0]})"
            # The digits appear twice in the SQL, so their parameters are bound twice.
            again = self.emit(node.args[1])
            return f"(trunc({args[0]} * power(10, {args[1]})) / power(10, {again}))"
        if name == "SUBSTRING":
            return f"substr({', '.join(args)})"
        if name == "CAST":
            return f"CAST({args[0]} AS {_CAST[node.option]})"
        if name == "CURRENT_TIMESTAMP":
            return self.bind(self.now_ms)
        if name == "CURRENT_DATE":
            day = datetime.datetime.fromtimestamp(self.now_ms / 1000, datetime.UTC).date()
            start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
            return self.bind(int(start.timestamp() * 1000))
        raise TypeError(f"unknown function {name}")


def compile_where(node: Node | None, now_ms: int) -> Compiled:
    """SQL for a parsed ``where`` (``1`` for none)."""
    if node is None:
        return Compiled("1")
    compiler = _Compiler(now_ms)
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
