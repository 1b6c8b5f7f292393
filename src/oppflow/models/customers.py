"""Accounts (the customer companies) and their contacts."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.models.base import Audited, Base, lower_index, new_id


class Account(Audited, Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), index=True)
    # The record's id in the system it was imported from; imports match on it (decision 0019).
    external_id: Mapped[str | None] = mapped_column(
        String(100), default=None, index=True, unique=True
    )
    website: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(50), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    industry: Mapped[str | None] = mapped_column(String(100), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    country: Mapped[str | None] = mapped_column(String(100), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("business_units.id"), default=None, index=True
    )


class Contact(Audited, Base):
    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    first_name: Mapped[str | None] = mapped_column(String(100), default=None)
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    # The record's id in the system it was imported from; imports match on it (decision 0019).
    external_id: Mapped[str | None] = mapped_column(
        String(100), default=None, index=True, unique=True
    )
    email: Mapped[str | None] = mapped_column(String(254), default=None, index=True)
    phone: Mapped[str | None] = mapped_column(String(50), default=None)
    job_title: Mapped[str | None] = mapped_column(String(100), default=None)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    description: Mapped[str | None] = mapped_column(Text, default=None)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("business_units.id"), default=None, index=True
    )


# Pickers search by prefix, case-insensitively (oppflow.lookup.repository).
lower_index("ix_accounts_name_lower", Account.name)
lower_index("ix_contacts_last_name_lower", Contact.last_name)
lower_index("ix_contacts_first_name_lower", Contact.first_name)
lower_index("ix_contacts_email_lower", Contact.email)
