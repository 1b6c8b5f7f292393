"""What the contract test (``test_contract.py``) found, each pinned by a test of its own."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from oppflow.schemas import NOT_BLANK, visible
from tests.helpers import create_opportunity, openapi, signed_in

OPENAPI: dict[str, Any] = openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in OPENAPI["paths"].items()
    if path.startswith("/api/v1/")
    for method, operation in methods.items()
]


def test_errors_are_declared_as_problem_details_only() -> None:
    for method, path, operation in OPERATIONS:
        responses = operation["responses"]
        assert "401" in responses, f"{method} {path}"
        for status, response in responses.items():
            if status.startswith("4"):
                assert list(response["content"]) == ["application/problem+json"], (
                    f"{method} {path} {status}"
                )


def test_a_405_names_every_method_served_at_the_path(client: TestClient) -> None:
    # Starlette named only the methods of the first route matching the path.
    answer = client.request("OPTIONS", "/api/v1/users")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_history_amounts_are_numbers_in_the_document_and_the_answer(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    schema = OPENAPI["components"]["schemas"]["HistoryItem"]["properties"]["estimated_value"]
    assert {"type": "number"} in schema["anyOf"]
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, estimated_value=48000)
    history = client.get(f"/api/v1/opportunities/{opportunity['id']}/history", headers=headers)
    assert history.json()["items"][0]["estimated_value"] == 48000.0


@pytest.mark.parametrize(
    "text", [" ", "\t\n", "\u00a0", "\u2003", "\u3000 ", "\x1f", "\ufeff", "a", " a "]
)
def test_a_blank_text_is_refused_exactly_when_the_document_says(text: str) -> None:
    # The document's pattern and the code's stripping agree on what white space is.
    adapter = TypeAdapter(Annotated[str, visible(10)])
    try:
        adapter.validate_python(text)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (re.search(NOT_BLANK, text) is not None)


def test_dates_are_iso_dates_only(client: TestClient, factory: sessionmaker[Session]) -> None:
    # A number was read as seconds since 1970.
    headers = signed_in(client, factory)
    assert client.get("/api/v1/analytics/funnel?close_to=0", headers=headers).status_code == 422
    answer = client.get("/api/v1/analytics/funnel?close_to=2027-03-31", headers=headers)
    assert answer.status_code == 200


@pytest.mark.parametrize("probability", [True, 40.5])
def test_integers_and_booleans_are_json_ones(
    client: TestClient, factory: sessionmaker[Session], probability: object
) -> None:
    headers = signed_in(client, factory)
    body = {"name": "Deal", "probability": probability}
    assert client.post("/api/v1/opportunities", json=body, headers=headers).status_code == 422
    body = {"name": "Deal", "probability": 40.0, "debrief_filed": 0}
    assert client.post("/api/v1/opportunities", json=body, headers=headers).status_code == 422
