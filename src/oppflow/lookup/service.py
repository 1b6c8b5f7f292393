"""Type-ahead search: the query cut into terms, the results as choices.

A query is folded to lower case and cut at white space into at most :data:`MAX_TERMS` terms. A
name (account, competitor, user) must start with the whole query, its spaces single; a contact
matches when every term starts its first name, last name, e-mail or account's name ("jane acme"),
or when its account's name starts with the whole query ("acme corp"). An empty query lists the
first records by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from oppflow.lookup.repository import LookupRepository
from oppflow.lookup.schemas import Choice, LookupKind
from oppflow.models import Contact
from oppflow.security.actor import Actor

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
MAX_TERMS = 4
MAX_TERM_LENGTH = 100


def terms_of(query: str | None) -> list[str]:
    """``"  Jane  ACME "`` → ``["jane", "acme"]`` (at most four terms of 100 characters)."""
    words = (query or "").lower().split()
    return [word[:MAX_TERM_LENGTH] for word in words[:MAX_TERMS]]


def search(
    session: Session, actor: Actor, kind: LookupKind, query: str | None, limit: int = DEFAULT_LIMIT
) -> list[Choice]:
    """The records of ``kind`` the actor may read whose names start with the query's terms."""
    repository = LookupRepository(session, actor)
    terms = terms_of(query)
    whole = [" ".join(terms)] if terms else []
    limit = max(1, min(limit, MAX_LIMIT))
    if kind == "account":
        return [Choice(row.id, row.name) for row in repository.accounts(whole, limit)]
    if kind == "competitor":
        return [Choice(row.id, row.name) for row in repository.competitors(whole, limit)]
    if kind == "owner":
        users = repository.users(whole, limit)
        return [Choice(row.id, row.full_name, row.email or "") for row in users]
    return _contact_choices(repository, repository.contacts(terms, limit))


def choices_by_id(
    session: Session, actor: Actor, kind: LookupKind, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Choice]:
    """The named records among ``ids`` that the actor may read (the others are left out)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    repository = LookupRepository(session, actor)
    if kind == "contact":
        found = _contact_choices(repository, repository.contacts_by_id(wanted))
        return {choice.id: choice for choice in found}
    names = {
        "account": repository.account_names,
        "competitor": repository.competitor_names,
        "owner": repository.user_names,
    }[kind](wanted)
    return {key: Choice(key, name) for key, name in names.items()}


def contact_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part)


def _contact_choices(repository: LookupRepository, contacts: list[Contact]) -> list[Choice]:
    """Each contact with its e-mail and, when the caller may read it, its account's name."""
    account_ids = [row.account_id for row in contacts if row.account_id is not None]
    accounts = repository.account_names(account_ids) if account_ids else {}
    found = []
    for row in contacts:
        account = accounts.get(row.account_id) if row.account_id else None
        detail = " · ".join(part for part in (row.email, account) if part)
        found.append(Choice(row.id, contact_name(row), detail))
    return found
