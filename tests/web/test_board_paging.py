"""Board columns paged over HTTP on SQLite and PostgreSQL: 40 cards, then 40 more on request,
with the column's count and total exact whatever is shown."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.web.support import Factory, make_opportunity, make_user, web_login


def cards_in(html: str, phase: str) -> int:
    start = html.index(f'data-phase="{phase}" role="listitem"')
    end = html.index("</section>", start)
    return html[start:end].count('class="opp-card"')


def test_a_column_shows_forty_then_more(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    for number in range(90):
        make_opportunity(factory, "alice", name=f"Card {number:02d}", estimated_value=Decimal(10))
    web_login(client, "alice")
    first = client.get("/board").text
    assert cards_in(first, "1-Qualify") == 40
    assert "Show 40 more" in first
    assert "All 90 in the list" in first
    assert "$900" in first
    second = client.get("/board?show=1-Qualify&count=80").text
    assert cards_in(second, "1-Qualify") == 80
    assert "Show 10 more" in second
    assert "$900" in second
    third = client.get("/board?show=1-Qualify&count=120").text
    assert cards_in(third, "1-Qualify") == 90
    assert "more" not in third[third.index('data-phase="1-Qualify" role') :].split("</section>")[0]
    assert client.get("/board?show=1-Qualify&count=100000").status_code in (400, 422)
