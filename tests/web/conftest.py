"""Fixtures of the browser tests: the app served by uvicorn in a thread (one server per test module
and database), and Debian's headless Chromium driven by Playwright.

The browser tests are skipped, saying why, when ``/usr/bin/chromium`` is missing (``.ci/run``
installs it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_BROWSER = "Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)"


@dataclass(frozen=True)
class Live:
    """A served application: its address and the session factory of its database."""

    url: str
    factory: sessionmaker[Session]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live(module_factory: sessionmaker[Session]) -> Iterator[Live]:
    """The application served on a free port, on the module's database."""
    factory = module_factory
    port = _free_port()
    config = uvicorn.Config(create_app(factory), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield Live(f"http://127.0.0.1:{port}", factory)
    server.should_exit = True
    thread.join(timeout=10)


# Each browser scenario that speaks a language runs twice, in English on SQLite and in French on
# PostgreSQL: both languages and both databases, at half the cost of the four pairs. A scenario
# written in one language (``@pytest.mark.speaks("fr")``) runs once, on that language's
# database (decision 0028).
LANGUAGE_ON = {"sqlite": "en", "postgresql": "fr"}


@pytest.fixture(scope="module")
def language(module_engine: Engine) -> str:
    """The language the module's browser speaks: that of its database (``LANGUAGE_ON``)."""
    return LANGUAGE_ON[module_engine.dialect.name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the runs of a one-language scenario on the other language's database."""
    elsewhere = {item.nodeid for item in items if _speaks_elsewhere(item)}
    if elsewhere:
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in elsewhere])
        items[:] = [item for item in items if item.nodeid not in elsewhere]


def _speaks_elsewhere(item: pytest.Item) -> bool:
    speaks = item.get_closest_marker("speaks")
    if speaks is None:
        return False
    callspec = getattr(item, "callspec", None)
    database = callspec.params.get("module_engine") if callspec else None
    if database is None or speaks.args[0] not in LANGUAGE_ON.values():
        # Else the marker would hide the test on both databases, or be ignored.
        raise pytest.UsageError(
            f"{item.nodeid}: speaks({speaks.args[0]!r}) needs a language of "
            f"LANGUAGE_ON and a test on the module's database (live)"
        )
    return LANGUAGE_ON[database] != speaks.args[0]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per test process."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser: Any, live: Live, language: str = "en") -> Any:
    """A fresh browser context (no cookies) speaking ``language``, and its page."""
    context = browser.new_context(
        base_url=live.url,
        locale=language,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    return context.new_page()
