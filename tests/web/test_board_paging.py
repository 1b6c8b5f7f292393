"""Board columns paged over HTTP on SQLite and PostgreSQL: 40 cards, then 40 more on request,
with the column's count and total exact whatever is shown; the cards' order."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi.testclient import TestClient

from oppflow.analytics.lists import opportunities_in_order
from oppflow.analytics.repository import AnalyticsRepository
from oppflow.analytics.schemas import FunnelFilters
from oppflow.db import unit_of_work
from oppflow.security.service import actor_by_username
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


def test_a_column_is_in_close_date_then_id_order_undated_last(factory: Factory) -> None:
    """The cards' ids come from the index in its order, the cards after: the order must
    survive the second read. Close dates out of the order of creation, ties, undated ones;
    a limit that reaches into the undated."""
    make_user(factory, "alice")
    dates = ["2027-03-01", "2027-01-15", None, "2027-01-15", "2027-02-01", None, "2027-01-15"]
    made = [(date, make_opportunity(factory, "alice", estimated_close_date=date)) for date in dates]
    dated = sorted((date, key) for date, key in made if date is not None)
    undated = sorted(key for date, key in made if date is None)
    expected = [key for _, key in dated] + undated
    with unit_of_work(factory, read_only=True) as session:
        repository = AnalyticsRepository(session, actor_by_username(session, "alice"))
        shown = repository.board_cards(FunnelFilters(), "1-Qualify", limit=6)
    assert [card.id for card in shown] == expected[:6]


def test_a_card_gone_between_its_id_and_its_load_is_left_out(factory: Factory) -> None:
    make_user(factory, "alice")
    kept = make_opportunity(factory, "alice")
    with unit_of_work(factory, read_only=True) as session:
        gone = uuid.uuid4()  # as one deleted after its id was read
        assert [o.id for o in opportunities_in_order(session, [gone, kept])] == [kept]
