"""OData ``$filter``: a tokenizer and a recursive-descent parser into a small syntax tree.

The grammar (a subset of OData v4's, the part Dataverse clients send)::

    expression := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation := "not" negation | primary
    primary := "(" expression ")" | function "(" property "," literal ")"
             | property operator literal
    operator := eq | ne | gt | ge | lt | le
    function := contains | startswith | endswith
    literal := 'text' | number | true | false | null | guid | date | datetime

The tree names properties by their logical names; :mod:`oppflow.dataverse.translate` turns it
into a SQLAlchemy expression over an allow-list of columns. No SQL is ever built from the text.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from oppflow.dataverse.errors import BadQuery

Literal = str | Decimal | bool | None | uuid.UUID | date | datetime
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
FUNCTIONS = frozenset({"contains", "startswith", "endswith"})
MAX_LENGTH = 4000
MAX_DEPTH = 40

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True)
class Comparison:
    property: str
    operator: str
    value: Literal


@dataclass(frozen=True)
class Call:
    function: str
    property: str
    value: str


@dataclass(frozen=True)
class Junction:
    operator: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Comparison | Call | Junction | Not


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; anything the grammar does not know is a 400."""
    if len(text) > MAX_LENGTH:
        raise BadQuery(f"$filter is longer than {MAX_LENGTH} characters.")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if found is None or found.lastgroup is None:
            raise BadQuery(f"$filter: unexpected text at position {position}.")
        tokens.append(Token(found.lastgroup, found.group(found.lastgroup), found.start()))
        position = found.end()
    return tokens


def parse(text: str) -> Node:
    """The syntax tree of a ``$filter`` expression."""
    return _Parser(tokenize(text)).whole()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def whole(self) -> Node:
        node = self.expression()
        if self.position != len(self.tokens):
            raise BadQuery(f"$filter: unexpected {self.tokens[self.position].text!r}.")
        return node

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise BadQuery("$filter ends too early.")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise BadQuery(f"$filter: expected {text!r}, found {token.text!r}.")

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text == word

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise BadQuery(f"$filter nests deeper than {MAX_DEPTH} levels.")
        node = self.conjunction()
        while self.is_word("or"):
            self.take()
            node = Junction("or", node, self.conjunction())
        self.depth -= 1
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.is_word("and"):
            self.take()
            node = Junction("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.is_word("not"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise BadQuery(f"$filter nests deeper than {MAX_DEPTH} levels.")
            operand = self.negation()
            self.depth -= 1
            return Not(operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind != "name":
            raise BadQuery(f"$filter: expected a column name, found {token.text!r}.")
        if token.text in FUNCTIONS and self._next_is("("):
            return self.call(token.text)
        operator = self.take()
        if operator.text not in COMPARISONS:
            raise BadQuery(f"$filter: unknown operator {operator.text!r}.")
        return Comparison(token.text, operator.text, self.literal())

    def _next_is(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.text == text

    def call(self, function: str) -> Call:
        self.expect("(")
        name = self.take()
        if name.kind != "name":
            raise BadQuery(f"$filter: {function} takes a column name first.")
        self.expect(",")
        value = self.literal()
        self.expect(")")
        if not isinstance(value, str):
            raise BadQuery(f"$filter: {function} takes a text in quotes second.")
        return Call(function, name.text, value)

    def literal(self) -> Literal:
        return literal_of(self.take())


_WORDS: dict[str, Literal] = {"true": True, "false": False, "null": None}


def literal_of(token: Token) -> Literal:
    """The value a literal token stands for."""
    try:
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "guid":
            return uuid.UUID(token.text)
        if token.kind == "date":
            return date.fromisoformat(token.text)
        if token.kind == "datetime":
            return datetime.fromisoformat(token.text.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadQuery(f"$filter: {token.text!r} is not a valid value.") from error
    if token.kind == "name" and token.text in _WORDS:
        return _WORDS[token.text]
    raise BadQuery(f"$filter: expected a value, found {token.text!r}.")
