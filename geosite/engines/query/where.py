"""The ``where`` grammar of ArcGIS standardized queries, parsed into an AST.

Nothing a client writes is ever pasted into SQL: the text is tokenised, parsed by a
recursive-descent parser that accepts only the grammar of services-api §4.1, and every field
name is resolved against the layer's fields. ``geosite.engines.query.sql`` then compiles the
tree with bound parameters. Anything else (``;``, comments, subqueries, unknown functions,
double-quoted strings used as values) is an error that says what was wrong.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geosite.errors import InvalidParameter, invalid_parameter

MAX_LENGTH = 16 * 1024
MAX_DEPTH = 64
MAX_LITERALS = 10_000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"[A-Za-z_][A-Za-z0-9_]*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|\|\||[=<>+\-*/(),])
    """,
    re.VERBOSE,
)
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
_VALUE_OPERATORS = (*COMPARISONS, "!=", "+", "-", "*", "/", "||")
FUNCTIONS = {
    # name: (min args, max args)
    "ABS": (1, 1),
    "CEILING": (1, 1),
    "FLOOR": (1, 1),
    "ROUND": (1, 2),
    "TRUNCATE": (1, 2),
    "LOG": (1, 1),
    "LOG10": (1, 1),
    "POWER": (2, 2),
    "MOD": (2, 2),
    "CHAR_LENGTH": (1, 1),
    "LOWER": (1, 1),
    "UPPER": (1, 1),
    "CONCAT": (2, 2),
    "NULLIF": (2, 2),
    "COALESCE": (1, 16),
    "TRIM": (1, 1),
}
NO_ARG_FUNCTIONS = ("CURRENT_DATE", "CURRENT_TIMESTAMP")
#: Aggregates, allowed only in ``havingClause``.
AGGREGATES = ("COUNT", "SUM", "MIN", "MAX", "AVG", "STDDEV", "VAR")
CAST_TYPES = ("INTEGER", "INT", "SMALLINT", "FLOAT", "REAL", "DOUBLE", "VARCHAR", "CHAR")
EXTRACT_PARTS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
_KEYWORDS = {
    "AND",
    "OR",
    "NOT",
    "LIKE",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "ESCAPE",
    "DATE",
    "TIMESTAMP",
    "TRUE",
    "FALSE",
    "SELECT",
    "FROM",
    "FOR",
    "AS",
}


# -- the tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    """A number, string, boolean, NULL, or a date (as epoch milliseconds)."""

    value: Any
    is_date: bool = False


@dataclass(frozen=True)
class Field:
    """A layer field, by its canonical name, with its Esri type."""

    name: str
    type: str


@dataclass(frozen=True)
class Negate:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class Arithmetic:
    """``+ - * /`` and string concatenation ``||``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Function:
    """A whitelisted function, a ``CAST``, an ``EXTRACT`` or ``CURRENT_*``."""

    name: str
    args: tuple[Node, ...]
    option: str = ""  # CAST target type or EXTRACT part


@dataclass(frozen=True)
class Compare:
    """``a <op> b``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Like:
    """``a [NOT] LIKE pattern [ESCAPE 'c']``."""

    value: Node
    pattern: Node
    escape: str | None
    negated: bool


@dataclass(frozen=True)
class In:
    """``a [NOT] IN (...)``."""

    value: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    """``a [NOT] BETWEEN low AND high``."""

    value: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """``a IS [NOT] NULL``."""

    value: Node
    negated: bool


@dataclass(frozen=True)
class Logical:
    """``AND`` / ``OR`` over two conditions."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    operand: Node


Node = (
    Literal
    | Field
    | Negate
    | Arithmetic
    | Function
    | Compare
    | Like
    | In
    | Between
    | IsNull
    | Logical
    | Not
)
CONDITIONS = (Compare, Like, In, Between, IsNull, Logical, Not)


# -- tokens ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One lexical token; ``kind`` is number, string, ident, qident, op or end."""

    kind: str
    text: str
    at: int


def _invalid(message: str) -> InvalidParameter:
    return invalid_parameter("where", message)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; anything outside the grammar's alphabet is refused."""
    if len(text) > MAX_LENGTH:
        raise _invalid("The where clause is too long.")
    tokens, at = [], 0
    while at < len(text):
        if text.startswith(("--", "/*"), at):
            raise _invalid("Comments are not allowed.")
        match = _TOKEN.match(text, at)
        if match is None and text[at] == '"':
            raise _invalid(
                f"Unexpected double quote at position {at + 1}: double quotes are only for "
                "field names; put text values in single quotes ('like this')."
            )
        if match is None:
            raise _invalid(f"Unexpected character {text[at]!r} at position {at + 1}.")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- the parser --------------------------------------------------------------------------------
class _Parser:
    """Recursive descent over the token list; fields resolve against ``fields``."""

    def __init__(
        self, text: str, fields: Sequence[dict[str, Any]], *, aggregates: bool = False
    ) -> None:
        self.aggregates = aggregates
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.literals = 0
        self.fields = {str(f["name"]).lower(): (str(f["name"]), str(f["type"])) for f in fields}

    # helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def keyword(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "ident" and token.text.upper() in words

    def take(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def expect_op(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != op:
            raise _invalid(f"Expected '{op}' at position {token.at + 1}.")

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise _invalid(f"Expected {word} at position {self.peek().at + 1}.")
        self.pos += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _invalid("The where clause is nested too deeply.")

    def literal(self, value: Any, is_date: bool = False) -> Literal:
        self.literals += 1
        if self.literals > MAX_LITERALS:
            raise _invalid("The where clause has too many values.")
        return Literal(value, is_date)

    # grammar
    def parse(self) -> Node:
        node = self.condition()
        if self.peek().kind != "end":
            raise _invalid(f"Unexpected '{self.peek().text}' at position {self.peek().at + 1}.")
        return node

    def condition(self) -> Node:
        self.enter()
        operands = [self.conjunction()]
        while self.keyword("OR"):
            self.pos += 1
            operands.append(self.conjunction())
        self.depth -= 1
        return _balanced("OR", operands)

    def conjunction(self) -> Node:
        operands = [self.negation()]
        while self.keyword("AND"):
            self.pos += 1
            operands.append(self.negation())
        return _balanced("AND", operands)

    def negation(self) -> Node:
        if self.keyword("NOT"):
            self.pos += 1
            self.enter()
            negated: Node = Not(self.negation())
            self.depth -= 1
            return negated
        if self.peek().text == "(" and self._parenthesised_condition():
            self.pos += 1
            node = self.condition()
            self.expect_op(")")
            return node
        return self.predicate()

    def _parenthesised_condition(self) -> bool:
        """Whether the '(' at the cursor opens a condition rather than a value."""
        start, depth = self.pos, 0
        for index in range(start, len(self.tokens)):
            token = self.tokens[index]
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
                if depth == 0:
                    after = self.tokens[index + 1]
                    continues_value = after.kind == "op" and after.text in _VALUE_OPERATORS
                    continues_predicate = after.kind == "ident" and after.text.upper() in (
                        "LIKE",
                        "IN",
                        "BETWEEN",
                        "IS",
                        "NOT",
                    )
                    return not (continues_value or continues_predicate)
            elif token.kind == "end":
                break
        return False

    def predicate(self) -> Node:
        left = self.value()
        token = self.peek()
        if token.kind == "op" and token.text in (*COMPARISONS, "!="):
            self.pos += 1
            return Compare("<>" if token.text == "!=" else token.text, left, self.value())
        negated = False
        if self.keyword("NOT") and self.keyword("LIKE", "IN", "BETWEEN", offset=1):
            self.pos += 1
            negated = True
        if self.keyword("LIKE"):
            self.pos += 1
            pattern = self.value()
            escape = None
            if self.keyword("ESCAPE"):
                self.pos += 1
                token = self.take()
                if token.kind != "string" or len(token.text) != 3:
                    raise _invalid("ESCAPE takes a single character in quotes.")
                escape = token.text[1]
            return Like(left, pattern, escape, negated)
        if self.keyword("IN"):
            self.pos += 1
            self.expect_op("(")
            if self.keyword("SELECT"):
                raise _invalid("Subqueries are not supported.")
            items = [self.value()]
            while self.peek().text == ",":
                self.pos += 1
                items.append(self.value())
            self.expect_op(")")
            return In(left, tuple(items), negated)
        if self.keyword("BETWEEN"):
            self.pos += 1
            low = self.value()
            self.expect_keyword("AND")
            return Between(left, low, self.value(), negated)
        if self.keyword("IS"):
            self.pos += 1
            is_not = self.keyword("NOT")
            if is_not:
                self.pos += 1
            self.expect_keyword("NULL")
            return IsNull(left, is_not)
        raise _invalid(f"Expected a comparison at position {token.at + 1}.")

    # Each operator of a chain like a + b + c nests the tree one level deeper, so it counts
    # towards MAX_DEPTH like a parenthesis does.
    def value(self) -> Node:
        self.enter()
        depth = self.depth
        node = self.product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-", "||"):
            op = self.take().text
            self.enter()
            node = Arithmetic(op, node, self.product())
        self.depth = depth - 1
        return node

    def product(self) -> Node:
        depth = self.depth
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.take().text
            self.enter()
            node = Arithmetic(op, node, self.unary())
        self.depth = depth
        return node

    def unary(self) -> Node:
        if self.peek().text == "-" and self.peek().kind == "op":
            self.pos += 1
            self.enter()
            node = Negate(self.unary())
            self.depth -= 1
            return node
        if self.peek().text == "+" and self.peek().kind == "op":
            self.pos += 1
        return self.term()

    def term(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return self.literal(_number(token.text))
        if token.kind == "string":
            return self.literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "qident":
            return self.field(token.text[1:-1], token)
        if token.kind == "op" and token.text == "(":
            if self.keyword("SELECT"):
                raise _invalid("Subqueries are not supported.")
            node = self.value()
            self.expect_op(")")
            return node
        if token.kind == "ident":
            return self.word(token)
        raise _invalid(f"Unexpected '{token.text or 'end of text'}' at position {token.at + 1}.")

    def word(self, token: Token) -> Node:
        upper = token.text.upper()
        if upper in ("DATE", "TIMESTAMP") and self.peek().kind == "string":
            return self.literal(_date_ms(self.take().text[1:-1], upper), is_date=True)
        if upper == "NULL":
            return self.literal(None)
        if upper in ("TRUE", "FALSE"):
            return self.literal(1 if upper == "TRUE" else 0)
        if upper in NO_ARG_FUNCTIONS:
            if self.peek().text == "(":
                self.pos += 1
                self.expect_op(")")
            return Function(upper, ())
        if self.peek().text == "(" and self.peek().kind == "op":
            return self.function(upper, token)
        if upper in _KEYWORDS:
            raise _invalid(f"Unexpected {upper} at position {token.at + 1}.")
        return self.field(token.text, token)

    def field(self, name: str, token: Token) -> Field:
        found = self.fields.get(name.lower())
        if found is None:
            hint = " (text values go in single quotes)" if token.kind == "qident" else ""
            raise _invalid(f"Unknown field '{name[:64]}' at position {token.at + 1}{hint}.")
        return Field(*found)

    def function(self, name: str, token: Token) -> Node:
        self.pos += 1  # the '('
        if name == "CAST":
            value = self.value()
            self.expect_keyword("AS")
            kind = self.take().text.upper()
            if kind not in CAST_TYPES:
                raise _invalid(f"Cannot CAST to '{kind[:32]}'.")
            self.expect_op(")")
            return Function("CAST", (value,), kind)
        if name == "EXTRACT":
            part = self.take().text.upper()
            if part not in EXTRACT_PARTS:
                raise _invalid(f"Cannot EXTRACT '{part[:32]}'.")
            self.expect_keyword("FROM")
            value = self.value()
            self.expect_op(")")
            return Function("EXTRACT", (value,), part)
        if name == "POSITION":
            needle = self.value()
            self.expect_keyword("IN")
            haystack = self.value()
            self.expect_op(")")
            return Function("POSITION", (needle, haystack))
        if name == "SUBSTRING":
            text = self.value()
            if self.keyword("FROM"):
                self.pos += 1
            else:
                self.expect_op(",")
            args = [text, self.value()]
            if self.keyword("FOR") or self.peek().text == ",":
                self.pos += 1
                args.append(self.value())
            self.expect_op(")")
            return Function("SUBSTRING", tuple(args))
        if name in AGGREGATES and self.aggregates:
            if name == "COUNT" and self.peek().text == "*":
                self.pos += 1
                self.expect_op(")")
                return Function("COUNT", (), "*")
            value = self.value()
            self.expect_op(")")
            return Function(name, (value,))
        if name not in FUNCTIONS:
            raise _invalid(f"Function '{name[:32]}' is not supported.")
        args = []
        if self.peek().text != ")":
            args.append(self.value())
            while self.peek().text == ",":
                self.pos += 1
                args.append(self.value())
        self.expect_op(")")
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise _invalid(f"Function {name} takes {low} to {high} arguments.")
        if name == "TRUNCATE" and len(args) == 2 and not _is_whole_number(args[1]):
            # The digits appear twice in the compiled SQL: an expression there would double
            # the SQL at every level of nesting.
            raise _invalid("TRUNCATE takes a whole number of digits, as in TRUNCATE(x, 2).")
        return Function(name, tuple(args))


def _is_whole_number(node: Node) -> bool:
    if isinstance(node, Negate):
        node = node.operand
    return isinstance(node, Literal) and type(node.value) is int


def _balanced(op: str, operands: list[Node]) -> Node:
    """``op`` over the operands as a balanced tree.

    AND and OR are associative (in three-valued logic too), so this is the same condition as
    the left-leaning chain, but hundreds of ``OR``s stay a few levels deep: neither Python's
    recursion nor SQLite's parser stack runs out.
    """
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return Logical(op, _balanced(op, operands[:middle]), _balanced(op, operands[middle:]))


def _number(text: str) -> int | float:
    if any(c in text for c in ".eE") or len(text.lstrip("0")) > 19:
        return float(text)
    value = int(text.lstrip("0") or "0")  # leading zeros count towards int()'s digit limit
    # Beyond SQLite's 64-bit INTEGER: a REAL, as SQLite itself reads such a literal.
    return value if value < 2**63 else float(value)


def _date_ms(text: str, kind: str) -> int:
    try:
        if kind == "DATE":
            moment = datetime.datetime.strptime(text.strip(), "%Y-%m-%d")
        else:
            moment = datetime.datetime.fromisoformat(text.strip().replace("Z", ""))
    except ValueError:
        raise _invalid(f"Invalid {kind.lower()} literal '{text[:40]}'.") from None
    if moment.tzinfo is None:  # no offset given: UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - _EPOCH) // datetime.timedelta(milliseconds=1)


def parse_where(text: str | None, fields: Sequence[dict[str, Any]]) -> Node | None:
    """Parse a ``where`` clause; None means every row (absent, empty, or ``1=1``)."""
    if text is None or not text.strip():
        return None
    node = _Parser(text, fields).parse()
    if node == Compare("=", Literal(1), Literal(1)):
        return None
    return node


def parse_having(text: str | None, fields: Sequence[dict[str, Any]]) -> Node | None:
    """Parse a ``havingClause``: the ``where`` grammar plus COUNT, SUM, MIN, MAX, AVG,
    STDDEV and VAR over fields."""
    if text is None or not text.strip():
        return None
    try:
        return _Parser(text, fields, aggregates=True).parse()
    except InvalidParameter as exc:
        raise InvalidParameter(
            exc.messages[0], details=["'havingClause' parameter is invalid", *exc.details[1:]]
        ) from None
