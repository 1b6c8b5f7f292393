"""Queries on leads, and the searches of duplicate detection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import func

from oppflow.models import Account, Contact, Lead
from oppflow.repository import RecordRepository, equal_to, text_in
from oppflow.sales.repository import AccountRepository, ContactRepository


class LeadRepository(RecordRepository[Lead]):
    model = Lead
    label = "lead"

    list_filters = {
        "state": equal_to(Lead.state),
        "status_reason": equal_to(Lead.status_reason),
        "owner_id": equal_to(Lead.owner_id),
        "source": equal_to(Lead.source),
        # The topic, the names, the company or the e-mail.
        "q": text_in(Lead.topic, Lead.first_name, Lead.last_name, Lead.company_name, Lead.email),
    }


class DuplicateRepository:
    """The accounts and contacts, among those the actor can read, that a new one would repeat."""

    def __init__(self, accounts: AccountRepository, contacts: ContactRepository) -> None:
        self.accounts = accounts
        self.contacts = contacts

    def account_names(self) -> Iterator[tuple[uuid.UUID, str]]:
        """The id and name of every readable account, for comparing normalised names in Python
        (normalisation strips punctuation and legal suffixes, which SQL cannot do portably)."""
        query = (
            self.accounts.readable()
            .with_only_columns(Account.id, Account.name)
            .order_by(Account.name, Account.id)
            .execution_options(yield_per=1000)
        )
        return iter(self.accounts.session.execute(query))

    def contacts_with_email(self, email: str) -> list[Contact]:
        """Readable contacts whose e-mail is ``email``, ignoring case."""
        query = (
            self.contacts.readable()
            .where(func.lower(Contact.email) == email.casefold())
            .order_by(Contact.last_name, Contact.id)
            .limit(20)
        )
        return list(self.contacts.session.scalars(query))
