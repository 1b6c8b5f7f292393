"""A scripted journey through the API that touches every kind of event."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import create, create_opportunity, qualify_fields


def post(client: TestClient, headers: dict[str, str], path: str, **body: Any) -> Any:
    answer = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def patch(client: TestClient, headers: dict[str, str], oid: str, **fields: Any) -> None:
    answer = client.patch(f"/api/v1/opportunities/{oid}", json=fields, headers=headers)
    assert answer.status_code == 200, answer.text


def journey(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """Create, change, move forward and back, win, reopen, lose, delete; qualify a lead and
    disqualify another. Returns the ids by role."""
    links = qualify_fields(client, headers)
    first = create_opportunity(client, headers, estimated_value=1000, **links)["id"]
    second = create_opportunity(client, headers, name="Second", **links)["id"]
    patch(client, headers, first, estimated_value=2500.5, probability=40)
    patch(client, headers, first, customer_need="More", proposed_solution="Laptops")
    post(client, headers, f"opportunities/{first}/process/next")
    post(client, headers, f"opportunities/{first}/process/next")
    post(client, headers, f"opportunities/{first}/process/previous")
    post(client, headers, f"opportunities/{first}/win")
    post(client, headers, f"opportunities/{first}/reopen")
    post(client, headers, f"opportunities/{first}/lose", status_reason="canceled")
    post(client, headers, f"opportunities/{second}/win", actual_revenue=99)
    lead = create(client, headers, "leads", topic="Chairs", last_name="Roe", company_name="Fab")
    qualified = post(client, headers, f"leads/{lead['id']}/qualify")
    other = create(client, headers, "leads", topic="Desks", last_name="Poe")
    post(client, headers, f"leads/{other['id']}/disqualify", status_reason="no_longer_interested")
    gone = create_opportunity(client, headers, name="Short-lived")["id"]
    deleted = client.delete(f"/api/v1/opportunities/{gone}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    return {
        "first": first,
        "second": second,
        "lead": lead["id"],
        "other_lead": other["id"],
        "from_lead": qualified["opportunity_id"],
        "gone": gone,
    }
