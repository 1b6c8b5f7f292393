"""Screenshots of the web UI for the README: ``make screenshots``.

Loads the demo data into a temporary SQLite database, serves the application on a free port,
and has Debian's headless Chromium (``/usr/bin/chromium``) save the dashboard, the board and an
opportunity page, in English and in French, next to this file.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from oppflow.api.app import create_app
from oppflow.db import make_engine, unit_of_work
from oppflow.demo import load_demo
from oppflow.install import prepare_database
from oppflow.models import Opportunity

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
USER, PASSWORD = "carlos", "oppflow-carlos-1"  # a salesperson of the demo's one unit
DESKTOP = {"width": 1440, "height": 960}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_database(directory: Path) -> sessionmaker[Any]:
    engine = make_engine(f"sqlite:///{directory / 'demo.db'}")
    prepare_database(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with unit_of_work(factory) as session:
        load_demo(session)
    return factory


def showcase(factory: sessionmaker[Any]) -> str:
    """An open opportunity on Propose (it has a history and done stages to show)."""
    with unit_of_work(factory) as session:
        query = select(Opportunity.id).where(
            Opportunity.state == "open", Opportunity.pipeline_phase == "3-Propose"
        )
        return str(session.scalars(query.order_by(Opportunity.estimated_value.desc())).first())


def serve(factory: sessionmaker[Any]) -> tuple[str, uvicorn.Server]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(factory), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def shoot(browser: Any, url: str, language: str, opportunity: str) -> None:
    context = browser.new_context(base_url=url, viewport=DESKTOP, locale=language,
                                  extra_http_headers={"Accept-Language": language})  # fmt: skip
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{url}/")
    page.screenshot(path=HERE / f"dashboard-{language}.png", full_page=True)
    page.goto("/board")
    page.screenshot(path=HERE / f"board-{language}.png")
    page.goto(f"/opportunities/{opportunity}")
    page.screenshot(path=HERE / f"opportunity-{language}.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(f"/opportunities/{opportunity}")
    page.screenshot(path=HERE / f"opportunity-phone-{language}.png")
    context.close()


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory:
        factory = demo_database(Path(directory))
        url, server = serve(factory)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for language in ("en", "fr"):
                shoot(browser, url, language, showcase(factory))
            browser.close()
        server.should_exit = True
    print(f"Screenshots written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
