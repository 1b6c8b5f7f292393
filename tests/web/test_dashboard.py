"""The dashboard's report charts over HTTP, in English and French: each one drawn, with the
line stating its convention; the filters reach every report; the funnel's cohort toggle; and
the process page's stage defaults."""

from __future__ import annotations

import re
import uuid
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.web.i18n import I18n
from tests.web.pipeline import (
    ALICE_DEALS,
    BOB_DEALS,
    REPORTS,
    Deal,
    expected_convention,
    make_pipeline,
)
from tests.web.support import make_user, web_login

Factory = sessionmaker[Session]


@pytest.fixture
def people(factory: Factory) -> dict[str, uuid.UUID]:
    """Maya, a sales manager who reads the unit; Alice and Bob, salespeople with pipelines."""
    found = {name: make_user(factory, name) for name in ("alice", "bob")}
    found["maya"] = make_user(factory, "maya", roles=["sales-manager"])
    make_pipeline(factory, "alice", ALICE_DEALS)
    make_pipeline(factory, "bob", BOB_DEALS)
    return found


def dashboard(client: TestClient, url: str = "/") -> str:
    """The dashboard as its script leaves it: each pending report's card fetched from its
    address and put in its placeholder's place."""
    html = client.get(url).text
    for placeholder, address in re.findall(
        r'(<section[^>]*data-fragment="([^"]+)".*?</section>)', html, re.S
    ):
        answer = client.get(unescape(address), headers={"X-Oppflow-Fragment": "1"})
        assert answer.status_code == 200, answer.text
        assert "<html" not in answer.text  # the card alone
        html = html.replace(placeholder, answer.text)
    return html


def section(html: str, report: str) -> str:
    """The card of ``report`` (its ``data-report``), its markup unescaped."""
    found = re.search(rf'<section[^>]*data-report="{report}"[^>]*>(.*?)</section>', html, re.S)
    assert found, f"no {report} card"
    return unescape(found.group(1))


def convention(card: str) -> str:
    found = re.search(r'<p class="convention">(.*?)</p>', card, re.S)
    assert found, "no convention line"
    return re.sub(r"[ \n]+", " ", found.group(1)).strip()  # keeps the thin and narrow spaces


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_report_is_a_chart_with_its_convention(
    client: TestClient, people: dict[str, uuid.UUID], language: str
) -> None:
    client.cookies.set("oppflow_lang", language)
    web_login(client, "maya")
    html = dashboard(client, "/")
    for report in REPORTS:
        card = section(html, report)
        assert re.search(r'<svg class="chart[^"]*"[^>]*role="img"', card), report
        assert "<desc" in card, report
        assert convention(card).startswith(expected_convention(language, report)), (
            report,
            convention(card),
        )
    cohort = section(dashboard(client, "/?funnel=cohort"), "funnel")
    assert convention(cohort) == expected_convention(language, "cohort")
    i18n = I18n(language)  # numbers and money in the page's language
    commit = i18n.labelled(i18n.gettext("Commit"), i18n.money(48_000))
    assert commit in section(html, "forecast")
    assert i18n.percent(0.5) in section(html, "win-loss")


def test_the_charts_show_the_reports_numbers(
    client: TestClient, people: dict[str, uuid.UUID]
) -> None:
    web_login(client, "maya")
    html = dashboard(client, "/")
    conversion = section(html, "conversion")
    assert "Qualify: 10 reached (100% of the cohort); 2 won, 2 lost, 6 open" in conversion
    assert "Close: 2 reached (20% of the cohort)" in conversion
    stale = section(html, "stale")
    assert re.search(r"<strong>4</strong>\s*of 6 open opportunities", stale)
    for name in ("Scanners for Tailspin", "Tablets for Litware", "Servers for Northwind"):
        assert name in stale
    assert "Laptops for Contoso" not in stale  # moved 28 days ago: not yet stale
    forecast = section(html, "forecast")
    assert "Overdue" in forecast
    assert "No date" in forecast
    assert "Commit: $48,000" in forecast
    assert "Closed (won): $40,000" in forecast
    win_loss = section(html, "win-loss")
    assert "By count: win rate 50%" in win_loss
    assert "Out-sold" in win_loss
    assert "Rival of alice" in win_loss


def test_the_filters_reach_every_report(client: TestClient, people: dict[str, uuid.UUID]) -> None:
    web_login(client, "maya")
    everyone = dashboard(client, "/")
    bob = dashboard(client, f"/?owner_id={people['bob']}")
    assert "Qualify: 2 reached" in section(bob, "conversion")
    assert "Nothing is stale." in section(bob, "stale")
    assert "Pipeline: $5,000" in section(bob, "forecast")
    assert "$48,000" not in section(bob, "forecast")
    assert "By count: win rate 0%" in section(bob, "win-loss")
    assert "Develop: " in section(everyone, "time-in-stage")
    for report in REPORTS:
        assert section(bob, report) != section(everyone, report), report
    alice = dashboard(client, f"/?owner_id={people['alice']}&process_key=opportunity-sales-process")
    assert "Qualify: 8 reached" in section(alice, "conversion")
    assert "By count: win rate 67%" in section(alice, "win-loss")
    # The lead's process carries opportunities too, so the reports can filter on it.
    assert '<option value="lead-to-opportunity-sales-process"' in everyone
    leads = dashboard(client, "/?process_key=lead-to-opportunity-sales-process")
    assert "No opportunity was created in this period." in section(leads, "conversion")
    assert "Nothing is stale." in section(leads, "stale")


def test_the_funnel_toggle_keeps_the_filters(
    client: TestClient, people: dict[str, uuid.UUID]
) -> None:
    web_login(client, "maya")
    owner = people["alice"]
    html = dashboard(client, f"/?owner_id={owner}")
    funnel = section(html, "funnel")
    assert f'href="/?owner_id={owner}&amp;funnel=cohort"' in html
    assert re.search(r'<a href="/\?owner_id=[^"]+" aria-current="page">Open today</a>', html)
    assert "$48,000" in funnel  # the snapshot: Contoso is open in Close
    cohort = dashboard(client, f"/?owner_id={owner}&funnel=cohort")
    assert re.search(r'aria-current="page">Cohort, last 90 days</a>', cohort)
    assert '<input type="hidden" name="funnel" value="cohort">' in cohort
    assert "8 opportunities" in section(cohort, "funnel")  # all of Alice's reached Qualify


def test_an_empty_dashboard_says_so(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    web_login(client, "alice")
    html = dashboard(client, "/")
    assert "Nothing is due to close in the coming months." in html
    assert "No opportunity was created in this period." in html
    assert "No opportunity was closed in this period." in html
    assert "Nothing is stale." in html
    for report in REPORTS:
        assert convention(section(html, report))


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ["Best case", "Committed", "10%", "80%", "global default (30 days)", "on the lead"]),
        ("fr", ["Meilleur cas", "Engagé", "10\xa0%", "80\xa0%", "seuil global (30\xa0jours)"]),
    ],
)
def test_the_process_page_shows_the_stage_defaults(
    client: TestClient, factory: Factory, language: str, texts: list[str]
) -> None:
    make_user(factory, "root", roles=["system-administrator"])
    client.cookies.set("oppflow_lang", language)
    web_login(client, "root")
    html = unescape(client.get("/admin/processes/lead-to-opportunity-sales-process").text)
    table = html[html.index('id="stages-title"') : html.index("</table>")]
    for text in texts:
        assert text in table, text
    rows = re.findall(r"<tr data-stage=", table)
    assert len(rows) == 4


def test_names_in_the_charts_are_escaped(client: TestClient, factory: Factory) -> None:
    script = "<script>alert(1)</script>"
    make_user(factory, "alice")
    make_pipeline(factory, "alice", (Deal(script, 1_000, created_days_ago=50, close_in_days=-40),))
    web_login(client, "alice")
    html = dashboard(client, "/")
    assert script not in html
    stale = re.search(r'data-report="stale".*?</section>', html, re.S)
    assert stale
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</a>" in stale.group(0)


def test_the_page_leaves_the_history_reports_to_fetch_and_each_has_a_page_of_its_own(
    client: TestClient, people: dict[str, uuid.UUID]
) -> None:
    web_login(client, "maya")
    owner = people["bob"]
    html = client.get(f"/?owner_id={owner}&funnel=cohort").text
    addresses = re.findall(r'data-fragment="([^"]+)"', html)
    assert [unescape(a) for a in addresses] == [
        f"/dashboard/{report}?owner_id={owner}"
        for report in ("conversion", "win-loss", "time-in-stage", "stale")
    ]
    assert "Qualify: 2 reached" not in html  # not computed for the page itself
    page = client.get(f"/dashboard/conversion?owner_id={owner}")  # without scripts: a page
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Qualify: 2 reached" in section(page.text, "conversion")
    assert f'href="/?owner_id={owner}"' in page.text  # back to the dashboard, same filters
    assert client.get("/dashboard/nothing").status_code == 404


def test_a_report_fetched_after_signing_out_asks_to_sign_in(
    client: TestClient, people: dict[str, uuid.UUID]
) -> None:
    answer = client.get("/dashboard/stale", follow_redirects=False)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login")
