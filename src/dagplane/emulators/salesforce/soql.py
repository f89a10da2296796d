"""A SOQL subset: tokenizer and parser producing a small syntax tree.

``SELECT f1, f2 FROM Object [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n]`` (the SELECT list may instead be ``COUNT()`` or ``COUNT(f) [alias], ...``) where
``cond`` combines ``= != <> < <= > >=``, ``[NOT] IN (...)``, ``AND``, ``OR``, ``NOT`` and
parentheses over string, number, boolean, null, date and datetime literals.
Names are resolved against the schema later (see ``query.py``); this module only knows syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .fields import parse_datetime

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
# SOQL and SOSL Reference, "Quoted String Escape Sequences" (either case for n, r, t, b, f).
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
_ESCAPES |= {key.upper(): value for key, value in _ESCAPES.items()} | {"\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_KEYWORDS = frozenset(
    {"select", "from", "where", "and", "or", "not", "in", "order", "by", "asc", "desc"}
    | {"nulls", "first", "last", "limit", "true", "false", "null"}
)


@dataclass(frozen=True)
class Token:
    kind: str  # datetime, date, number, string, name, keyword, op, punct, end
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime; identifier: an unquoted word
    value: Any


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # = != < <= > >=
    value: Literal
    pos: int


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Literal, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | InList | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool
    nulls_last: bool
    pos: int


@dataclass(frozen=True)
class CountItem:
    """``COUNT()`` (``field`` None) or ``COUNT(field) [alias]`` in the SELECT list."""

    field: str | None
    alias: str | None
    pos: int


@dataclass(frozen=True)
class Query:
    """A parsed SOQL statement (names not yet checked)."""

    text: str
    fields: tuple[tuple[str, int], ...]  # (name, position)
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    counts: tuple[CountItem, ...] = ()  # the COUNT items, when the query is an aggregate


def locate(text: str, pos: int) -> str:
    """Salesforce's error preamble: the query line, a caret, ``ERROR at Row:r:Column:c``."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    column = pos - line_start
    return f"\n{line}\n{' ' * column}^\nERROR at Row:{row}:Column:{column + 1}\n"


def query_error(code: str, text: str, pos: int, message: str) -> ApiError:
    """A 400 error pointing at ``pos`` in the query, e.g. INVALID_FIELD."""
    return ApiError(400, code, locate(text, pos) + message)


def malformed(text: str, pos: int, message: str) -> ApiError:
    return query_error("MALFORMED_QUERY", text, pos, message)


def tokenize(text: str) -> list[Token]:
    """Split SOQL into tokens; raises MALFORMED_QUERY on a character it cannot read."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise malformed(text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind != "space":
            word = match.group()
            if kind == "name" and word.lower() in _KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, word, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def fail(self, expected: str | None = None) -> ApiError:
        token = self.token
        shown = token.text or "<EOF>"
        hint = f" (expecting {expected})" if expected else ""
        return malformed(self.text, token.pos, f"unexpected token: '{shown}'{hint}")

    def keyword(self, *words: str) -> bool:
        if self.token.kind == "keyword" and self.token.text.lower() in words:
            self.at += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.fail(f"'{word.upper()}'")

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.at += 1
            return True
        return False

    def name(self) -> tuple[str, int]:
        token = self.token
        if token.kind != "name":
            raise self.fail("a field name")
        self.at += 1
        return token.text, token.pos

    def select_item(self, fields: list[tuple[str, int]], counts: list[CountItem]) -> None:
        token, after = self.token, self.tokens[self.at + 1]
        if not (token.kind == "name" and token.text.lower() == "count" and after.text == "("):
            fields.append(self.name())
            return
        self.at += 2
        field = None if self.token.text == ")" else self.name()[0]
        if not self.punct(")"):
            raise self.fail("')'")
        alias = self.name()[0] if self.token.kind == "name" else None
        counts.append(CountItem(field, alias, token.pos))

    def query(self) -> Query:
        self.expect_keyword("select")
        fields: list[tuple[str, int]] = []
        counts: list[CountItem] = []
        self.select_item(fields, counts)
        while self.punct(","):
            self.select_item(fields, counts)
        self.expect_keyword("from")
        sobject, sobject_pos = self.name()
        where = self.condition() if self.keyword("where") else None
        order: list[OrderItem] = []
        if self.keyword("order"):
            self.expect_keyword("by")
            order.append(self.order_item())
            while self.punct(","):
                order.append(self.order_item())
        limit = None
        if self.keyword("limit"):
            token = self.token
            if token.kind != "number" or not token.text.isdigit():
                raise self.fail("a non-negative integer")
            self.at += 1
            limit = int(token.text)
        if self.token.kind != "end":
            raise self.fail()
        return Query(
            self.text,
            tuple(fields),
            sobject,
            sobject_pos,
            where,
            tuple(order),
            limit,
            tuple(counts),
        )

    def order_item(self) -> OrderItem:
        field, pos = self.name()
        descending = self.keyword("desc")
        if not descending:
            self.keyword("asc")
        nulls_last = descending
        if self.keyword("nulls"):
            if self.keyword("last"):
                nulls_last = True
            else:
                self.expect_keyword("first")
                nulls_last = False
        return OrderItem(field, descending, nulls_last, pos)

    def condition(self) -> Condition:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.unary()]
        while self.keyword("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def unary(self) -> Condition:
        if self.keyword("not"):
            return Not(self.unary())
        if self.punct("("):
            inner = self.condition()
            if not self.punct(")"):
                raise self.fail("')'")
            return inner
        field, pos = self.name()
        if self.keyword("not"):
            self.expect_keyword("in")
            return InList(field, self.literal_list(), True, pos)
        if self.keyword("in"):
            return InList(field, self.literal_list(), False, pos)
        token = self.token
        if token.kind != "op":
            raise self.fail("an operator")
        self.at += 1
        op = "!=" if token.text == "<>" else token.text
        return Compare(field, op, self.literal(), pos)

    def literal_list(self) -> tuple[Literal, ...]:
        if not self.punct("("):
            raise self.fail("'('")
        values = [self.literal()]
        while self.punct(","):
            values.append(self.literal())
        if not self.punct(")"):
            raise self.fail("')'")
        return tuple(values)

    def unescape(self, token: Token) -> str:
        """A quoted string's value; a backslash outside the documented escapes is an error."""

        def one(match: re.Match[str]) -> str:
            code = match[1]
            if len(code) == 5:
                return chr(int(code[1:], 16))
            if code not in _ESCAPES:
                message = f"Invalid string literal {token.text}: illegal escape '\\{code}'"
                raise malformed(self.text, token.pos, message)
            return _ESCAPES[code]

        return _ESCAPE.sub(one, token.text[1:-1])

    def literal(self) -> Literal:
        token = self.token
        word = token.text.lower()
        if token.kind == "string":
            value = Literal("string", self.unescape(token))
        elif token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            value = Literal("number", number)
        elif token.kind == "datetime":
            ms = parse_datetime(token.text)
            if ms is None:
                raise self.fail("a valid datetime")
            value = Literal("datetime", ms)
        elif token.kind == "date":
            value = Literal("date", token.text)
        elif token.kind == "keyword" and word in ("true", "false"):
            value = Literal("boolean", word == "true")
        elif token.kind == "keyword" and word == "null":
            value = Literal("null", None)
        elif token.kind == "name":
            value = Literal("identifier", token.text)  # the binder says why it is wrong
        else:
            raise self.fail("a value")
        self.at += 1
        return value


def parse(text: str) -> Query:
    """Parse one SOQL statement; raises ``ApiError`` MALFORMED_QUERY on bad syntax."""
    return _Parser(text).query()
