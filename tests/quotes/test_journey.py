"""Catalogue → opportunity lines → system-calculated revenue → quote → activate → revise → win
→ the opportunity won for the quote's total, over HTTP on SQLite and PostgreSQL; amounts are
compared as exact decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.catalogue import Catalogue, make_catalogue
from tests.helpers import create, create_opportunity, signed_in

H = dict[str, str]


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def get(client: TestClient, headers: H, path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def post(client: TestClient, headers: H, path: str, expect: int = 200, **body: Any) -> Any:
    answer = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert answer.status_code == expect, answer.text
    return answer.json()


def priced_opportunity(client: TestClient, headers: H, catalogue: Catalogue) -> str:
    """An opportunity in euros on the catalogue's price list, its revenue calculated, with a
    discounted and taxed laptop line, a dock line and a write-in."""
    opportunity = create_opportunity(
        client,
        headers,
        currency="EUR",
        price_list_id=catalogue.euros,
        is_revenue_system_calculated=True,
    )
    assert money(opportunity["estimated_value"]) == 0
    oid = opportunity["id"]
    lines = f"opportunities/{oid}/lines"
    create(
        client,
        headers,
        lines,
        product_id=catalogue.laptop,
        quantity=12,
        manual_discount=14.3,
        tax=1000,
    )
    create(client, headers, lines, product_id=catalogue.dock, quantity=3)
    create(
        client,
        headers,
        lines,
        write_in_name="Installation",
        quantity=1,
        price_per_unit=333.33,
        tax=66.67,
    )
    return str(oid)


def test_lines_quote_revision_and_win_carry_exact_amounts_to_the_opportunity(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)

    laptop, dock, install = get(client, headers, f"opportunities/{oid}/lines")["items"]
    # 12 × 1,234.50 = 14,814.00; 5 % off from 10: 740.70; less 14.30, plus 1,000 of tax.
    assert money(laptop["price_per_unit"]) == Decimal("1234.50")
    assert money(laptop["volume_discount"]) == Decimal("740.70")
    assert money(laptop["extended_amount"]) == Decimal("15059.00")
    # 150 % of a 100.33 cost is 150.495, rounded up to a multiple of 5: 155.
    assert money(dock["price_per_unit"]) == Decimal("155")
    assert money(dock["extended_amount"]) == Decimal("465.00")
    assert install["product_id"] is None
    assert money(install["extended_amount"]) == Decimal("400.00")
    assert money(get(client, headers, f"opportunities/{oid}")["estimated_value"]) == Decimal(
        "15924.00"
    )

    # A typed estimated value is refused while the revenue is calculated.
    typed = client.patch(
        f"/api/v1/opportunities/{oid}", json={"estimated_value": 1}, headers=headers
    )
    assert typed.status_code == 422, typed.text
    assert typed.headers["content-type"] == "application/problem+json"

    changed = client.patch(
        f"/api/v1/opportunities/{oid}/lines/{dock['id']}",
        json={"quantity": 4},
        headers={**headers, "If-Match": f'"{dock["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    assert money(changed.json()["extended_amount"]) == Decimal("620.00")
    assert money(get(client, headers, f"opportunities/{oid}")["estimated_value"]) == Decimal(
        "16079.00"
    )

    quote = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    assert quote["state"] == "draft"
    assert quote["revision_number"] == 0
    assert quote["quote_number"].startswith("QUO-")
    assert len(quote["quote_number"]) == 10
    assert quote["currency"] == "EUR"
    assert quote["price_list_id"] == catalogue.euros
    assert money(quote["total_amount"]) == Decimal("16079.00")
    assert money(quote["total_tax"]) == Decimal("1066.67")
    assert money(quote["total_discount"]) == Decimal("755.00")
    assert len(get(client, headers, f"quotes/{quote['id']}/lines")["items"]) == 3

    active = post(client, headers, f"quotes/{quote['id']}/activate")
    assert active["state"] == "active"
    assert active["activated_at"]

    revision = post(client, headers, f"quotes/{quote['id']}/revise", expect=201)
    assert revision["state"] == "draft"
    assert revision["revision_number"] == 1
    assert revision["quote_number"] == quote["quote_number"]
    assert revision["revised_from_id"] == quote["id"]
    old = get(client, headers, f"quotes/{quote['id']}")
    assert (old["state"], old["status_reason"]) == ("closed", "revised")

    lines = get(client, headers, f"quotes/{revision['id']}/lines")["items"]
    write_in = next(line for line in lines if line["write_in_name"] == "Installation")
    gone = client.delete(f"/api/v1/quotes/{revision['id']}/lines/{write_in['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    assert money(get(client, headers, f"quotes/{revision['id']}")["total_amount"]) == Decimal(
        "15679.00"
    )
    post(client, headers, f"quotes/{revision['id']}/activate")
    won = post(client, headers, f"quotes/{revision['id']}/win")
    assert (won["state"], won["status_reason"]) == ("won", "won")

    opportunity = get(client, headers, f"opportunities/{oid}")
    assert opportunity["state"] == "won"
    assert money(opportunity["actual_value"]) == Decimal("15679.00")

    # Every change is in the audit log: the quote's life, its lines, the opportunity's lines.
    audited = get(client, headers, f"audit?table=quotes&record_id={revision['id']}")["items"]
    states = [row["changes"]["state"] for row in audited if "state" in row["changes"]]
    assert sorted(row["action"] for row in audited if row["action"] == "create") == ["create"]
    assert ["draft", "active"] in states
    assert ["active", "won"] in states
    for table in ("quote_lines", "opportunity_lines"):
        actions = {row["action"] for row in get(client, headers, f"audit?table={table}")["items"]}
        assert {"create", "delete" if table == "quote_lines" else "update"} <= actions


def test_an_active_or_closed_quote_cannot_be_edited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    quote = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    line = get(client, headers, f"quotes/{quote['id']}/lines")["items"][0]
    post(client, headers, f"quotes/{quote['id']}/activate")
    closed = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    post(client, headers, f"quotes/{closed['id']}/close", status_reason="canceled")

    for target in (quote, closed):
        before = get(client, headers, f"quotes/{target['id']}")
        refusals = [
            client.patch(f"/api/v1/quotes/{target['id']}", json={"terms": "x"}, headers=headers),
            client.post(
                f"/api/v1/quotes/{target['id']}/lines",
                json={"write_in_name": "Extra", "quantity": 1, "price_per_unit": 1},
                headers=headers,
            ),
            client.put(f"/api/v1/quotes/{target['id']}/lines", json={"lines": []}, headers=headers),
            client.post(f"/api/v1/quotes/{target['id']}/activate", headers=headers),
        ]
        if target is quote:
            refusals.append(
                client.patch(
                    f"/api/v1/quotes/{quote['id']}/lines/{line['id']}",
                    json={"quantity": 2},
                    headers=headers,
                )
            )
        for answer in refusals:
            assert answer.status_code == 409, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
        assert get(client, headers, f"quotes/{target['id']}") == before
    assert post(client, headers, f"quotes/{closed['id']}/win", expect=409)["status"] == 409


def test_losing_the_opportunity_closes_its_open_quotes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    draft = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    active = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    post(client, headers, f"quotes/{active['id']}/activate")
    assert draft["quote_number"] != active["quote_number"]

    post(client, headers, f"opportunities/{oid}/lose", status_reason="out_sold")

    found = get(client, headers, f"quotes?opportunity_id={oid}")["items"]
    assert {q["id"]: (q["state"], q["status_reason"]) for q in found} == {
        draft["id"]: ("closed", "canceled"),
        active["id"]: ("closed", "lost"),
    }
    refused = client.post(
        f"/api/v1/opportunities/{oid}/lines",
        json={"write_in_name": "x", "quantity": 1, "price_per_unit": 1},
        headers=headers,
    )
    assert refused.status_code == 409, refused.text


def test_winning_a_quote_can_leave_the_opportunity_open(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    quote = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    post(client, headers, f"quotes/{quote['id']}/activate")
    post(client, headers, f"quotes/{quote['id']}/win", close_opportunity=False)
    assert get(client, headers, f"opportunities/{oid}")["state"] == "open"


def test_switching_calculation_off_keeps_the_value_the_user_types(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    path = f"/api/v1/opportunities/{oid}"
    # The calculated value sent back unchanged (as the details form does) is no change.
    same = client.patch(
        path, json={"estimated_value": "15924.00", "rating": "hot"}, headers=headers
    )
    assert same.status_code == 200, same.text
    assert money(same.json()["estimated_value"]) == Decimal("15924.00")
    body = {"is_revenue_system_calculated": False, "estimated_value": 20000}
    answer = client.patch(path, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    create(client, headers, f"opportunities/{oid}/lines", product_id=catalogue.laptop, quantity=1)
    assert money(get(client, headers, f"opportunities/{oid}")["estimated_value"]) == 20000
    # Switched on again, the value is the lines' sum once more.
    answer = client.patch(path, json={"is_revenue_system_calculated": True}, headers=headers)
    assert money(answer.json()["estimated_value"]) == Decimal("15924.00") + Decimal("1234.50")


def test_deleting_an_opportunity_deletes_its_lines_and_quotes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    quote = post(client, headers, f"opportunities/{oid}/quotes", expect=201)
    post(client, headers, f"quotes/{quote['id']}/activate")
    draft = post(client, headers, f"quotes/{quote['id']}/revise", expect=201)
    gone = client.delete(f"/api/v1/opportunities/{oid}", headers=headers)
    assert gone.status_code == 204, gone.text
    for found in (quote, draft):
        assert client.get(f"/api/v1/quotes/{found['id']}", headers=headers).status_code == 404
    assert get(client, headers, "quotes")["items"] == []


def test_saving_the_grid_changes_only_the_lines_that_differ(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    oid = priced_opportunity(client, headers, catalogue)
    path = f"/api/v1/opportunities/{oid}/lines"
    before = get(client, headers, f"opportunities/{oid}/lines")["items"]
    fields = ("product_id", "write_in_name", "quantity", "manual_discount", "tax")
    grid = [{f: line[f] for f in fields if line[f] is not None} for line in before]
    grid[2]["price_per_unit"] = 333.33
    grid[1]["quantity"] = 5
    answer = client.put(path, json={"lines": grid}, headers=headers)
    assert answer.status_code == 200, answer.text
    after = answer.json()["items"]
    assert [line["id"] for line in after] == [line["id"] for line in before]
    assert [a["version"] - b["version"] for a, b in zip(after, before, strict=True)] == [0, 1, 0]
    assert money(get(client, headers, f"opportunities/{oid}")["estimated_value"]) == Decimal(
        "16234.00"
    )
    shorter = client.put(path, json={"lines": grid[:1]}, headers=headers)
    assert [line["id"] for line in shorter.json()["items"]] == [before[0]["id"]]
