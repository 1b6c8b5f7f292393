"""Flows of the pages over HTTP (no browser): process moves, switching process, administration,
and the accessibility rule that every control has a label."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Opportunity, Process, StageHistory
from oppflow.process import catalog
from tests.web.support import (
    csrf_of,
    make_customer,
    make_lead,
    make_opportunity,
    make_user,
    web_login,
)

Factory = sessionmaker[Session]
SHORT_PROCESS = """\
key: short-deal
name: {en: Short deal, fr: Affaire courte}
table: opportunity
stages:
  - key: talk
    name: {en: Talk, fr: Discuter}
    category: qualify
  - key: sign
    name: {en: Sign, fr: Signer}
    category: close
"""


def state_of(factory: Factory, opportunity_id: Any) -> tuple[str | None, str | None, int]:
    with unit_of_work(factory) as session:
        found = session.get(Opportunity, opportunity_id)
        assert found is not None
        return found.process_key, found.active_stage, found.version


def move(client: TestClient, csrf: str, factory: Factory, opportunity_id: Any, kind: str,
         **form: str) -> str:  # fmt: skip
    version = str(state_of(factory, opportunity_id)[2])
    answer = client.post(
        f"/opportunities/{opportunity_id}/process/{kind}",
        data={"csrf": csrf, "version": version, **form},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_every_move_of_the_process_bar(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    csrf = web_login(client, "alice")
    account, contact = make_customer(factory, "alice", "Contoso", "Ann Lee")
    opportunity_id = make_opportunity(factory, "alice", account_id=account, contact_id=contact)
    with unit_of_work(factory) as session:
        catalog.import_yaml(session, actor=None, text=SHORT_PROCESS)
    move(client, csrf, factory, opportunity_id, "next")
    assert state_of(factory, opportunity_id)[1] == "develop"
    move(client, csrf, factory, opportunity_id, "previous")
    move(client, csrf, factory, opportunity_id, "next")
    move(client, csrf, factory, opportunity_id, "set-active", stage="qualify")
    assert state_of(factory, opportunity_id)[:2] == ("opportunity-sales-process", "qualify")
    move(client, csrf, factory, opportunity_id, "switch", process="short-deal")
    assert state_of(factory, opportunity_id)[:2] == ("short-deal", "talk")
    page = client.get(f"/opportunities/{opportunity_id}").text
    assert "Short deal" in page
    assert "Opportunity Sales Process" in page
    move(client, csrf, factory, opportunity_id, "abandon")
    assert "Abandoned" in client.get(f"/opportunities/{opportunity_id}").text
    move(client, csrf, factory, opportunity_id, "reactivate")
    move(client, csrf, factory, opportunity_id, "switch", process="opportunity-sales-process")
    with unit_of_work(factory) as session:
        kinds = session.scalars(
            select(StageHistory.kind)
            .where(StageHistory.opportunity_id == opportunity_id)
            .order_by(StageHistory.seq)  # a table's rows have no order of their own
        ).all()
    assert kinds == [
        "start", "next", "previous", "next", "set_active", "switch", "abandon", "reactivate",
        "switch",
    ]  # fmt: skip


def test_administration_of_processes_and_users(client: TestClient, factory: Factory) -> None:
    make_user(factory, "root", roles=["system-administrator"])
    csrf = web_login(client, "root")
    checked = client.post(
        "/admin/processes", data={"csrf": csrf, "yaml": "key: [", "action": "validate"}
    )
    assert checked.status_code == 200
    assert "flash-error" in checked.text
    valid = client.post(
        "/admin/processes", data={"csrf": csrf, "yaml": SHORT_PROCESS, "action": "validate"}
    )
    assert "Valid: short-deal, 2 stages." in valid.text
    imported = client.post(
        "/admin/processes", data={"csrf": csrf, "yaml": SHORT_PROCESS, "action": "import"}
    )
    assert imported.url.path == "/admin/processes/short-deal"
    assert "category: close" in imported.text
    client.post("/admin/processes/short-deal", data={"csrf": csrf, "is_active": "false"})
    client.post("/admin/processes/short-deal", data={"csrf": csrf, "display_order": "7"})
    with unit_of_work(factory) as session:
        process = session.scalars(select(Process).where(Process.key == "short-deal")).one()
        assert (process.is_active, process.display_order) == (False, 7)
    created = client.post(
        "/admin/users",
        data={"csrf": csrf, "username": "bob", "full_name": "Bob Stone", "roles": "salesperson",
              "is_active": "on", "password": "a-long-password-1"},
    )  # fmt: skip
    assert "Bob Stone" in created.text


def test_a_salesperson_cannot_administer(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    csrf = web_login(client, "alice")
    assert "/admin" not in client.get("/").text
    refused = client.post(
        "/admin/users", data={"csrf": csrf, "username": "mallory", "full_name": "M"}
    )
    assert refused.url.path == "/admin"
    assert "Your roles do not allow this." in refused.text
    imported = client.post(
        "/admin/processes", data={"csrf": csrf, "yaml": SHORT_PROCESS, "action": "import"}
    )
    assert "Your roles do not allow this." in imported.text


class Controls(HTMLParser):
    """Form controls without a label: no ``<label for>``, no wrapping label, no ARIA name."""

    def __init__(self) -> None:
        super().__init__()
        self.labelled_ids: set[str] = set()
        self.depth = 0
        self.unnamed: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.depth += 1
            if found.get("for"):
                self.labelled_ids.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") not in ("hidden",):
            named = found.get("aria-label") or found.get("aria-labelledby") or self.depth
            if not named:
                self.unnamed.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.depth -= 1


def test_every_control_is_labelled(client: TestClient, factory: Factory) -> None:
    make_user(factory, "root", roles=["system-administrator"])
    web_login(client, "root")
    account, contact = make_customer(factory, "root", "Contoso", "Ann Lee")
    opportunity_id = make_opportunity(factory, "root", account_id=account)
    lead_id = make_lead(factory, "root", company_name="Contoso", last_name="Lee")
    paths = [
        "/", "/opportunities", "/opportunities/new", "/board",
        f"/board?fix={opportunity_id}&to=2-Develop", "/leads", "/leads/new", f"/leads/{lead_id}",
        "/accounts", f"/accounts/{account}", f"/contacts/{contact}", "/competitors/new",
        "/admin", "/admin/roles", "/admin/processes",
        *[f"/opportunities/{opportunity_id}?tab={tab}" for tab in
          ("history", "stakeholders", "sales-team", "competitors", "files", "notes")],
    ]  # fmt: skip
    for path in paths:
        parser = Controls()
        html = client.get(path).text
        parser.feed(html)
        unnamed = [c for c in parser.unnamed if c.get("id") not in parser.labelled_ids]
        assert not unnamed, (path, unnamed)
        assert csrf_of(html)


def test_related_tabs_and_files(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    csrf = web_login(client, "alice")
    account, contact = make_customer(factory, "alice", "Contoso", "Ann Lee")
    opportunity_id = make_opportunity(factory, "alice", account_id=account)
    base = f"/opportunities/{opportunity_id}"
    added = client.post(
        f"{base}/stakeholders", data={"csrf": csrf, "contact_id": str(contact), "role": "champion"}
    )
    assert "Ann Lee" in added.text
    assert "Champion" in added.text
    noted = client.post(f"{base}/notes", data={"csrf": csrf, "text": "Call back on Monday."})
    assert "Call back on Monday." in noted.text
    proposal = b"%PDF-1.4\n% a proposal\n"
    uploaded = client.post(
        f"{base}/files?csrf={csrf}", files={"file": ("proposal.pdf", proposal, "application/pdf")}
    )
    assert "proposal.pdf" in uploaded.text
    link = uploaded.text.split('href="/files/')[1].split('"')[0]
    downloaded = client.get(f"/files/{link}")
    assert downloaded.content == proposal
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    refused = client.post(
        f"{base}/files?csrf={csrf}",
        files={"file": ("run.exe", b"MZ\x90\x00", "application/x-msdos")},
    )
    assert refused.url.path == base
    assert "flash-error" in refused.text
    no_token = client.post(f"{base}/files", files={"file": ("a.txt", b"hello", "text/plain")})
    assert no_token.status_code == 403
    deleted = client.post(f"/files/{link}/delete", data={"csrf": csrf})
    assert "No files yet." in deleted.text
