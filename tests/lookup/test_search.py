"""Type-ahead search through the lookup service, on SQLite and PostgreSQL: prefixes of every
term, case folded, wildcards taken literally, and only what the caller may read."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.lookup import repository as lookup_repository
from oppflow.lookup import service as lookup
from oppflow.models import Contact, User
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, ContactCreate
from oppflow.security import service as security_service
from tests.web.support import make_competitor, make_customer, make_user

Factory = sessionmaker[Session]


def labels(factory: Factory, username: str, kind: str, query: str) -> list[str]:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        return [choice.label for choice in lookup.search(session, actor, kind, query)]  # type: ignore[arg-type]


def add_account(factory: Factory, username: str, name: str) -> uuid.UUID:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        return sales_service.create_account(session, actor=actor, data=AccountCreate(name=name)).id


def test_terms_are_folded_cut_and_bounded() -> None:
    assert lookup.terms_of("  Jane  ACME ") == ["jane", "acme"]
    assert lookup.terms_of(None) == []
    assert lookup.terms_of("a b c d e f") == ["a", "b", "c", "d"]
    assert lookup.terms_of("x" * 500) == ["x" * 100]


def test_accounts_by_prefix_of_their_name_case_folded(factory: Factory) -> None:
    make_user(factory, "alice")
    for name in ("Contoso", "contoso East", "Fabrikam", "Con", "Adventure Works"):
        add_account(factory, "alice", name)
    assert labels(factory, "alice", "account", "CONT") == ["Contoso", "contoso East"]
    assert labels(factory, "alice", "account", "con") == ["Con", "Contoso", "contoso East"]
    assert labels(factory, "alice", "account", "oso") == []
    assert labels(factory, "alice", "account", "contoso  e") == ["contoso East"]
    assert labels(factory, "alice", "account", "")[:2] == ["Adventure Works", "Con"]


def test_wildcards_in_a_query_are_plain_characters(factory: Factory) -> None:
    make_user(factory, "alice")
    for name in ("50% Off", "50 Percent", "A_B", "AXB"):
        add_account(factory, "alice", name)
    assert labels(factory, "alice", "account", "50%") == ["50% Off"]
    assert labels(factory, "alice", "account", "a_") == ["A_B"]


def test_a_salesperson_finds_only_the_accounts_they_may_read(factory: Factory) -> None:
    make_user(factory, "alice")
    make_user(factory, "erin", unit="East")
    add_account(factory, "alice", "Contoso")
    add_account(factory, "erin", "Contoso Erin")
    assert labels(factory, "alice", "account", "contoso") == ["Contoso"]
    assert labels(factory, "erin", "account", "contoso") == ["Contoso Erin"]


# Each contact search twice: reading only the first term's candidates, and (none allowed) the
# contacts in name order; the same contacts either way.
CANDIDATES = pytest.mark.parametrize("candidates", [1_000, 0], ids=["candidates", "name order"])


@CANDIDATES
def test_contacts_by_every_term_over_names_e_mail_and_account(
    factory: Factory, candidates: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lookup_repository, "CANDIDATES", candidates)
    make_user(factory, "alice")
    make_customer(factory, "alice", "Acme", "Jane Doe")
    make_customer(factory, "alice", "Globex", "Jane Smith")
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        data = ContactCreate(first_name="Bob", last_name="Stone", email="bob@example.org")
        sales_service.create_contact(session, actor=actor, data=data)
    assert labels(factory, "alice", "contact", "jane") == ["Jane Doe", "Jane Smith"]
    assert labels(factory, "alice", "contact", "jane acm") == ["Jane Doe"]
    assert labels(factory, "alice", "contact", "glob") == ["Jane Smith"]
    assert labels(factory, "alice", "contact", "BOB@EX") == ["Bob Stone"]
    assert labels(factory, "alice", "contact", "stone bob") == ["Bob Stone"]
    assert labels(factory, "alice", "contact", "jane doe smith") == []
    make_customer(factory, "alice", "Acme Corp", "Mary Ann Lee")
    assert labels(factory, "alice", "contact", "mary ann l") == ["Mary Ann Lee"]
    assert labels(factory, "alice", "contact", "acme corp") == ["Mary Ann Lee"]
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        found = lookup.search(session, actor, "contact", "bob")
    assert found[0].detail == "bob@example.org"


@CANDIDATES
def test_a_contact_never_reveals_an_account_its_reader_may_not_read(
    factory: Factory, candidates: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lookup_repository, "CANDIDATES", candidates)
    alice = make_user(factory, "alice")
    make_user(factory, "erin", unit="East")
    account_id, contact_id = make_customer(factory, "erin", "Secret Corp", "Vic Visible")
    with unit_of_work(factory) as session:
        # Erin's contact passes to Alice; its account stays Erin's, out of Alice's reach.
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.owner_id = alice
        contact.owning_business_unit_id = session.get(User, alice).business_unit_id  # type: ignore[union-attr]
    assert labels(factory, "alice", "contact", "secret") == []
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        (found,) = lookup.search(session, actor, "contact", "visible")
        named = lookup.choices_by_id(session, actor, "account", [account_id])
    assert found.detail == ""
    assert named == {}


def test_owners_are_active_users_by_name_user_name_or_e_mail(factory: Factory) -> None:
    make_user(factory, "alice")
    make_user(factory, "albert")
    make_user(factory, "bob")
    assert labels(factory, "bob", "owner", "al") == ["Albert", "Alice"]
    assert labels(factory, "bob", "owner", "ALI") == ["Alice"]


def test_competitors_by_prefix_and_limits(factory: Factory) -> None:
    make_user(factory, "alice")
    for index in range(60):
        make_competitor(factory, "alice", f"Rival {index:02d}")
    assert labels(factory, "alice", "competitor", "rival 0") == [f"Rival 0{i}" for i in range(10)]
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        assert len(lookup.search(session, actor, "competitor", "rival", limit=500)) == 50
        assert len(lookup.search(session, actor, "competitor", "rival", limit=0)) == 1
        assert len(lookup.search(session, actor, "competitor", "rival")) == 20
