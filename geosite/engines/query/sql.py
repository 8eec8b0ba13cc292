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
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Function):
            return self.function(node)
        if isinstance(node, Compare):
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Like):
            escape = f" ESCAPE {self.bind(node.escape)}" if node.escape else ""
            op = "NOT LIKE" if node.negated else "LIKE"
            return f"({self.emit(node.value)} {op} {self.emit(node.pattern)}{escape})"
        if isinstance(node, In):
            items = ", ".join(self.emit(item) for item in node.items)
            return f"({self.emit(node.value)} {'NOT IN' if node.negated else 'IN'} ({items}))"
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
        args = [self.emit(a) for a in node.args]
        name = node.name
        if name in _SIMPLE_FUNCTIONS:
            return f"{_SIMPLE_FUNCTIONS[name]}({', '.join(args)})"
        if name == "CONCAT":
            return f"({args[0]} || {args[1]})"
        if name == "TRUNCATE":
            if len(args) == 1:
                return f"trunc({args[0]})"
            return f"(trunc({args[0]} * power(10, {args[1]})) / power(10, {args[1]}))"
        if name == "POSITION":
            return f"instr({args[1]}, {args[0]})"
        if name == "SUBSTRING":
            return f"substr({', '.join(args)})"
        if name == "CAST":
            return f"CAST({args[0]} AS {_CAST[node.option]})"
        if name == "EXTRACT":
            fmt = self.bind(_EXTRACT[node.option])
            return f"CAST(strftime({fmt}, ({args[0]}) / 1000.0, 'unixepoch') AS INTEGER)"
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
    return Compiled(compiler.emit(node), compiler.params)
