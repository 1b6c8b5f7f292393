"""The web pages over HTTP: headers, cookies, CSRF, languages, odd input (never a 500) and
escaping of everything users type."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import AuditEntry, Opportunity
from oppflow.related import service as related
from oppflow.related.schemas import NoteCreate
from oppflow.security import service as security_service
from tests.client import AppClient, app_on
from tests.web.support import (
    csrf_of,
    make_competitor,
    make_customer,
    make_lead,
    make_opportunity,
    make_user,
    web_login,
)

Factory = sessionmaker[Session]
SCRIPT = "<script>alert(1)</script>"


def version_of(factory: Factory, opportunity_id: uuid.UUID) -> str:
    with unit_of_work(factory) as session:
        found = session.get(Opportunity, opportunity_id)
        assert found is not None
        return str(found.version)


@pytest.fixture
def alice(client: TestClient, factory: Factory) -> str:
    """Alice (salesperson) logged in; her CSRF token."""
    make_user(factory, "alice")
    return web_login(client, "alice")


def test_pages_need_a_session(client: TestClient) -> None:
    answer = client.get("/opportunities?view=closed", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fopportunities%3Fview%3Dclosed"


def test_security_headers_and_session_cookie(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    page = client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    answer = client.post(
        "/login",
        data={"username": "alice", "password": "correct-horse-9", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(
        value for key, value in answer.headers.multi_items()
        if key == "set-cookie" and value.startswith("oppflow_session=")
    )  # fmt: skip
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie


def test_secure_cookie_over_https(factory: Factory) -> None:
    make_user(factory, "alice")
    with app_on(factory) as app, AppClient(app, base_url="https://testserver") as secure:
        page = secure.get("/login")
        answer = secure.post(
            "/login",
            data={"username": "alice", "password": "correct-horse-9", "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    assert any(c.startswith("oppflow_session=") and "Secure" in c for c in cookies)
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_failed_log_in_is_audited_like_the_api(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": "alice", "password": "nope", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    with unit_of_work(factory) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == "alice")
        ).all()
    assert actions == ["login_failure"]


def test_log_out_revokes_the_session(client: TestClient, factory: Factory, alice: str) -> None:
    secret = client.cookies["oppflow_session"]
    client.post("/logout", data={"csrf": alice})
    with unit_of_work(factory) as session, pytest.raises(Exception, match="session"):
        security_service.authenticate_session(session, secret)


def test_form_post_without_csrf_is_refused(
    client: TestClient, factory: Factory, alice: str
) -> None:
    opportunity_id = make_opportunity(factory, "alice")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": alice[:-1]}):
        answer = client.post(f"/opportunities/{opportunity_id}/win", data=data)
        assert answer.status_code == 403
        assert "Form refused" in answer.text
    answer = client.post("/login", data={"username": "alice", "password": "x"})
    assert answer.status_code == 403
    with unit_of_work(factory) as session:
        assert session.get(Opportunity, opportunity_id).state == "open"  # type: ignore[union-attr]


def test_language_from_browser_then_from_choice(
    client: TestClient, factory: Factory, alice: str
) -> None:
    french = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "Tableau de bord" in french.text
    client.post("/language", data={"csrf": alice, "language": "en", "next": "/board"})
    english = client.get("/board", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in english.text
    assert "Pipeline board" in english.text


def test_stale_version_is_a_message_not_an_error(
    client: TestClient, factory: Factory, alice: str
) -> None:
    opportunity_id = make_opportunity(factory, "alice")
    version = version_of(factory, opportunity_id)
    data = {"csrf": alice, "version": version, "panel": "qualify", "fields": "budget_amount"}
    first = client.post(
        f"/opportunities/{opportunity_id}/steps", data=data | {"budget_amount": "10"}
    )
    assert first.status_code == 200
    stale = client.post(
        f"/opportunities/{opportunity_id}/steps",
        data=data | {"budget_amount": "20"},
        follow_redirects=False,
    )
    assert stale.status_code == 303
    page = client.get(stale.headers["location"])
    assert "Someone changed this record since you opened it" in page.text
    fetched = client.post(
        f"/opportunities/{opportunity_id}/steps",
        data=data | {"budget_amount": "30"},
        headers={"X-Oppflow-Fetch": "1"},
    )
    assert fetched.status_code == 412
    assert fetched.json()["ok"] is False


def test_refused_next_stage_marks_the_missing_steps(
    client: TestClient, factory: Factory, alice: str
) -> None:
    opportunity_id = make_opportunity(factory, "alice")
    answer = client.post(
        f"/opportunities/{opportunity_id}/process/next",
        data={
            "csrf": alice,
            "version": version_of(factory, opportunity_id),
            "from_stage": "qualify",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "missing=contact_id" in answer.headers["location"]
    page = client.get(answer.headers["location"]).text
    assert "Complete the required steps first: Identify Contact, Identify Account." in page
    assert page.count("Required to move on") == 2


ODD_GETS = [
    "/?funnel=sideways&owner_id=nope&business_unit_id=%00&process_key=" + "x" * 100,
    f"/?funnel=cohort&owner_id={uuid.uuid4()}&process_key=no-such-process",
    "/opportunities/not-a-uuid",
    f"/opportunities/{uuid.uuid4()}",
    "/opportunities/%00",
    "/opportunities?view=nope&sort=drop%20table&descending=maybe&page=-3&per_page=100000",
    "/opportunities?owner_id=zz&pipeline_phase=" + "x" * 500 + "&q=%00%25_\\",
    "/opportunities?page=99999999999999999999",
    "/board?fix=nope&to=9-Nothing&missing=a&missing=b&owner_id=bad",
    f"/board?fix={uuid.uuid4()}&to=2-Develop",
    "/?owner_id=x&business_unit_id=y&process_key=" + "k" * 300,
    "/leads?cursor=garbage&state=weird",
    f"/leads/{uuid.uuid4()}",
    "/accounts?cursor=%%%%&q=" + "a" * 1000,
    "/contacts/new",
    "/competitors/00000000-0000-0000-0000-000000000000",
    "/admin",
    "/admin/processes/nope",
    "/admin/users/not-a-user",
    f"/files/{uuid.uuid4()}",
    "/no/such/page",
    "/opportunities/new?x=%ff",
]


def test_no_page_answers_500_for_odd_input(
    client: TestClient, factory: Factory, alice: str
) -> None:
    opportunity_id = make_opportunity(factory, "alice")
    for path in [*ODD_GETS, f"/opportunities/{opportunity_id}?stage=nope&missing=x&tab=zzz"]:
        answer = client.get(path)
        assert answer.status_code < 500, path
        assert answer.headers["content-type"].startswith("text/html"), path
    odd_posts: list[tuple[str, dict[str, Any]]] = [
        (f"/opportunities/{opportunity_id}/steps", {"version": "abc", "panel": "qualify",
         "fields": ["budget_amount", "final_decision_date", "contact_id"],
         "budget_amount": "-5", "contact_id": "nope"}),
        (f"/opportunities/{opportunity_id}/steps", {"panel": "nope", "fields": "x"}),
        (f"/opportunities/{opportunity_id}/process/sideways", {}),
        (f"/opportunities/{opportunity_id}/process/set-active", {"stage": "\x00" * 3}),
        (f"/opportunities/{opportunity_id}/process/switch", {"process": "nope"}),
        (f"/opportunities/{opportunity_id}/details", {"probability": "500", "name": ""}),
        (f"/opportunities/{opportunity_id}/win", {"close_date": "someday"}),
        (f"/opportunities/{opportunity_id}/lose", {"status_reason": "bored", "competitor_id": "x"}),
        (f"/opportunities/{opportunity_id}/reopen", {}),
        ("/opportunities/new", {"name": "", "estimated_value": "lots"}),
        ("/board/move", {"opportunity": str(opportunity_id), "to_phase": "7-Whatever"}),
        ("/board/move", {"opportunity": "nope", "to_phase": "2-Develop", "back": "//evil.example"}),
        ("/leads/new", {"topic": "", "email": "not-an-email"}),
        (f"/leads/{uuid.uuid4()}/qualify", {"account_choice": "nope"}),
        ("/accounts/new", {"name": "x" * 400}),
        ("/admin/processes", {"yaml": "key: [unclosed", "action": "validate"}),
        ("/admin/processes", {"yaml": "- just\n- a list", "action": "import"}),
        ("/admin/users", {"username": "Bad Name!"}),
        (f"/opportunities/{opportunity_id}/notes", {"text": ""}),
        (f"/files/{uuid.uuid4()}/delete", {}),
    ]  # fmt: skip
    for path, data in odd_posts:
        answer = client.post(path, data={"csrf": alice, **data})
        assert answer.status_code < 500, (path, answer.status_code)


def test_user_text_is_escaped_everywhere(client: TestClient, factory: Factory, alice: str) -> None:
    account_id, contact_id = make_customer(factory, "alice", SCRIPT, f"{SCRIPT} {SCRIPT}")
    competitor_id = make_competitor(factory, "alice", SCRIPT)
    opportunity_id = make_opportunity(
        factory, "alice", name=SCRIPT, description=SCRIPT, account_id=account_id,
        contact_id=contact_id,
    )  # fmt: skip
    lead_id = make_lead(factory, "alice", topic=SCRIPT, company_name=SCRIPT, last_name=SCRIPT)
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        related.add_note(
            session, actor=actor, data=NoteCreate(text=SCRIPT), opportunity_id=opportunity_id
        )
    pages = [
        "/", "/opportunities?view=all", f"/opportunities?view=all&q={SCRIPT}", "/board",
        f"/opportunities/{opportunity_id}", f"/opportunities/{opportunity_id}?tab=notes",
        f"/opportunities/{opportunity_id}?tab=history", f"/board?fix={opportunity_id}&to=2-Develop",
        "/accounts", f"/accounts/{account_id}", "/contacts", f"/contacts/{contact_id}",
        "/competitors", f"/competitors/{competitor_id}", "/leads", f"/leads/{lead_id}",
    ]  # fmt: skip
    for path in pages:
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
