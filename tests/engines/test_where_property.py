"""Property: for random ``where`` clauses, the compiled SQL selects what the reference selects.

Hypothesis writes clause TEXT from the grammar of services-api §4.1 (random keyword case,
spacing, redundant parentheses, quoted and unquoted field names), together with the tree the
text means. Each example checks that

1. the parser reads the text as that tree (up to the grouping of AND/OR chains),
2. the compiled SQL contains no client text at all, only ``?`` parameters, and
3. ``SELECT id FROM t WHERE <sql>`` on an in-memory SQLite table shaped like a GeoPackage
   layer (``case_sensitive_like`` on, as ``geosite.data.geopackage`` connects) returns exactly
   the ids for which ``where_reference.evaluate`` says True.

The generator covers every predicate (comparisons including ``!=``, [NOT] LIKE with ``%``,
``_`` and ESCAPE, [NOT] IN with NULL items, [NOT] BETWEEN, IS [NOT] NULL), AND/OR/NOT at any
nesting, arithmetic on numeric fields, every whitelisted function, DATE/TIMESTAMP literals
against date fields, CURRENT_DATE/CURRENT_TIMESTAMP, NULL/TRUE/FALSE literals and ``1=1``; the
rows hold NULLs, negative numbers, unicode text with quotes, ``%`` and ``_``, and dates as
GDAL writes them. It stays within type-correct SQL; each deliberate restriction is marked
"RESTRICTION" below.
"""

from __future__ import annotations

import datetime
import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from geosite.data import geopackage
from geosite.engines.query.sql import compile_where
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
    parse_where,
)
from geosite.errors import InvalidParameter
from tests.engines.where_reference import Undefined, assert_only_parameters, selects

# -- the table -----------------------------------------------------------------------------------
# (Esri field, GeoPackage column type). Mixed-case names check case-insensitive resolution.
COLUMNS = [
    ({"name": "id", "type": "esriFieldTypeOID"}, "INTEGER PRIMARY KEY"),
    ({"name": "Pop", "type": "esriFieldTypeInteger"}, "INTEGER"),
    ({"name": "rank", "type": "esriFieldTypeSmallInteger"}, "SMALLINT"),
    ({"name": "Area_km2", "type": "esriFieldTypeDouble"}, "DOUBLE"),
    ({"name": "ratio", "type": "esriFieldTypeSingle"}, "FLOAT"),
    ({"name": "Name", "type": "esriFieldTypeString"}, "TEXT"),
    ({"name": "code", "type": "esriFieldTypeString"}, "TEXT(8)"),
    ({"name": "Updated", "type": "esriFieldTypeDate"}, "DATETIME"),
    ({"name": "opened", "type": "esriFieldTypeDate"}, "DATE"),
]
FIELDS = [f for f, _ in COLUMNS]
INT_FIELDS = ["id", "Pop", "rank"]
REAL_FIELDS = ["Area_km2", "ratio"]
TEXT_FIELDS = ["Name", "code"]
DATE_FIELDS = ["Updated", "opened"]
TYPES = {str(f["name"]): str(f["type"]) for f in FIELDS}

T = TypeVar("T")
UTC = datetime.UTC
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MS = datetime.timedelta(milliseconds=1)

# -- values ----------------------------------------------------------------------------------------
# RESTRICTION: integers stay far inside 64 bits (population-sized), so that arithmetic rarely
# overflows -- SQLite switches to REAL on overflow; the reference refuses (Undefined) and the
# example is discarded. Doubles stay finite and moderate for the same reason (SQLite turns
# NaN into NULL).
small_ints = st.integers(-3, 3)
ints = small_ints | st.integers(-100_000, 100_000)
smallints = small_ints | st.integers(-32_768, 32_767)
doubles = st.one_of(
    ints.map(float),
    st.integers(-(10**6), 10**6).map(lambda n: n / 100),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
singles = small_ints.map(float) | st.floats(-1e4, 1e4, width=32, allow_nan=False)
INTERESTING_TEXT = [
    "", " ", "a", "A", "ab", "AB", "O'Brien", "''", "100%", "50_50", "a%b_c", "München",
    "MÜNCHEN", "straße", "École", "日本語", "😀", " padded ", "back\\slash", "x!y", "#", "%", "_",
    "a\nb",
]  # fmt: skip
# RESTRICTION: no NUL character (SQLite's length(), LIKE and text functions stop at NUL) and
# no lone surrogates (not encodable to UTF-8, so they can never reach the server).
texts = st.one_of(
    st.sampled_from(INTERESTING_TEXT),
    st.text(alphabet="aAbZ %_'\\!é😀", max_size=5),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6),
)
moments = st.one_of(
    st.sampled_from(
        [
            datetime.datetime(2021, 3, 4, 5, 6, 7),
            datetime.datetime(2021, 3, 4),
            datetime.datetime(1969, 12, 31, 23, 59, 59, 500_000),
            datetime.datetime(1970, 1, 1),
        ]
    ),
    st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2100, 12, 31)),
).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000, tzinfo=UTC))
offsets = st.sampled_from([0, 330, -480, 60])  # minutes east of UTC


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@st.composite
def stored_datetimes(draw: st.DrawFn) -> str:
    """A DATETIME value as GDAL writes it to a GeoPackage."""
    moment, minutes = draw(moments), draw(offsets)
    local = moment + datetime.timedelta(minutes=minutes)
    millis = f".{local.microsecond // 1000:03d}" if draw(st.booleans()) else ""
    zone = "Z" if minutes == 0 and draw(st.booleans()) else _offset_text(minutes)
    return f"{local:%Y-%m-%dT%H:%M:%S}{millis}{zone}"


stored_dates = moments.map(lambda m: f"{m:%Y-%m-%d}")  # a DATE column


def nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values, NULL a quarter of the time."""
    return st.one_of(values, values, values, st.none())


rows = st.fixed_dictionaries(
    {
        "Pop": nullable(ints),
        "rank": nullable(smallints),
        "Area_km2": nullable(doubles),
        "ratio": nullable(singles),
        "Name": nullable(texts),
        "code": nullable(texts),
        "Updated": nullable(stored_datetimes()),
        "opened": nullable(stored_dates),
    }
)
# Up to eight rows; every column but the object id may be NULL.
tables = st.lists(rows, max_size=8).map(
    lambda found: [{"id": oid, **row} for oid, row in enumerate(found, start=1)]
)
# Pieces of a LIKE pattern: wildcards, text, and ("esc", c) for an escaped c.
pattern_pieces = st.lists(
    st.one_of(
        st.sampled_from(["%", "_", "%", "a", "A", "'", " "]),
        texts,
        st.sampled_from(["%", "_", "ESC"]).map(lambda c: ("esc", c)),
    ),
    max_size=5,
)


SPACES = [" ", " ", "  ", "\n", "\t", " \r\n "]
CASES = [str.upper, str.lower, str.title, lambda word: word.title().swapcase()]


@functools.cache
def _choice(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


@functools.cache
def _integer(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


# -- clause text with its tree ---------------------------------------------------------------
ADD, MUL, UNARY, ATOM = 1, 2, 3, 4  # how tightly a value's text binds
OR, AND, PRED = 1, 2, 3  # how tightly a condition's text binds


@dataclass(frozen=True)
class G:
    """Generated text, the tree it means, how tightly it binds, and (values) its static type."""

    text: str
    node: Node
    prec: int
    is_int: bool = False


class Writer:
    """Draws clause text and its tree; ``draw`` is Hypothesis' draw function."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        # Spacing and keyword case cycle through a few drawn styles (fewer draws per example).
        self.spaces = draw(st.lists(st.sampled_from(SPACES), min_size=1, max_size=3))
        self.cases = draw(st.lists(st.sampled_from(CASES), min_size=1, max_size=3))
        self.turn = 0

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(_choice(tuple(options)))  # type: ignore[no-any-return]

    def between(self, low: int, high: int) -> int:
        return self.draw(_integer(low, high))

    def flip(self) -> bool:
        return self.draw(st.booleans())

    # -- lexical variety --
    def ws(self) -> str:
        self.turn += 1
        return self.spaces[self.turn % len(self.spaces)]

    def kw(self, word: str) -> str:
        self.turn += 1
        return self.cases[self.turn % len(self.cases)](word)  # type: ignore[no-any-return]

    def join(self, *parts: str) -> str:
        return self.ws().join(parts)

    def paren(self, g: G, need: int, atom: int) -> G:
        """``g`` in parentheses if it binds less than ``need`` (sometimes anyway)."""
        if g.prec >= need and self.between(0, 7) != 0:
            return g
        inner = self.pick(["", "", " "])
        return G(f"({inner}{g.text}{inner})", g.node, atom, g.is_int)

    def field(self, name: str) -> G:
        spelled = self.pick([name, name.upper(), name.lower()])
        if self.between(0, 4) == 0:
            spelled = f'"{spelled}"'
        return G(spelled, Field(name, TYPES[name]), ATOM, name in INT_FIELDS)

    def null(self) -> G:
        return G(self.kw("NULL"), Literal(None), ATOM, True)

    # -- numbers --
    def int_literal(self, value: int | None = None) -> G:
        if value is None:
            value = self.draw(ints)
        text = str(abs(value))
        if abs(value) > 1 and self.between(0, 9) == 0:
            text = "0" + text
        literal = G(text, Literal(abs(value)), ATOM, True)
        if value < 0:
            return self.negate(literal, Negate(literal.node))
        if self.between(0, 19) == 0:
            return G("+" + text, literal.node, UNARY, True)  # unary plus is dropped
        return literal

    def negate(self, g: G, node: Node) -> G:
        operand = self.paren(g, UNARY, ATOM)
        # '--' starts a comment, so a minus before a minus needs a space.
        space = " " if operand.text.startswith("-") else self.pick(["", " "])
        return G(f"-{space}{operand.text}", node, UNARY, g.is_int)

    def real_literal(self) -> G:
        value = abs(self.draw(doubles))
        forms = [repr(value)]
        if value.is_integer() and value < 1e15:
            forms += [f"{int(value)}.", f"{int(value)}.0", f"{int(value)}e0"]
        if 0 < value < 1 and repr(value).startswith("0."):
            forms.append(repr(value)[1:])
        text = self.pick(forms)
        literal = G(text, Literal(float(text)), ATOM)
        negative = self.flip()
        return self.negate(literal, Negate(literal.node)) if negative else literal

    def nonzero_real_literal(self) -> G:
        value = self.pick([0.5, 2.0, 4.0, 1000.0, 0.25, 3.5, 1e3])
        return G(self.pick([repr(value), f"{value:.3f}"]), Literal(value), ATOM)

    def num_leaf(self) -> G:
        choice = self.between(0, 11)
        if choice <= 3:
            return self.field(self.pick(INT_FIELDS + REAL_FIELDS))
        if choice <= 6:
            return self.int_literal()
        if choice <= 8:
            return self.real_literal()
        if choice == 9:
            word = self.pick(["TRUE", "FALSE"])
            return G(self.kw(word), Literal(1 if word == "TRUE" else 0), ATOM, True)
        if choice == 10:
            # Beyond 64 bits: read as a double, as SQLite reads such a literal.
            value = self.between(2**63, 10**20)
            return G(str(value), Literal(float(value)), ATOM)
        return self.null()

    def call(self, name: str, args: list[G], node: Node, is_int: bool) -> G:
        text = self.kw(name) + "(" + ("," + self.ws()).join(a.text for a in args) + ")"
        return G(text, node, ATOM, is_int)

    def num(self, depth: int) -> G:
        if depth <= 0:
            return self.num_leaf()
        choice = self.between(0, 19)
        if choice <= 2:
            return self.num_leaf()
        if choice <= 6:
            return self.arithmetic(depth)
        if choice == 7:
            g = self.num(depth - 1)
            return self.negate(g, Negate(g.node))
        if choice == 8:
            return self.division(depth)
        if choice == 9:
            s = self.text(depth - 1)
            return self.call("CHAR_LENGTH", [s], Function("CHAR_LENGTH", (s.node,)), True)
        if choice == 10:
            needle, haystack = self.text(depth - 1), self.text(depth - 1)
            text = f"{self.kw('POSITION')}({self.join(needle.text, self.kw('IN'), haystack.text)})"
            return G(text, Function("POSITION", (needle.node, haystack.node)), ATOM, True)
        if choice == 11:
            part = self.pick(["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"])
            d = self.date(depth - 1)
            text = f"{self.kw('EXTRACT')}({self.join(self.kw(part), self.kw('FROM'), d.text)})"
            return G(text, Function("EXTRACT", (d.node,), part), ATOM, True)
        if choice == 12:
            g = self.num(depth - 1)
            kind = self.pick(["INTEGER", "INT", "FLOAT", "REAL", "DOUBLE"])
            text = f"{self.kw('CAST')}({self.join(g.text, self.kw('AS'), self.kw(kind))})"
            return G(text, Function("CAST", (g.node,), kind), ATOM, kind.startswith("INT"))
        if choice <= 14:
            return self.coalesce_or_nullif(depth, self.num)
        return self.math_function(depth)

    def arithmetic(self, depth: int) -> G:
        op = self.pick(["+", "-", "*"])
        need = ADD if op != "*" else MUL
        left = self.paren(self.num(depth - 1), need, ATOM)
        right = self.paren(self.num(depth - 1), need + 1, ATOM)
        space = self.pick(["", " "])
        if right.text.startswith("-"):
            space = " "  # never write '--'
        text = f"{left.text}{space}{op}{space}{right.text}"
        node = Arithmetic(op, left.node, right.node)
        return G(text, node, need, left.is_int and right.is_int)

    def division(self, depth: int) -> G:
        # RESTRICTION: the divisor is a non-zero REAL literal or NULLIF(<REAL field>, 0), the
        # idiom clients use; SQLite truncates INTEGER / INTEGER and answers NULL for / 0,
        # where other databases divide exactly or raise an error.
        left = self.paren(self.num(depth - 1), MUL, ATOM)
        if self.flip():
            right = self.nonzero_real_literal()
        else:
            f = self.field(self.pick(REAL_FIELDS))
            zero = self.int_literal(0)
            right = self.call("NULLIF", [f, zero], Function("NULLIF", (f.node, zero.node)), False)
        return G(f"{left.text} / {right.text}", Arithmetic("/", left.node, right.node), MUL)

    def math_function(self, depth: int) -> G:
        name = self.pick(["ABS", "CEILING", "FLOOR", "ROUND", "TRUNCATE", "MOD", "POWER", "LOG"])
        g = self.num(depth - 1)
        if name in ("ABS", "CEILING", "FLOOR"):
            return self.call(name, [g], Function(name, (g.node,)), g.is_int)
        if name in ("ROUND", "TRUNCATE"):
            # RESTRICTION: no digits argument but 0. SQLite's round(x, n) rounds through its
            # printf (round(2.675, 2) is 2.68) and TRUNCATE(x, n) is trunc(x * 10^n) / 10^n in
            # binary floating point (TRUNCATE(0.29, 2) is 0.28); neither is decimal rounding.
            args = [g] if self.flip() else [g, self.int_literal(0)]
            is_int = g.is_int and name == "TRUNCATE" and len(args) == 1
            return self.call(name, args, Function(name, tuple(a.node for a in args)), is_int)
        if name == "MOD":
            # RESTRICTION: a non-zero divisor (MOD(x, 0) is NULL in SQLite, an error elsewhere).
            k = self.int_literal(self.pick([-7, -2, 2, 3, 10]))
            return self.call(name, [g, k], Function(name, (g.node, k.node)), False)
        if name == "POWER":
            # RESTRICTION: small natural exponents (no complex results, no overflow).
            n = self.int_literal(self.between(0, 3))
            return self.call(name, [g, n], Function(name, (g.node, n.node)), False)
        # RESTRICTION: logarithms of ABS(x) + 1, which is positive (LOG(0) is NULL in SQLite).
        name = self.pick(["LOG", "LOG10"])
        absolute = self.call("ABS", [g], Function("ABS", (g.node,)), g.is_int)
        one = self.int_literal(1)
        arg = G(f"{absolute.text} + 1", Arithmetic("+", absolute.node, one.node), ADD)
        return self.call(name, [arg], Function(name, (arg.node,)), False)

    def coalesce_or_nullif(self, depth: int, kind: Any) -> G:
        if self.flip():
            # RESTRICTION: COALESCE arguments of one type (SQLite would mix them freely).
            args = [kind(depth - 1) for _ in range(self.between(1, 3))]
            node = Function("COALESCE", tuple(a.node for a in args))
            return self.call("COALESCE", args, node, all(a.is_int for a in args))
        a, b = kind(depth - 1), kind(depth - 1)
        return self.call("NULLIF", [a, b], Function("NULLIF", (a.node, b.node)), a.is_int)

    # -- text --
    def text_literal(self, value: str | None = None) -> G:
        if value is None:
            value = self.draw(texts)
        return G("'" + value.replace("'", "''") + "'", Literal(value), ATOM)

    def text(self, depth: int) -> G:
        choice = self.between(0, 15 if depth > 0 else 5)
        if choice <= 2:
            return self.field(self.pick(TEXT_FIELDS))
        if choice <= 4:
            return self.text_literal()
        if choice == 5:
            return self.null()
        if choice <= 8:
            name = self.pick(["UPPER", "LOWER", "TRIM"])
            g = self.text(depth - 1)
            return self.call(name, [g], Function(name, (g.node,)), False)
        if choice == 9:
            a, b = self.text(depth - 1), self.text(depth - 1)
            return self.call("CONCAT", [a, b], Function("CONCAT", (a.node, b.node)), False)
        if choice == 10:
            a = self.paren(self.text(depth - 1), ADD, ATOM)
            b = self.paren(self.text(depth - 1), MUL, ATOM)
            text = f"{a.text}{self.pick(['', ' '])}||{self.ws()}{b.text}"
            return G(text, Arithmetic("||", a.node, b.node), ADD)
        if choice == 11:
            return self.substring(depth)
        if choice == 12:
            # RESTRICTION: CAST to text only of integers (SQLite writes REALs its own way).
            g = self.num(depth - 1)
            if not g.is_int:
                g = G(
                    f"{self.kw('CAST')}({g.text} AS INTEGER)",
                    Function("CAST", (g.node,), "INTEGER"),
                    ATOM,
                    True,
                )
            kind = self.pick(["VARCHAR", "CHAR"])
            text = f"{self.kw('CAST')}({self.join(g.text, self.kw('AS'), self.kw(kind))})"
            return G(text, Function("CAST", (g.node,), kind), ATOM)
        return self.coalesce_or_nullif(depth, self.text)

    def substring(self, depth: int) -> G:
        # RESTRICTION: start >= 1 and length >= 0 (SQLite's substr() counts a negative start
        # from the end of the text; SQL does not).
        g = self.text(depth - 1)
        start = self.int_literal(self.between(1, 4))
        args = [g, start]
        if self.flip():
            args.append(self.int_literal(self.between(0, 4)))
        if self.flip():
            rest = [self.kw("FROM"), start.text]
            if len(args) == 3:
                rest += [self.kw("FOR"), args[2].text]
            inner = self.join(g.text, *rest)
        else:
            inner = ", ".join(a.text for a in args)
        node = Function("SUBSTRING", tuple(a.node for a in args))
        return G(f"{self.kw('SUBSTRING')}({inner})", node, ATOM)

    # -- dates --
    def date_literal(self) -> G:
        moment = self.draw(moments)
        if self.flip():
            day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            ms = (day - EPOCH) // MS
            return G(f"{self.kw('DATE')} '{moment:%Y-%m-%d}'", Literal(ms, is_date=True), ATOM)
        # TIMESTAMP 'yyyy-mm-dd hh:mm:ss[.fff]', also as clients write it with T, Z or offset.
        minutes = self.draw(offsets)
        zone = self.pick(["", "", "Z", _offset_text(minutes)])
        minutes = minutes if zone not in ("", "Z") else 0
        local = moment + datetime.timedelta(minutes=minutes)
        sep = self.pick([" ", " ", "T"])
        millis = f".{local.microsecond // 1000:03d}" if self.flip() else ""
        if not millis:
            moment = moment.replace(microsecond=0)
        text = f"{local:%Y-%m-%d}{sep}{local:%H:%M:%S}{millis}{zone}"
        ms = (moment - EPOCH) // MS
        return G(f"{self.kw('TIMESTAMP')} '{text}'", Literal(ms, is_date=True), ATOM)

    def date(self, depth: int) -> G:
        # RESTRICTION: no date arithmetic: dates are epoch milliseconds here, so
        # CURRENT_DATE - 7 would mean 7 ms where ArcGIS means 7 days (and INTERVAL is not
        # parsed). Dates are compared with dates only.
        choice = self.between(0, 9 if depth > 0 else 7)
        if choice <= 2:
            return self.field(self.pick(DATE_FIELDS))
        if choice <= 5:
            return self.date_literal()
        if choice == 6:
            name = self.pick(["CURRENT_DATE", "CURRENT_TIMESTAMP"])
            text = self.kw(name) + self.pick(["", "()"])
            return G(text, Function(name, ()), ATOM)
        if choice == 7:
            return self.null()
        return self.coalesce_or_nullif(depth, self.date)

    def value(self, kind: str, depth: int) -> G:
        g = {"num": self.num, "text": self.text, "date": self.date}[kind](depth)
        return self.paren(g, ADD, ATOM)

    # -- conditions --
    def predicate(self) -> G:
        # RESTRICTION: both sides of a predicate have one type; SQLite compares numbers and
        # text without conversion (every number sorts before every text) and applies column
        # affinity to IN lists, which standard SQL does not.
        kind = self.pick(["num", "num", "text", "text", "date"])
        depth = self.between(0, 2)
        choice = self.between(0, 12)
        left = self.value(kind, depth)
        if choice <= 4:
            op = self.pick(["=", "<>", "!=", "<", "<=", ">", ">="])
            right = self.value(kind, depth)
            text = f"{left.text}{self.pick(['', ' '])}{op} {right.text}"
            return G(text, Compare("<>" if op == "!=" else op, left.node, right.node), PRED)
        negated = self.flip()
        not_ = [self.kw("NOT")] if negated else []
        if choice <= 6:
            items = [self.value(kind, depth) for _ in range(self.between(1, 4))]
            listed = ("," + self.pick(["", " "])).join(i.text for i in items)
            text = self.join(left.text, *not_, self.kw("IN"), f"({listed})")
            return G(text, In(left.node, tuple(i.node for i in items), negated), PRED)
        if choice <= 8:
            low, high = self.value(kind, depth), self.value(kind, depth)
            text = self.join(
                left.text, *not_, self.kw("BETWEEN"), low.text, self.kw("AND"), high.text
            )
            return G(text, Between(left.node, low.node, high.node, negated), PRED)
        if choice <= 10:
            text = self.join(left.text, self.kw("IS"), *not_, self.kw("NULL"))
            return G(text, IsNull(left.node, negated), PRED)
        return self.like(depth, negated)

    def like(self, depth: int, negated: bool) -> G:
        value = self.value("text", depth)
        not_ = [self.kw("NOT")] if negated else []
        if self.between(0, 3) == 0:
            # RESTRICTION: a computed pattern never gets an ESCAPE clause (its text could end
            # in the escape character, which SQL refuses and SQLite matches as nothing).
            pattern = self.value("text", depth)
            text = self.join(value.text, *not_, self.kw("LIKE"), pattern.text)
            return G(text, Like(value.node, pattern.node, None, negated), PRED)
        escape = self.pick([None, None, "\\", "!", "#", "é", "~"])
        pieces = self.draw(pattern_pieces)
        out = []
        for piece in pieces:
            if isinstance(piece, tuple):
                if escape is not None:
                    # RESTRICTION: the escape character only escapes %, _ or itself, as SQL
                    # requires.
                    out.append(escape + (escape if piece[1] == "ESC" else piece[1]))
            elif escape is not None:
                out.append(piece.replace(escape, escape + escape))
            else:
                out.append(piece)
        pattern = self.text_literal("".join(out))
        parts = [value.text, *not_, self.kw("LIKE"), pattern.text]
        if escape is not None:
            parts += [self.kw("ESCAPE"), f"'{escape}'"]
        node = Like(value.node, pattern.node, escape, negated)
        return G(self.join(*parts), node, PRED)

    def condition(self, depth: int) -> G:
        choice = self.between(0, 9 if depth > 0 else 0)
        if choice == 0:
            if self.between(0, 19) == 0:
                one = self.pick(["1=1", "1 = 1"])
                return G(one, Compare("=", Literal(1), Literal(1)), PRED)
            return self.predicate()
        if choice <= 2:
            g = self.paren(self.condition(depth - 1), PRED, PRED)
            return G(self.join(self.kw("NOT"), g.text), Not(g.node), PRED)
        op = "AND" if choice <= 6 else "OR"
        need = AND if op == "AND" else OR
        left = self.paren(self.condition(depth - 1), need, PRED)
        right = self.paren(self.condition(depth - 1), need + 1, PRED)
        return G(
            self.join(left.text, self.kw(op), right.text), Logical(op, left.node, right.node), need
        )


@dataclass(frozen=True)
class Case:
    """One example: the rows, the clause text with its meaning, and the clock."""

    rows: list[dict[str, Any]]
    text: str
    node: Node
    now_ms: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A table and a clause over it."""
    rows = draw(tables)
    clause = Writer(draw).condition(draw(st.integers(0, 3)))
    now = draw(moments)
    return Case(rows, clause.text, clause.node, (now - EPOCH) // MS)


# -- checks ------------------------------------------------------------------------------------
def shape(node: Any) -> Any:
    """A comparable form of a tree in which AND/OR chains are flat (they are associative)."""
    if isinstance(node, Logical):
        operands: list[Any] = []
        pending: list[Any] = [node]
        while pending:
            item = pending.pop()
            if isinstance(item, Logical) and item.op == node.op:
                pending += [item.right, item.left]
            else:
                operands.append(shape(item))
        return ("Logical", node.op, tuple(operands))
    if is_dataclass(node):
        return (type(node).__name__, *(shape(getattr(node, f.name)) for f in fields(node)))
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    if isinstance(node, float | int) and not isinstance(node, bool):
        return (type(node).__name__, node)  # 1 and 1.0 differ in SQL (1/2 vs 1.0/2)
    return node


def select_ids(rows: list[dict[str, Any]], sql: str, params: list[Any]) -> set[int]:
    """Run the compiled condition on the rows in a GeoPackage-like SQLite table."""
    conn = sqlite3.connect(":memory:")
    try:
        geopackage.prepare(conn)  # case-sensitive LIKE, Unicode UPPER/LOWER, as layers have
        columns = ", ".join(f'"{f["name"]}" {kind}' for f, kind in COLUMNS)
        conn.execute(f"CREATE TABLE t ({columns})")
        names = [str(f["name"]) for f in FIELDS]
        marks = ", ".join("?" for _ in names)
        conn.executemany(
            f"INSERT INTO t VALUES ({marks})", [[row[n] for n in names] for row in rows]
        )
        return {oid for (oid,) in conn.execute(f"SELECT id FROM t WHERE {sql}", params)}
    finally:
        conn.close()


@settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def test_compiled_where_selects_what_the_reference_selects(case: Case) -> None:
    parsed = parse_where(case.text, FIELDS)
    # The parser reads the text as the tree the generator meant ('1=1' alone means no filter).
    if parsed is None:
        assert case.node == Compare("=", Literal(1), Literal(1))
    else:
        assert shape(parsed) == shape(case.node)
    try:
        expected = {row["id"] for row in case.rows if selects(case.node, row, now_ms=case.now_ms)}
    except Undefined as why:
        note(f"outside the property: {why}")
        reject()
    try:
        compiled = compile_where(parsed, case.now_ms)
    except InvalidParameter as refused:  # a clause the compiled SQL nests too deeply: a 400
        assert "nested too deeply" in " ".join(refused.details), refused.details
        note("refused: nested too deeply")
        reject()
    note(f"SQL: {compiled.sql}  params: {compiled.params!r}")
    assert_only_parameters(compiled.sql, TYPES)
    assert select_ids(case.rows, compiled.sql, compiled.params) == expected
