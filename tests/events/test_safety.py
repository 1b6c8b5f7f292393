"""SSRF: no webhook to loopback, link-local or private addresses unless allowed; https only."""

from __future__ import annotations

import ipaddress

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.config import get_settings
from oppflow.events import safety
from tests.events.receiver import Receiver
from tests.events.test_delivery import drain, subscribe
from tests.helpers import signed_in

INTERNAL = ("127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.1.1", "::1", "::ffff:10.0.0.1")


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_internal(address: str) -> None:
    assert safety.is_internal(ipaddress.ip_address(address))


def test_public_addresses_are_not() -> None:
    assert not safety.is_internal(ipaddress.ip_address("93.184.215.14"))


def test_the_allow_list_takes_names_addresses_and_networks() -> None:
    allowed = safety.allow_list("hooks.internal, 127.0.0.1 ,10.1.0.0/16,")
    assert allowed.allows_name("HOOKS.internal.")
    assert allowed.allows_address(ipaddress.ip_address("127.0.0.1"))
    assert allowed.allows_address(ipaddress.ip_address("10.1.200.3"))
    assert not allowed.allows_address(ipaddress.ip_address("10.2.0.1"))


@pytest.fixture
def http_allowed(monkeypatch: pytest.MonkeyPatch, local_webhooks: None) -> None:
    """http allowed (to test addresses alone), but no host on the allow-list."""
    monkeypatch.setenv("OPPFLOW_WEBHOOK_ALLOWED_HOSTS", "")
    get_settings.cache_clear()


def test_literal_internal_addresses_are_refused_at_creation(
    client: TestClient, factory: sessionmaker[Session], http_allowed: None
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
    ):
        answer = client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["opportunity.*"]}, headers=admin
        )
        assert answer.status_code == 422, url
        assert answer.json()["field"] == "url"
    assert client.get("/api/v1/webhooks", headers=admin).json() == {"items": []}


def test_https_only_unless_http_is_allowed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    body = {"url": "http://hooks.example.com/x", "events": ["opportunity.*"]}
    assert client.post("/api/v1/webhooks", json=body, headers=admin).status_code == 422


def test_an_allowed_address_may_be_subscribed(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    subscribe(client, admin, receiver.url)


def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver, http_allowed: None
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    url = receiver.url.replace("127.0.0.1", "localhost")
    webhook = subscribe(client, admin, url, events=["opportunity.created"])
    client.post("/api/v1/opportunities", json={"name": "Probe"}, headers=admin)
    path = f"/api/v1/webhooks/{webhook['id']}/deliveries"
    drain(factory, lambda: _attempts(client, admin, path) >= 2)
    log = client.get(path, headers=admin).json()["items"][0]["log"]
    assert all(attempt["error"].startswith("refused: localhost resolves") for attempt in log)
    assert receiver.received == []


def _attempts(client: TestClient, headers: dict[str, str], path: str) -> int:
    items = client.get(path, headers=headers).json()["items"]
    return len(items[0]["log"]) if items else 0


def test_a_name_on_the_allow_list_is_delivered_to(
    client: TestClient,
    factory: sessionmaker[Session],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPPFLOW_WEBHOOK_ALLOWED_HOSTS", "localhost")
    get_settings.cache_clear()
    admin = signed_in(client, factory, roles=["system-administrator"])
    url = receiver.url.replace("127.0.0.1", "localhost")
    subscribe(client, admin, url, events=["opportunity.created"])
    client.post("/api/v1/opportunities", json={"name": "Probe"}, headers=admin)
    drain(factory, lambda: len(receiver.received) == 1)
    assert receiver.received[0].headers["host"] == url.split("/")[2]


def test_unsafe_resolution_raises_before_any_connection(http_allowed: None) -> None:
    for host in ("127.0.0.1", "169.254.169.254", "10.0.0.1", "localhost"):
        with pytest.raises(safety.UnsafeDestination):
            safety.resolve(host, 80)
