"""The web UI in headless Chromium: the seed's journey in French (on PostgreSQL), the board and
row-level security (on SQLite and PostgreSQL), closing, leads and CSRF in English (on SQLite)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunityClose, StageHistory
from tests.web.conftest import Live, open_page
from tests.web.support import (
    PASSWORD,
    make_competitor,
    make_customer,
    make_lead,
    make_opportunity,
    make_user,
)

pytestmark = pytest.mark.usefixtures("people")
ENGLISH = pytest.mark.speaks("en")


@pytest.fixture(scope="module")
def people(live: Live) -> dict[str, uuid.UUID]:
    """Alice, a salesperson of the root unit; Erin, a salesperson of another unit."""
    return {
        "alice": make_user(live.factory, "alice"),
        "erin": make_user(live.factory, "erin", unit="East"),
    }


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    opened = open_page(browser, live)
    yield opened
    opened.context.close()


@pytest.fixture
def page_fr(browser: Any, live: Live) -> Iterator[Any]:
    opened = open_page(browser, live, "fr-FR")
    yield opened
    opened.context.close()


def log_in(page: Any, username: str = "alice") -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def opportunity_row(live: Live, opportunity_id: uuid.UUID) -> Opportunity:
    with unit_of_work(live.factory) as session:
        found = session.get(Opportunity, opportunity_id)
        assert found is not None
        return found


@ENGLISH
def test_log_in_and_out(page: Any) -> None:
    page.goto("/")
    assert "/login" in page.url
    page.locator("#username").fill("alice")
    page.locator("#password").fill("wrong password")
    page.locator("form[action='/login'] button[type=submit]").click()
    assert page.get_by_role("alert").inner_text() == "Unknown user name or wrong password."
    log_in(page)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "oppflow_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    page.get_by_role("button", name=re.compile("Account menu")).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    page.goto("/opportunities")
    assert "/login" in page.url


def fill_step(page: Any, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).fill(value)


def select_step(page: Any, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).select_option(label=option)


def pick(box: Any, name: str) -> None:
    """Type ``name`` into a picker and choose the option so named."""
    box.fill(name)
    listbox = box.page.locator(f"#{box.get_attribute('aria-controls')}")
    listbox.get_by_role("option", name=re.compile("^" + re.escape(name))).first.click()
    assert box.input_value() == name


def mark_complete(page: Any, label: str) -> None:
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(label))).check()


def next_stage(page: Any, button: str, stage: str) -> None:
    page.get_by_role("button", name=re.compile("^" + re.escape(button))).click()
    active = page.locator(".chevron.active .chev-name")
    active.filter(has_text=stage).wait_for()


@pytest.mark.speaks("fr")
def test_seed_journey_in_french(page_fr: Any, live: Live) -> None:
    """The seed page, click by click: Qualifier → Développer → Proposer → Clôturer → Terminé,
    then Fermer comme conclue."""
    page = page_fr
    account, contact = unique("Contoso"), unique("Jean Dupont")
    make_customer(live.factory, "alice", account, contact)
    log_in(page)
    assert page.get_by_role("heading", name="Tableau de bord").is_visible()
    page.goto("/opportunities/new")
    name = unique("50 ordinateurs portables")
    page.get_by_label("Sujet").fill(name)
    page.get_by_role("button", name="Créer").click()
    page.wait_for_url(re.compile(r"/opportunities/[0-9a-f-]{36}"))
    opportunity_id = uuid.UUID(page.url.split("/opportunities/")[1][:36])

    page.get_by_role("link", name=re.compile("^Qualifier")).click()
    pick(page.get_by_role("combobox", name="Identifier le contact", exact=True), contact)
    pick(page.get_by_role("combobox", name="Identifier le compte", exact=True), account)
    select_step(page, "Délai d’exécution d’achat", "Ce trimestre")
    fill_step(page, "Budget estimé", "48000")
    select_step(page, "Procédure d’achat", "Comité")
    mark_complete(page, "Identifier le décisionnaire")
    next_stage(page, "Phase suivante", "Développer")

    fill_step(page, "Besoin du client", "Renouveler le parc de portables.")
    fill_step(page, "Solution proposée", "50 portables avec trois ans de garantie.")
    mark_complete(page, "Identifier les parties prenantes")
    mark_complete(page, "Identifier les concurrents")
    next_stage(page, "Phase suivante", "Proposer")

    for step in (
        "Identifier l’équipe des ventes",
        "Développer la proposition",
        "Effectuer une révision interne",
        "Présenter la proposition",
    ):
        mark_complete(page, step)
    next_stage(page, "Phase suivante", "Clôturer")

    for step in ("Effectuer la proposition finale", "Présenter la proposition finale"):
        mark_complete(page, step)
    fill_step(page, "Confirmer la date de décision", "2031-03-14")
    mark_complete(page, "Envoyer une carte de remerciement")
    mark_complete(page, "Compte rendu du fichier")
    page.get_by_role("button", name=re.compile("^Terminé")).click()
    page.locator(".process-name .badge").filter(has_text="Terminé").wait_for()

    page.get_by_role("button", name="Fermer comme conclue").first.click()
    dialog = page.locator("#dlg-win")
    dialog.get_by_label("Revenu réel").fill("47500")
    dialog.get_by_role("button", name="Fermer comme conclue").click()
    page.get_by_role("status").filter(has_text="Félicitations").wait_for()
    assert page.locator(".record-head .badge-won").inner_text() == "Conclue"

    row = opportunity_row(live, opportunity_id)
    assert (row.state, row.pipeline_phase) == ("won", "4-Close")
    assert row.actual_value == Decimal(47500)
    with unit_of_work(live.factory) as session:
        kinds = session.scalars(
            select(StageHistory.kind)
            .where(StageHistory.opportunity_id == opportunity_id)
            .order_by(StageHistory.seq)  # a table's rows have no order of their own
        ).all()
    assert kinds == ["start", "next", "next", "next", "finish"]


def test_board_drag_refused_then_accepted(page: Any, live: Live) -> None:
    """A card dragged to Develop without its Qualify steps is refused; the small form asks for
    them, and saving it moves the card."""
    account, contact = unique("Fabrikam"), unique("Ana Silva")
    make_customer(live.factory, "alice", account, contact)
    name = unique("Firewall renewal")
    opportunity_id = make_opportunity(live.factory, "alice", name=name, estimated_value=1200)
    log_in(page)
    page.goto("/board")
    card = page.locator(f"[data-card='{opportunity_id}']")
    card.drag_to(page.locator("[data-column][data-phase='2-Develop']"))
    dialog = page.locator("dialog.inline-dialog")
    dialog.wait_for()
    assert "Identify Contact" in dialog.inner_text()
    assert "Identify Account" in dialog.inner_text()
    assert page.get_by_role("alert").inner_text().startswith("Complete the required steps first")
    assert opportunity_row(live, opportunity_id).pipeline_phase == "1-Qualify"

    pick(dialog.get_by_role("combobox", name="Identify Contact"), contact)
    pick(dialog.get_by_role("combobox", name="Identify Account"), account)
    dialog.get_by_role("button", name="Save and move").click()
    page.get_by_role("status").filter(has_text="Moved to Develop").wait_for()
    moved = page.locator("[data-column][data-phase='2-Develop']").locator(
        f"[data-card='{opportunity_id}']"
    )
    assert moved.count() == 1
    assert opportunity_row(live, opportunity_id).pipeline_phase == "2-Develop"


@ENGLISH
def test_close_as_lost_with_a_competitor(page: Any, live: Live) -> None:
    competitor = unique("Northwind")
    competitor_id = make_competitor(live.factory, "alice", competitor)
    opportunity_id = make_opportunity(live.factory, "alice", name=unique("Printers"))
    log_in(page)
    page.goto(f"/opportunities/{opportunity_id}")
    page.get_by_role("button", name="Close as lost").first.click()
    dialog = page.locator("#dlg-lose")
    dialog.get_by_label("Status reason").select_option("out_sold")
    pick(dialog.get_by_role("combobox", name="Competitor"), competitor)
    dialog.get_by_label("Description").fill("Cheaper offer.")
    dialog.get_by_role("button", name="Close as lost").click()
    page.get_by_role("status").filter(has_text="Closed as lost").wait_for()
    assert page.locator(".record-head .badge-lost").inner_text() == "Lost"
    assert page.get_by_role("button", name="Reopen").is_visible()
    with unit_of_work(live.factory) as session:
        close = session.scalars(
            select(OpportunityClose).where(OpportunityClose.opportunity_id == opportunity_id)
        ).one()
        assert (close.status_reason, close.competitor_id) == ("out_sold", competitor_id)


@ENGLISH
def test_a_dialog_leaves_the_focus_in_the_field_reached_before_it_said_it_opened(
    page: Any, live: Live
) -> None:
    """The popover's toggle event comes a task after it opens: a field focused in between (a
    quick hand, or a loaded machine under a test) keeps the focus and what is typed in it."""
    opportunity_id = make_opportunity(live.factory, "alice", name=unique("Focus"))
    log_in(page)
    page.goto(f"/opportunities/{opportunity_id}")
    # The page's own toggle listener runs before this one, added after it: once this one has
    # run, the focus is where the page left it.
    focused = page.evaluate(
        """() => new Promise((done) => {
            const dialog = document.querySelector("#dlg-lose");
            const role = () => document.activeElement.getAttribute("role");
            dialog.addEventListener("toggle", () => done(role()), {once: true});
            document.querySelector("[popovertarget='dlg-lose']").click();
            dialog.querySelector("[role=combobox]").focus();
        })"""
    )
    assert focused == "combobox"
    page.goto(f"/opportunities/{opportunity_id}")
    page.get_by_role("button", name="Close as lost").first.click()
    expect(page.locator("#l-reason")).to_be_focused()  # else the first field


@ENGLISH
def test_lead_qualified_onto_develop(page: Any, live: Live) -> None:
    company = unique("Litware")
    lead_id = make_lead(
        live.factory, "alice", topic=unique("Tablets"), company_name=company,
        first_name="Kim", last_name="Lee", email=f"kim.{uuid.uuid4().hex[:6]}@litware.example",
    )  # fmt: skip
    log_in(page)
    page.goto(f"/leads/{lead_id}")
    page.get_by_role("button", name="Qualify", exact=True).click()
    dialog = page.locator("#dlg-qualify")
    assert dialog.get_by_label(re.compile("Create the account")).is_checked()
    dialog.get_by_role("button", name="Qualify", exact=True).click()
    page.wait_for_url(re.compile(r"/opportunities/[0-9a-f-]{36}"))
    assert page.locator(".chevron.active .chev-name").inner_text() == "Develop"
    assert page.locator(".chevron.done .chev-name").first.inner_text() == "Qualify"
    opportunity_id = uuid.UUID(page.url.split("/opportunities/")[1][:36])
    row = opportunity_row(live, opportunity_id)
    assert (row.pipeline_phase, row.originating_lead_id) == ("2-Develop", lead_id)


def test_salesperson_cannot_see_another_units_opportunity(page: Any, live: Live) -> None:
    name = unique("East coast deal")
    hidden = make_opportunity(live.factory, "erin", name=name)
    log_in(page, "alice")
    answer = page.goto(f"/opportunities/{hidden}")
    assert answer.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    page.goto("/opportunities?view=all")
    assert name not in page.content()


@ENGLISH
def test_form_post_without_csrf_token_is_refused(page: Any, live: Live) -> None:
    opportunity_id = make_opportunity(live.factory, "alice", name=unique("Scanners"))
    log_in(page)
    answer = page.request.post(
        f"/opportunities/{opportunity_id}/lose", form={"status_reason": "canceled"}
    )
    assert answer.status == 403
    assert "Form refused" in answer.text()
    assert opportunity_row(live, opportunity_id).state == "open"
