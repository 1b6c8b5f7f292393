"""Accounts, contacts and competitors: one page shape for plain records (list, page, form)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from oppflow.repository import RecordRepository
from oppflow.sales import service as sales_service
from oppflow.sales.repository import AccountRepository, CompetitorRepository, ContactRepository
from oppflow.sales.schemas import (
    AccountCreate,
    AccountUpdate,
    CompetitorCreate,
    CompetitorUpdate,
    ContactCreate,
    ContactUpdate,
)
from oppflow.web.i18n import N_
from oppflow.web.lead_page import Field


@dataclass(frozen=True)
class Kind:
    """One table of plain records, as the pages show it."""

    path: str
    title: str
    singular: str
    repository: type[RecordRepository[Any]]
    schemas: tuple[type[BaseModel], type[BaseModel]]
    create: Callable[..., Any]
    update: Callable[..., Any]
    fields: tuple[tuple[str, str, str], ...]  # name, label, kind
    columns: tuple[str, ...]
    search: str

    def form_fields(self, gettext: Callable[[str], str]) -> list[Field]:
        return [
            Field(name, gettext(label), kind, required=name == self.fields[0][0])
            for name, label, kind in self.fields
        ]


def _update(function: Callable[..., Any], key: str) -> Callable[..., Any]:
    def update(session: Any, *, actor: Any, record_id: Any, data: Any, if_match: Any) -> Any:
        return function(session, actor=actor, data=data, if_match=if_match, **{key: record_id})

    return update


KINDS: dict[str, Kind] = {
    "accounts": Kind(
        "accounts", N_("Accounts"), N_("Account"), AccountRepository,
        (AccountCreate, AccountUpdate), sales_service.create_account,
        _update(sales_service.update_account, "account_id"),
        (("name", N_("Name"), "text"), ("industry", N_("Industry"), "text"),
         ("website", N_("Website"), "text"), ("phone", N_("Phone"), "text"),
         ("email", N_("Email"), "email"), ("city", N_("City"), "text"),
         ("country", N_("Country"), "text"), ("description", N_("Description"), "long")),
        ("name", "industry", "city", "country"), "name",
    ),
    "contacts": Kind(
        "contacts", N_("Contacts"), N_("Contact"), ContactRepository,
        (ContactCreate, ContactUpdate), sales_service.create_contact,
        _update(sales_service.update_contact, "contact_id"),
        (("last_name", N_("Last name"), "text"), ("first_name", N_("First name"), "text"),
         ("job_title", N_("Job title"), "text"), ("account_id", N_("Account"), "account"),
         ("email", N_("Email"), "email"), ("phone", N_("Phone"), "text"),
         ("description", N_("Description"), "long")),
        ("last_name", "first_name", "job_title", "email"), "last_name",
    ),
    "competitors": Kind(
        "competitors", N_("Competitors"), N_("Competitor"), CompetitorRepository,
        (CompetitorCreate, CompetitorUpdate), sales_service.create_competitor,
        _update(sales_service.update_competitor, "competitor_id"),
        (("name", N_("Name"), "text"), ("website", N_("Website"), "text"),
         ("strengths", N_("Strengths"), "long"), ("weaknesses", N_("Weaknesses"), "long")),
        ("name", "website"), "name",
    ),
}  # fmt: skip
