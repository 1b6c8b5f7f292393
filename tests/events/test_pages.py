"""The webhook administration pages, in English and French, on the services the API uses."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web.support import csrf_of, make_user, web_login


def _admin(client: TestClient, factory: sessionmaker[Session]) -> str:
    make_user(factory, "root", roles=["system-administrator"])
    return web_login(client, "root")


def test_create_shows_the_secret_once_then_lists_and_disables(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    csrf = _admin(client, factory)
    listing = client.get("/admin/webhooks")
    assert listing.status_code == 200
    assert "No subscription yet." in listing.text
    created = client.post(
        "/admin/webhooks",
        data={
            "csrf": csrf,
            "url": "https://erp.example.com/hooks",
            "events": ["opportunity.won", "lead.*"],
            "pipeline_phases": "3-Propose, 4-Close",
        },
    )
    assert created.status_code == 201, created.text
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.text)
    assert secret is not None
    page_url = re.search(r'action="(/admin/webhooks/[0-9a-f-]{36})"', created.text)
    assert page_url is not None
    again = client.get(page_url.group(1))
    assert secret.group(0) not in again.text
    assert "No delivery yet." in again.text
    assert "erp.example.com" in client.get("/admin/webhooks").text
    disabled = client.post(
        page_url.group(1),
        data={
            "csrf": csrf_of(again.text),
            "enabled": "false",
            "url": "https://erp.example.com/hooks",
            "events": ["lead.*"],
        },
        follow_redirects=True,
    )
    assert "Disabled by an administrator." in disabled.text


def test_an_internal_url_is_refused_with_a_message_and_nothing_saved(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    csrf = _admin(client, factory)
    refused = client.post(
        "/admin/webhooks",
        data={"csrf": csrf, "url": "https://169.254.169.254/latest", "events": ["lead.*"]},
        follow_redirects=True,
    )
    assert "may not name a private address" in refused.text
    assert "No subscription yet." in client.get("/admin/webhooks").text


def test_a_salesperson_may_not_see_webhooks(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    make_user(factory, "alice")
    web_login(client, "alice")
    assert client.get("/admin/webhooks").status_code == 403


def test_the_pages_speak_french(client: TestClient, factory: sessionmaker[Session]) -> None:
    _admin(client, factory)
    page = client.get("/admin/webhooks", headers={"Accept-Language": "fr"})
    assert "Nouvel abonnement" in page.text
    assert "Abonnements" in page.text
