"""Time zones on the pages, over HTTP on SQLite and PostgreSQL: the profile's zone, else the
browser's, else UTC; times stored in UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import update

from oppflow.db import unit_of_work
from oppflow.models import AuditEntry, StageHistory
from tests.web.support import Factory, csrf_of, make_opportunity, make_user, web_login

MOMENT = datetime(2030, 1, 15, 23, 30, tzinfo=UTC)


def pinned_history(factory: Factory, opportunity_id: uuid.UUID) -> None:
    """Every history row of the opportunity at 23:30 UTC on 15 January 2030."""
    with unit_of_work(factory) as session:
        session.execute(
            update(StageHistory)
            .where(StageHistory.opportunity_id == opportunity_id)
            .values(at=MOMENT)
        )
        session.execute(
            update(AuditEntry).where(AuditEntry.record_id == opportunity_id).values(at=MOMENT)
        )


def test_times_move_with_the_profiles_time_zone(client: TestClient, factory: Factory) -> None:
    make_user(factory, "mona", roles=["sales-manager"])
    deal = make_opportunity(factory, "mona", name="Zones")
    pinned_history(factory, deal)
    web_login(client, "mona")
    assert "1/15/30, 11:30\u202fPM" in client.get(f"/opportunities/{deal}").text
    token = csrf_of(client.get("/profile").text)
    saved = client.post("/profile", data={"csrf": token, "time_zone": "Asia/Tokyo", "language": ""})
    assert saved.status_code == 200
    page = client.get(f"/opportunities/{deal}").text
    assert "1/16/30, 8:30\u202fAM" in page
    assert "11:30\u202fPM" not in page
    assert "Asia/Tokyo" in client.get("/profile").text


def test_the_browsers_zone_serves_until_one_is_chosen(client: TestClient, factory: Factory) -> None:
    make_user(factory, "mona", roles=["sales-manager"])
    deal = make_opportunity(factory, "mona", name="Browser zone")
    pinned_history(factory, deal)
    web_login(client, "mona")
    client.cookies.set("oppflow_tz", "America/New_York")
    assert "1/15/30, 6:30\u202fPM" in client.get(f"/opportunities/{deal}").text
    client.cookies.set("oppflow_tz", "Nowhere/Special")
    assert "1/15/30, 11:30\u202fPM" in client.get(f"/opportunities/{deal}").text


def test_a_bad_zone_is_a_message_and_the_language_follows(
    client: TestClient, factory: Factory
) -> None:
    make_user(factory, "alice")
    web_login(client, "alice")
    token = csrf_of(client.get("/profile").text)
    answer = client.post(
        "/profile", data={"csrf": token, "time_zone": "Mars/Olympus"}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert "flash-error" in client.get("/profile").text
    client.post("/profile", data={"csrf": token, "time_zone": "Europe/Paris", "language": "fr"})
    page = client.get("/profile").text
    assert "Fuseau horaire et langue" in page
    assert "Maintenant à Europe/Paris" in page
