"""What the quote pages show: the opportunity's *Products* and *Quotes* tabs, and one quote
with its lines, totals, lifecycle and document; read through the quotes' services and
repositories, amounts formatted exactly (with the currency's decimals)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

from oppflow.catalog.repository import PriceListItemRepository, ProductRepository
from oppflow.catalog.schemas import ProductFilters
from oppflow.errors import PermissionDenied
from oppflow.models import Opportunity, OpportunityLine, Product, Quote, QuoteLine
from oppflow.quotes import opportunity_lines
from oppflow.quotes import service as quote_service
from oppflow.quotes.repository import QuoteRepository
from oppflow.quotes.schemas import QuoteFilters
from oppflow.security.privileges import Depth
from oppflow.security.scope import require_through_opportunity
from oppflow.web import lookups
from oppflow.web.context import Page
from oppflow.web.i18n import N_, I18n

BLANK_ROWS = 3
MAX_PRODUCT_CHOICES = 500
QUOTE_STATUS = {
    "in_progress": N_("In progress"),
    "active": N_("Active"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "canceled": N_("Canceled"),
    "revised": N_("Revised"),
}


def exact_money(i18n: I18n, value: Decimal | None, currency: str) -> str:
    """An amount with the currency's decimals ("1 234,50 €"), as the quote prints it."""
    return "" if value is None else format_currency(value, currency, locale=i18n.language)


@dataclass(frozen=True)
class LineRow:
    """One line as the grid shows it."""

    line: OpportunityLine | QuoteLine
    name: str
    price: str
    discount: str
    tax: str
    amount: str


def line_rows(
    page: Page, lines: list[OpportunityLine] | list[QuoteLine], currency: str
) -> list[LineRow]:
    names = _product_names(page, {line.product_id for line in lines if line.product_id})
    shown = [
        LineRow(
            line=line,
            name=line.write_in_name or names.get(line.product_id or uuid.UUID(int=0), "—"),
            price=exact_money(page.i18n, line.price_per_unit, currency),
            discount=exact_money(page.i18n, line.volume_discount + line.manual_discount, currency),
            tax=exact_money(page.i18n, line.tax, currency),
            amount=exact_money(page.i18n, line.extended_amount, currency),
        )
        for line in lines
    ]
    return shown


def _product_names(page: Page, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids or page.actor.depth("product", "read") == Depth.NONE:
        return {}
    return {i: p.name for i, p in ProductRepository(page.session, page.actor).many(ids).items()}


def product_choices(page: Page) -> list[tuple[str, str]]:
    """Active products for a line's select (none when the roles do not read products)."""
    if page.actor.depth("product", "read") == Depth.NONE:
        return []
    rows = _active_products(page)
    return sorted(((str(p.id), f"{p.name} ({p.product_number})") for p in rows), key=_by_label)


def _active_products(page: Page) -> list[Product]:
    repository = ProductRepository(page.session, page.actor)
    conditions = repository.conditions(ProductFilters(state="active"))
    return repository.page(conditions, limit=MAX_PRODUCT_CHOICES, cursor=None)[0]


def _by_label(choice: tuple[str, str]) -> str:
    return choice[1].casefold()


def grid_products(
    page: Page, price_list_id: uuid.UUID | None, lines: list[OpportunityLine] | list[QuoteLine]
) -> list[tuple[str, str]]:
    """What a line's select offers: the active products priced on the price list (every
    active product when there is none), and the products already on the lines, retired or
    not on the list, so that saving the grid keeps them."""
    if page.actor.depth("product", "read") == Depth.NONE:
        return []
    repository = ProductRepository(page.session, page.actor)
    kept = repository.many({line.product_id for line in lines if line.product_id})
    offered = {p.id: p for p in _priced_on(page, price_list_id) if p.state == "active"}
    labelled = ((str(p.id), f"{p.name} ({p.product_number})") for p in (offered | kept).values())
    return sorted(labelled, key=_by_label)


def _priced_on(page: Page, price_list_id: uuid.UUID | None) -> list[Product]:
    if price_list_id is None or page.actor.depth("price_list", "read") == Depth.NONE:
        return _active_products(page)
    items = PriceListItemRepository(page.session, page.actor).of_list(price_list_id)
    ids = {item.product_id for item in items}
    return list(ProductRepository(page.session, page.actor).many(ids).values())


def products_tab(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    """The opportunity's lines as an editable grid, with their total."""
    lines = opportunity_lines.list_lines(
        page.session, actor=page.actor, opportunity_id=opportunity.id
    )
    total = sum((line.extended_amount for line in lines), Decimal(0))
    shown = exact_money(page.i18n, total, opportunity.currency)
    grid = {
        "action": f"/opportunities/{opportunity.id}/lines",
        "version": opportunity.version,
        "rows": line_rows(page, lines, opportunity.currency),
        "blank_rows": BLANK_ROWS,
        "products": grid_products(page, opportunity.price_list_id, lines),
        "totals": [(page.i18n.gettext("Total"), shown)],
    }
    return {
        "grid": grid,
        "calculated": opportunity.is_revenue_system_calculated,
        "estimated": exact_money(page.i18n, opportunity.estimated_value, opportunity.currency),
    }


def quotes_tab(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    """The opportunity's quotes, newest revision first, and whether one can be made."""
    repository = QuoteRepository(page.session, page.actor)
    conditions = repository.conditions(QuoteFilters(opportunity_id=opportunity.id))
    quotes = repository.page(conditions, limit=100, cursor=None)[0]
    quotes.sort(key=lambda q: (q.number, q.revision_number), reverse=True)
    return {
        "quotes": [(q, exact_money(page.i18n, q.total_amount, q.currency)) for q in quotes],
        "statuses": QUOTE_STATUS,
        "can_create": opportunity.state == "open"
        and page.actor.depth("quote", "create") > Depth.NONE,
    }


def quote_context(page: Page, quote_id: uuid.UUID) -> dict[str, Any]:
    """One quote: its header, lines, totals and what the user may do with it."""
    session, actor = page.session, page.actor
    quote = quote_service.get_quote(session, actor=actor, quote_id=quote_id)
    repository = QuoteRepository(session, actor)
    opportunity = repository.opportunity_of(quote)
    lines = quote_service.list_quote_lines(session, actor=actor, quote_id=quote.id)
    return {
        "q": quote,
        "o": opportunity,
        "grid": _quote_grid(page, quote, lines),
        "totals": _totals(page.i18n, quote),
        "statuses": QUOTE_STATUS,
        "can_write": _may_write(page, opportunity),
        "contacts": lookups.contacts(session, actor, [quote.contact_id]),
        "languages": [("en", "English"), ("fr", "Français")],
    }


def _quote_grid(page: Page, quote: Quote, lines: list[QuoteLine]) -> dict[str, Any]:
    """The quote's lines in the *Products* grid of the opportunity (editable for a draft)."""
    return {
        "action": f"/quotes/{quote.id}/lines",
        "version": quote.version,
        "rows": line_rows(page, lines, quote.currency),
        "blank_rows": BLANK_ROWS,
        "products": grid_products(page, quote.price_list_id, lines),
        "totals": _totals(page.i18n, quote),
    }


def _may_write(page: Page, opportunity: Opportunity) -> bool:
    try:
        require_through_opportunity(page.session, page.actor, "quote", "write", opportunity)
    except PermissionDenied:
        return False
    return True


def _totals(i18n: I18n, quote: Quote) -> list[tuple[str, str]]:
    money = [
        (N_("Detail amount"), quote.total_line_amount),
        (N_("Total discount"), quote.total_discount),
        (N_("Total tax"), quote.total_tax),
        (N_("Total amount"), quote.total_amount),
    ]
    return [
        (i18n.gettext(label), exact_money(i18n, value, quote.currency)) for label, value in money
    ]
