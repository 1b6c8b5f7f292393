"""What each exportable table writes: its columns under the API's field names (the read schema
of its endpoint, so that ``imports/mapping.py`` maps a CSV export back), or under the Dataverse
logical names of ``dataverse/entities.py`` on request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from oppflow.catalog.schemas import PriceListRead, ProductRead
from oppflow.dataverse import entities
from oppflow.dataverse.entities import EntitySet
from oppflow.leads.schemas import LeadRead
from oppflow.models import (
    Account,
    Competitor,
    Contact,
    Lead,
    Opportunity,
    PriceList,
    Product,
    Quote,
    QuoteLine,
    StageHistory,
    User,
)
from oppflow.process.schemas import HistoryItem
from oppflow.quotes.schemas import LineRead, QuoteRead
from oppflow.sales.schemas import AccountRead, CompetitorRead, ContactRead, OpportunityRead
from oppflow.security.schemas import UserRead


@dataclass(frozen=True)
class ExportColumn:
    """One column of the file: its header and the record attribute it is read from."""

    name: str
    attribute: str
    # Set under Dataverse names: option sets become their integer codes.
    dataverse: entities.Column | None = None
    # The attribute is a user's id, written as their user name (the importer's ``owner``).
    user_name: bool = False


@dataclass(frozen=True)
class ExportTable:
    name: str  # as in the URL: stage-history, quote-lines
    model: type[Any]
    privilege: str  # the privilege table whose read it needs
    columns: tuple[ExportColumn, ...]
    dataverse: EntitySet | None = None
    by_name: dict[str, ExportColumn] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def key(self) -> Any:
        """The column the pages follow: the primary key, always indexed and unique."""
        return self.model.seq if self.model is StageHistory else self.model.id

    @property
    def since(self) -> Any:
        """The column ``modified_since`` compares: when the row last changed."""
        return self.model.at if self.model is StageHistory else self.model.modified_at

    def dataverse_columns(self) -> tuple[ExportColumn, ...]:
        """The entity set's columns (computed ones aside), under their logical names."""
        assert self.dataverse is not None
        return tuple(
            ExportColumn(column.name, column.attribute, column)
            for column in self.dataverse.columns
            if column.derive is None
        )


def _from_schema(schema: type[BaseModel], *extra: str) -> tuple[ExportColumn, ...]:
    """The read schema's fields, in its order, read from the attribute each validates from
    (``roles`` from ``role_keys``); then ``extra`` attributes the endpoint shows elsewhere."""
    columns = [
        ExportColumn(name, str(info.validation_alias or name))
        for name, info in schema.model_fields.items()
    ]
    return (*columns, *(ExportColumn(name, name) for name in extra))


def _importable(schema: type[BaseModel]) -> tuple[ExportColumn, ...]:
    """A record table's columns, then what the importer needs to read the file back into
    another database: the record's own external id, and its owner by user name (user ids
    differ from one database to the next)."""
    extra = (
        ExportColumn("external_id", "external_id"),
        ExportColumn("owner", "owner_id", None, True),
    )
    return (*_from_schema(schema), *extra)


def _history_columns() -> tuple[ExportColumn, ...]:
    # The history endpoint answers one opportunity's rows; an export needs to say whose.
    named = {"by": "by_id"}
    columns = [ExportColumn(name, named.get(name, name)) for name in HistoryItem.model_fields]
    return (ExportColumn("opportunity_id", "opportunity_id"), *columns)


TABLES: dict[str, ExportTable] = {
    table.name: table
    for table in (
        ExportTable("accounts", Account, "account", _importable(AccountRead), entities.ACCOUNTS),
        ExportTable("contacts", Contact, "contact", _importable(ContactRead), entities.CONTACTS),
        ExportTable("leads", Lead, "lead", _importable(LeadRead), entities.LEADS),
        ExportTable(
            "opportunities",
            Opportunity,
            "opportunity",
            _importable(OpportunityRead),
            entities.OPPORTUNITIES,
        ),
        ExportTable("stage-history", StageHistory, "opportunity", _history_columns()),
        ExportTable(
            "competitors", Competitor, "competitor", _from_schema(CompetitorRead),
            entities.COMPETITORS,
        ),
        ExportTable("users", User, "user", _from_schema(UserRead), entities.SYSTEMUSERS),
        ExportTable("quotes", Quote, "quote", _from_schema(QuoteRead)),
        ExportTable("quote-lines", QuoteLine, "quote", _from_schema(LineRead, "quote_id")),
        ExportTable("products", Product, "product", _from_schema(ProductRead)),
        ExportTable("price-lists", PriceList, "price_list", _from_schema(PriceListRead)),
    )
}  # fmt: skip
