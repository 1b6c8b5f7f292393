"""Text longer than its column is refused alike on SQLite (which would store it) and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import signed_in


@pytest.mark.parametrize(
    ("things", "field", "longest", "body"),
    [
        ("accounts", "name", 160, {}),
        ("accounts", "city", 100, {"name": "Contoso"}),
        ("contacts", "last_name", 100, {}),
        ("contacts", "job_title", 100, {"last_name": "Doe"}),
        ("competitors", "name", 160, {}),
    ],
)
def test_text_beyond_its_column_answers_422_and_the_longest_fits(
    client: TestClient,
    factory: sessionmaker[Session],
    things: str,
    field: str,
    longest: int,
    body: dict[str, str],
) -> None:
    headers = signed_in(client, factory, "admin", roles=["system-administrator"])
    too_long = client.post(
        f"/api/v1/{things}", json={**body, field: "x" * (longest + 1)}, headers=headers
    )
    assert too_long.status_code == 422, too_long.text
    assert client.get(f"/api/v1/{things}", headers=headers).json()["items"] == []
    fits = client.post(f"/api/v1/{things}", json={**body, field: "x" * longest}, headers=headers)
    assert fits.status_code == 201, fits.text
    assert fits.json()[field] == "x" * longest
