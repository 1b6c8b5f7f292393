"""``$filter`` property-tested: random expressions select the same rows as the same predicate
evaluated in Python over the records read through /api/v1; malformed ones answer 400 with the
OData error shape, never 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, signed_in

API = "/api/data/v9.2"
Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Generated = tuple[str, Predicate]
RATINGS = {"hot": 1, "warm": 2, "cold": 3}
WORDS = ["alpha", "beta", "gamma", "delta", "alphabet", "omega"]
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def world(client: TestClient, headers: dict[str, str]) -> list[Row]:
    """Opportunities whose columns take every kind of value, nulls included."""
    for number in range(12):
        fields: dict[str, Any] = {"name": f"{WORDS[number % 6]} {number}"}
        if number % 3:
            fields["estimated_value"] = 250 * number
        if number % 4:
            fields["probability"] = (number * 17) % 101
        if number % 5:
            fields["rating"] = list(RATINGS)[number % 3]
        if number % 2:
            fields["estimated_close_date"] = date(2026, 1 + number % 12, 1 + number).isoformat()
        fields["decision_maker_identified"] = number % 3 == 0
        create(client, headers, "opportunities", **fields)
    return list(client.get("/api/v1/opportunities", headers=headers).json()["items"])


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def comparison(field: str, convert: Callable[[Any], Any], name: str, op: str, literal: Any,
               text: str) -> Generated:  # fmt: skip
    """``name op text`` and its meaning in OData: a null column equals only null."""

    def predicate(row: Row) -> bool:
        value = convert(row[field]) if row[field] is not None else None
        if literal is None:
            return (value is None) == (op == "eq")
        if value is None:
            return op == "ne"
        return COMPARE[op](value, literal)

    return f"{name} {op} {text}", predicate


OPERATORS = st.sampled_from(list(COMPARE))
EQUALITY = st.sampled_from(["eq", "ne"])


@st.composite
def leaves(draw: st.DrawFn) -> Generated:
    kind = draw(st.sampled_from(["money", "integer", "rating", "date", "bool", "text", "call"]))
    if kind == "money":
        amount = draw(st.integers(-1, 12)) * 250 + draw(st.sampled_from([0, 0.5]))
        literal = None if draw(st.booleans()) and amount < 0 else Decimal(str(amount))
        op = draw(EQUALITY) if literal is None else draw(OPERATORS)
        text = "null" if literal is None else str(literal)
        return comparison("estimated_value", lambda v: Decimal(str(v)), "estimatedvalue",
                          op, literal, text)  # fmt: skip
    if kind == "integer":
        value = draw(st.integers(-1, 101))
        return comparison("probability", int, "closeprobability", draw(OPERATORS), value,
                          str(value))  # fmt: skip
    if kind == "rating":
        value = draw(st.integers(0, 4))
        return comparison("rating", RATINGS.__getitem__, "opportunityratingcode",
                          draw(OPERATORS), value, str(value))  # fmt: skip
    if kind == "date":
        day = draw(st.dates(date(2025, 12, 1), date(2027, 1, 31)))
        return comparison("estimated_close_date", date.fromisoformat, "estimatedclosedate",
                          draw(OPERATORS), day, day.isoformat())  # fmt: skip
    if kind == "bool":
        flag = draw(st.booleans())
        return comparison("decision_maker_identified", bool, "decisionmaker", draw(EQUALITY),
                          flag, str(flag).lower())  # fmt: skip
    word = draw(st.sampled_from([*WORDS, "ph", "a", "1", "it's"]))
    if kind == "text":
        return comparison("name", str, "name", draw(EQUALITY), word,
                          "'" + word.replace("'", "''") + "'")  # fmt: skip
    function = draw(st.sampled_from(["contains", "startswith", "endswith"]))
    test = {"contains": str.__contains__, "startswith": str.startswith,
            "endswith": str.endswith}[function]  # fmt: skip
    quoted = "'" + word.replace("'", "''") + "'"
    return f"{function}(name,{quoted})", lambda row: test(row["name"].lower(), word.lower())


def combined(children: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    def junction(pair: tuple[Generated, Generated], operator: str) -> Generated:
        (left, p), (right, q) = pair
        if operator == "and":
            return f"({left}) and ({right})", lambda row: p(row) and q(row)
        return f"({left}) or ({right})", lambda row: p(row) or q(row)

    def negation(child: Generated) -> Generated:
        text, p = child
        return f"not ({text})", lambda row: not p(row)

    pairs = st.tuples(children, children)
    return st.one_of(
        st.builds(junction, pairs, st.sampled_from(["and", "or"])),
        st.builds(negation, children),
    )


EXPRESSIONS = st.recursive(leaves(), combined, max_leaves=6)


def test_random_filters_select_what_python_selects(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    rows = world(client, headers)

    @EXAMPLES
    @given(EXPRESSIONS)
    def check(generated: Generated) -> None:
        text, predicate = generated
        query = {"$filter": text, "$select": "name"}
        answer = client.get(f"{API}/opportunities", params=query, headers=headers)
        assert answer.status_code == 200, (text, answer.text)
        found = sorted(row["name"] for row in answer.json()["value"])
        assert found == sorted(row["name"] for row in rows if predicate(row)), text

    check()


MALFORMED = [
    "name eq", "eq 'x'", "(name eq 'x'", "name eq 'x')", "name eq 'unterminated",
    "name like 'x'", "contains(name)", "contains(name, 3)", "closeprobability eq 'x'",
    "estimatedvalue gt null", "name eq 'a' and", "not", "opportunityratingcode eq 1.5",
    "estimatedclosedate eq 2026-13-45", "_ownerid_value eq 'not a guid'", "password eq 'x'",
    "name eq 'a' or or name eq 'b'", "1 eq 1", "((((((((((((((((((((((((((((((((((((((((("
    "(((((name eq 'x')))))))))))))))))))))))))))))))))))))))))))))", "name eq @p",
    "estimatedvalue eq 1e400", "name eq 'x' " * 500,
]  # fmt: skip


def test_malformed_filters_answer_400_in_the_odata_shape(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    for text in MALFORMED:
        answer = client.get(f"{API}/opportunities", params={"$filter": text}, headers=headers)
        assert answer.status_code == 400, (text, answer.text)
        assert set(answer.json()["error"]) >= {"code", "message"}, text


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.text(alphabet="()', abcdeqnotrlgsw0123456789-.:T_", max_size=60))
def test_any_text_is_a_filter_or_a_400(client: TestClient, factory: sessionmaker[Session],
                                       text: str) -> None:  # fmt: skip
    answer = client.get(f"{API}/competitors", params={"$filter": text},
                        headers=_token(client, factory))  # fmt: skip
    assert answer.status_code in (200, 400), (text, answer.text)
    if answer.status_code == 400:
        assert set(answer.json()["error"]) >= {"code", "message"}


_TOKENS: dict[int, dict[str, str]] = {}


def _token(client: TestClient, factory: sessionmaker[Session]) -> dict[str, str]:
    """One log-in per database, reused by every example."""
    if id(factory) not in _TOKENS:
        _TOKENS[id(factory)] = signed_in(client, factory)
    return _TOKENS[id(factory)]
