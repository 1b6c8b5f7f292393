"""Fixtures of the event and webhook tests: settings for a local receiver, and the receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oppflow.config import get_settings
from tests.events.receiver import Receiver, running_receiver


@pytest.fixture
def local_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """http to 127.0.0.1 allowed, and retries in fractions of a second."""
    monkeypatch.setenv("OPPFLOW_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("OPPFLOW_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("OPPFLOW_WEBHOOK_RETRY_BASE_SECONDS", "0.02")
    monkeypatch.setenv("OPPFLOW_WEBHOOK_RETRY_MAX_SECONDS", "0.1")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def receiver(local_webhooks: None) -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
