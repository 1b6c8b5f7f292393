"""In headless Chromium: a small CSV imported through the mapping screen in French (its
columns mapped by hand, the mapping saved by name), the job run by the worker loop in a thread
as ``oppflow serve`` runs it, the progress page followed to its end, the report downloaded;
the same without JavaScript (the page refreshes itself); and axe on the import pages."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.events.worker import start_thread
from oppflow.imports import jobs as import_jobs
from oppflow.imports.schemas import MappingCreate
from oppflow.models import Account, ImportMapping, Opportunity
from oppflow.security import service as security_service
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_user

# The scenarios follow one French user's imports (the one without JavaScript, in English).
pytestmark = pytest.mark.speaks("fr")

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
SERIOUS = {"serious", "critical"}
FRENCH_CSV = (
    "Nom du compte;Ville;Courriel\n"
    "Fabrikam;Lyon;info@fabrikam.example\n"
    "Tailspin;Nantes;pas-une-adresse\n"
    "Northwind;Lille;contact@northwind.example\n"
)
FRENCH_COLUMNS = {"Nom du compte": "name", "Ville": "city", "Courriel": "email"}


@pytest.fixture(scope="module")
def worker(live: Live) -> Iterator[None]:
    """The worker loop (webhooks and imports) in a thread beside the server, as
    ``oppflow serve`` starts it on SQLite."""
    make_user(live.factory, "lea")
    thread, stop = start_thread(live.factory)
    yield
    stop.set()
    thread.join(timeout=30)


def log_in(page: Any, username: str = "lea") -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def serious_violations(page: Any) -> list[str]:
    results = axe_playwright.Axe().run(page)
    return [
        f"{found['id']} ({found['impact']}): {[node['target'] for node in found['nodes']][:3]}"
        for found in results.response["violations"]
        if found.get("impact") in SERIOUS
    ]


def upload(page: Any, source: Path, table_label: str, file_label: str, button: str) -> None:
    page.goto("/imports")
    page.get_by_label(table_label, exact=True).select_option("accounts")
    page.get_by_label(file_label, exact=True).set_input_files(str(source))
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/mapping$"))


def keep_mapping(live: Live, name: str, columns: dict[str, str]) -> None:
    """Lea's mapping ``name``, saved through the service (the same as the first test saves on
    the page: the tests may run on two pytest workers, each on a database of its own)."""
    with unit_of_work(live.factory) as session:
        actor = security_service.actor_by_username(session, "lea")
        data = MappingCreate(name=name, table="accounts", columns=columns)
        import_jobs.save_mapping(session, actor=actor, data=data)


def accounts(live: Live) -> dict[str, tuple[str | None, str | None]]:
    with unit_of_work(live.factory, read_only=True) as session:
        rows = session.execute(select(Account.name, Account.city, Account.email))
        return {name: (city, email) for name, city, email in rows}


def test_a_csv_imported_through_the_mapping_screen_in_french(
    browser: Any, live: Live, worker: None, tmp_path: Path
) -> None:
    source = tmp_path / "comptes.csv"
    source.write_text(FRENCH_CSV, encoding="utf-8")
    page = open_page(browser, live, "fr")
    found: dict[str, list[str]] = {}
    try:
        log_in(page)
        page.goto("/imports")
        found["/imports"] = serious_violations(page)
        upload(page, source, "Importer dans", "Fichier", "Envoyer et associer les colonnes")
        found["mapping"] = serious_violations(page)
        # Nothing maps itself from these French headers: each is chosen here.
        for header, field in FRENCH_COLUMNS.items():
            page.get_by_label(header, exact=True).select_option(field)
        page.get_by_label("Enregistrer cette association sous (facultatif)").fill("CRM français")
        page.get_by_role("button", name="Lancer l’import").click()
        page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}$"))
        # imports.js polls the job and reloads the page once the worker has run it.
        page.get_by_text("Terminé").wait_for(timeout=30_000)
        assert page.locator("#import-progress").get_attribute("value") == "3"
        assert page.locator("[data-import-created]").inner_text() == "2"
        assert page.locator("[data-import-refused]").inner_text() == "1"
        assert page.get_by_text("3 lignes sur 3").is_visible()
        found["job"] = serious_violations(page)
        with page.expect_download() as download:
            page.get_by_role("link", name="Télécharger le rapport (CSV)").click()
        report = Path(download.value.path()).read_text(encoding="utf-8")
        rows = list(csv.reader(report.splitlines()))
        assert rows[0] == ["row", "column", "value", "why"]
        assert rows[1][:3] == ["2", "email", "pas-une-adresse"]
    finally:
        page.context.close()
    assert {name: found[name] for name in found if found[name]} == {}
    assert accounts(live) == {
        "Fabrikam": ("Lyon", "info@fabrikam.example"),
        "Northwind": ("Lille", "contact@northwind.example"),
    }
    with unit_of_work(live.factory, read_only=True) as session:
        saved = session.scalars(select(ImportMapping)).one()
    assert (saved.name, saved.columns) == ("CRM français", FRENCH_COLUMNS)


@pytest.mark.speaks("en")
def test_without_javascript_the_saved_mapping_is_reused_and_the_page_refreshes_itself(
    browser: Any, live: Live, worker: None, tmp_path: Path
) -> None:
    source = tmp_path / "more.csv"
    source.write_text("Nom du compte;Ville;Courriel\nContoso;Paris;\n", encoding="utf-8")
    keep_mapping(live, "CRM français", FRENCH_COLUMNS)
    context = browser.new_context(base_url=live.url, java_script_enabled=False, locale="en")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page)
        upload(page, source, "Import into", "File", "Upload and map the columns")
        page.get_by_label("Use a saved mapping").select_option(label="CRM français")
        page.get_by_role("button", name="Use it").click()
        assert page.get_by_label("Ville", exact=True).input_value() == "city"
        page.get_by_role("button", name="Start the import").click()
        page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}$"))
        page.get_by_text("Done", exact=True).wait_for(timeout=30_000)
        assert page.locator("[data-import-created]").inner_text() == "1"
    finally:
        context.close()
    assert accounts(live)["Contoso"] == ("Paris", None)


def test_opportunities_imported_through_the_page_reach_their_stage_history_for_admins_only(
    browser: Any, live: Live, worker: None, tmp_path: Path
) -> None:
    source = tmp_path / "opportunites.csv"
    source.write_text(
        "Sujet;Montant;Étape\nFlotte;48000;Qualifier\nServeurs;9000;Proposer\n", encoding="utf-8"
    )
    page = open_page(browser, live, "fr")
    try:
        log_in(page)
        page.goto("/imports")
        offered = page.locator("#i-table option").evaluate_all("(all) => all.map(o => o.value)")
        # History rewrites the past: a salesperson is not offered it (and is refused it).
        assert offered == ["accounts", "contacts", "leads", "opportunities"]
        page.get_by_label("Importer dans", exact=True).select_option("opportunities")
        page.get_by_label("Fichier", exact=True).set_input_files(str(source))
        page.get_by_role("button", name="Envoyer et associer les colonnes").click()
        page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/mapping$"))
        # The fields are named in the page's language, the API name beside.
        page.get_by_label("Sujet", exact=True).select_option(label="Nom (name)")
        page.get_by_label("Montant", exact=True).select_option(
            label="Revenu estimé (estimated_value)"
        )
        page.get_by_label("Étape", exact=True).select_option(label="Phase (stage)")
        page.get_by_role("button", name="Lancer l’import").click()
        page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}$"))
        page.get_by_text("Terminé").wait_for(timeout=30_000)
        assert page.locator("[data-import-created]").inner_text() == "1"
        assert page.locator("[data-import-refused]").inner_text() == "1"
    finally:
        page.context.close()
    with unit_of_work(live.factory, read_only=True) as session:
        placed = session.execute(select(Opportunity.name, Opportunity.active_stage)).all()
    # Serveurs would skip Qualify's required steps: refused whole, as the engine refuses it.
    assert [tuple(row) for row in placed] == [("Flotte", "qualify")]
