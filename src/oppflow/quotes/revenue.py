"""An opportunity's price list and its system-calculated revenue.

When ``is_revenue_system_calculated`` is true, ``estimated_value`` is the sum of the lines'
extended amounts, set again in the same transaction as every change of a line, and cannot be
typed; when false, it is what the user says. The sales service calls :func:`check_changes`
before it applies a create or an update, so every face (API, pages, CLI) gets the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from oppflow.catalog.pricing import in_currency, within_bounds
from oppflow.catalog.repository import PriceListRepository
from oppflow.catalog.service import referenced
from oppflow.errors import ValidationFailed
from oppflow.models import Opportunity, OpportunityLine
from oppflow.quotes.lines import Line
from oppflow.quotes.repository import LineRepository
from oppflow.records import apply_changes
from oppflow.security.actor import Actor


def lines_total(lines: Sequence[Line], currency: str) -> Decimal:
    """The sum of the lines' extended amounts, in ``currency``'s precision (422 when it is
    more than a money column holds)."""
    total = sum((line.extended_amount for line in lines), Decimal(0))
    return in_currency(within_bounds(total, "lines"), currency)


def check_changes(
    session: Session, actor: Actor, opportunity: Opportunity | None, changes: dict[str, Any]
) -> dict[str, Any]:
    """``changes`` to a new (None) or existing opportunity, checked: a price list in the
    opportunity's currency; while the revenue is system-calculated, a typed estimated value
    other than the calculated one is refused (422; the same value, as a form sends back, is no
    change); switched on, the value becomes the lines' sum."""
    currency = changes.get("currency") or (opportunity.currency if opportunity else "USD")
    _check_currency(session, actor, opportunity, changes, currency)
    was_calculated = opportunity is not None and opportunity.is_revenue_system_calculated
    if not changes.get("is_revenue_system_calculated", was_calculated):
        return changes
    if was_calculated:
        assert opportunity is not None
        total = opportunity.estimated_value
    else:
        total = lines_total([] if opportunity is None else _lines(session, opportunity), currency)
    typed = changes.get("estimated_value")
    if typed is not None and typed != total:
        raise ValidationFailed(
            "estimated_value: the revenue is calculated from the lines; switch "
            "is_revenue_system_calculated off to type it.",
            field="estimated_value",
        )
    return {**changes, "estimated_value": total}


def _check_currency(
    session: Session,
    actor: Actor,
    opportunity: Opportunity | None,
    changes: dict[str, Any],
    currency: str,
) -> None:
    price_list_id = changes.get("price_list_id", opportunity.price_list_id if opportunity else None)
    if price_list_id is not None and ("price_list_id" in changes or "currency" in changes):
        price_list = referenced(PriceListRepository(session, actor), price_list_id, "price_list_id")
        if price_list.currency != currency:
            raise ValidationFailed(
                f"price_list_id: that price list is in {price_list.currency}, the opportunity "
                f"in {currency}.",
                field="price_list_id",
            )
    moved = opportunity is not None and changes.get("currency") not in (None, opportunity.currency)
    if moved and opportunity is not None and _lines(session, opportunity):
        raise ValidationFailed(
            f"currency: the opportunity's lines are priced in {opportunity.currency}; "
            "remove them first.",
            field="currency",
        )


def recalculate(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    lines: Sequence[Line] | None = None,
) -> None:
    """After a change of its lines (all of them in ``lines`` when the caller has them): a
    system-calculated opportunity's estimated value is their sum again (its version goes up
    with it)."""
    if not opportunity.is_revenue_system_calculated:
        return
    found = _lines(session, opportunity) if lines is None else lines
    total = lines_total(found, opportunity.currency)
    if opportunity.estimated_value is None or opportunity.estimated_value != total:
        apply_changes(opportunity, {"estimated_value": total}, actor)
        session.flush()


def _lines(session: Session, opportunity: Opportunity) -> list[Line]:
    return LineRepository(session, OpportunityLine).lines_of(opportunity.id)
