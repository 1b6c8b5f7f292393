"""Queries on leads, and the searches of duplicate detection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import ColumnElement, func, or_

from oppflow.leads.schemas import LeadFilters
from oppflow.models import Account, Contact, Lead
from oppflow.repository import RecordRepository, contains
from oppflow.sales.repository import AccountRepository, ContactRepository


class LeadRepository(RecordRepository[Lead]):
    model = Lead
    label = "lead"

    @staticmethod
    def conditions(filters: LeadFilters) -> list[ColumnElement[bool]]:
        """SQL conditions for the list filters."""
        found: list[ColumnElement[bool]] = []
        if filters.state:
            found.append(Lead.state == filters.state)
        if filters.status_reason:
            found.append(Lead.status_reason == filters.status_reason)
        if filters.owner_id:
            found.append(Lead.owner_id == filters.owner_id)
        if filters.source:
            found.append(Lead.source == filters.source)
        if filters.q:
            columns = (Lead.topic, Lead.first_name, Lead.last_name, Lead.company_name, Lead.email)
            found.append(or_(*(contains(column, filters.q) for column in columns)))
        return found


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
