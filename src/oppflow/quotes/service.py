"""Rules on quotes (quote, quotedetail): created from an opportunity, Draft → Active → Won or
Closed (lost, canceled, revised).

Only a draft can be changed (409 otherwise). *Revise* closes an active quote as revised and
opens a draft with the next revision number and the same lines; *Win* closes it as won and, by
default, closes the opportunity as won for the quote's total through the sales service (its
rules apply). Quotes follow their opportunity: the ``quote`` privilege's depth is measured
against the opportunity's owner, unit, shares and sales team.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from oppflow.catalog.pricing import in_currency, within_bounds
from oppflow.clock import utcnow
from oppflow.errors import Conflict, RecordClosed, ValidationFailed
from oppflow.models import Opportunity, OpportunityLine, Quote, QuoteLine
from oppflow.models.base import new_id
from oppflow.quotes.closing import close_quote
from oppflow.quotes.lines import LinePricer, as_create, copy_values, replace_lines
from oppflow.quotes.repository import LineRepository, QuoteRepository
from oppflow.quotes.schemas import (
    MAX_LINES,
    CloseQuoteRequest,
    LineCreate,
    LinesReplace,
    LineUpdate,
    QuoteCreate,
    QuoteUpdate,
    WinQuoteRequest,
)
from oppflow.records import apply_changes, check_version, stamp_new
from oppflow.sales import service as sales_service
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.schemas import WinRequest
from oppflow.security.actor import Actor
from oppflow.security.repository import UserRepository
from oppflow.security.scope import require_through_opportunity


# Creating and reading
def create_from_opportunity(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, data: QuoteCreate
) -> Quote:
    """A draft quote with the opportunity's customer, price list, currency and lines."""
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    require_through_opportunity(session, actor, "quote", "create", opportunity)
    sales_service.ensure_open(opportunity)
    sales_service.check_references(session, actor, {"contact_id": data.contact_id})
    values = data.model_dump(exclude_unset=True) | {
        "name": data.name or opportunity.name,
        "contact_id": data.contact_id or opportunity.contact_id,
        "language": data.language or _owner_language(session, opportunity),
    }
    quote = Quote(
        id=new_id(),
        number=QuoteRepository(session, actor).next_number(),
        revision_number=0,
        opportunity_id=opportunity.id,
        account_id=opportunity.account_id,
        price_list_id=opportunity.price_list_id,
        currency=opportunity.currency,
        **values,
    )
    _check_validity(quote.effective_from, quote.effective_to)
    stamp_new(quote, actor)
    QuoteRepository(session, actor).add_pending(quote)
    source = LineRepository(session, OpportunityLine).lines_of(opportunity.id)
    _copy_lines(session, actor, quote, source)
    return quote


def _owner_language(session: Session, opportunity: Opportunity) -> str:
    """Contacts and accounts carry no language here, so the owner's, else English."""
    language = UserRepository(session).get(opportunity.owner_id).language or "en"
    return "fr" if language.startswith("fr") else "en"


def _copy_lines(
    session: Session, actor: Actor, quote: Quote, source: list[OpportunityLine] | list[QuoteLine]
) -> None:
    lines = [QuoteLine(quote_id=quote.id, **copy_values(line)) for line in source]
    for line in lines:
        stamp_new(line, actor)
    # The quote's row first: no relationship() tells the flush that its lines refer to it.
    session.flush()
    LineRepository(session, QuoteLine).add_all(lines)
    retotal(session, quote, lines)
    session.flush()


def get_quote(session: Session, *, actor: Actor, quote_id: uuid.UUID) -> Quote:
    return QuoteRepository(session, actor).get(quote_id)


def list_quote_lines(session: Session, *, actor: Actor, quote_id: uuid.UUID) -> list[QuoteLine]:
    quote = QuoteRepository(session, actor).get(quote_id)
    return LineRepository(session, QuoteLine).lines_of(quote.id)


# Changing a draft
def update_quote(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    data: QuoteUpdate,
    if_match: int | None = None,
) -> Quote:
    """Change a draft's name, contact, language, validity, terms or description."""
    quote = _draft(session, actor, quote_id, if_match)
    changes = data.model_dump(exclude_unset=True)
    sales_service.check_references(session, actor, changes)
    _check_validity(
        changes.get("effective_from", quote.effective_from),
        changes.get("effective_to", quote.effective_to),
    )
    apply_changes(quote, changes, actor)
    session.flush()
    return quote


def add_quote_line(
    session: Session, *, actor: Actor, quote_id: uuid.UUID, data: LineCreate
) -> QuoteLine:
    quote = _draft(session, actor, quote_id, None)
    repository = LineRepository(session, QuoteLine)
    if repository.count(quote.id) >= MAX_LINES:
        raise ValidationFailed(f"lines: a quote has at most {MAX_LINES} lines.", field="lines")
    line = QuoteLine(
        quote_id=quote.id,
        line_number=repository.next_line_number(quote.id),
        **_pricer(session, actor, quote, [data]).values(data),
    )
    stamp_new(line, actor)
    repository.add_all([line])
    _retotalled(session, actor, quote)
    return line


def replace_quote_lines(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    data: LinesReplace,
    if_match: int | None = None,
) -> list[QuoteLine]:
    """Every line of a draft at once; ``if_match`` is the quote's version."""
    quote = _draft(session, actor, quote_id, if_match)
    pricer = _pricer(session, actor, quote, data.lines)
    priced = [pricer.values(line, f"lines[{n}]") for n, line in enumerate(data.lines)]
    lines = replace_lines(session, actor, QuoteLine, {"quote_id": quote.id}, priced)
    _retotalled(session, actor, quote, lines)
    return lines


def update_quote_line(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    line_id: uuid.UUID,
    data: LineUpdate,
    if_match: int | None = None,
) -> QuoteLine:
    """Change a draft's line (``if_match`` is the line's version); it is priced again."""
    quote = _draft(session, actor, quote_id, None)
    line: QuoteLine = LineRepository(session, QuoteLine).get(quote.id, line_id)
    check_version(line, if_match)
    wanted = as_create(line, data)
    for column, value in _pricer(session, actor, quote, [wanted]).values(wanted).items():
        setattr(line, column, value)
    line.modified_by_id = actor.user_id
    session.flush()
    _retotalled(session, actor, quote)
    return line


def delete_quote_line(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    quote = _draft(session, actor, quote_id, None)
    repository = LineRepository(session, QuoteLine)
    line = repository.get(quote.id, line_id)
    check_version(line, if_match)
    repository.delete(line)
    _retotalled(session, actor, quote)


# The lifecycle
def activate(
    session: Session, *, actor: Actor, quote_id: uuid.UUID, if_match: int | None = None
) -> Quote:
    """Draft → Active: the quote can be sent, won, revised or closed, no longer edited."""
    quote = _draft(session, actor, quote_id, if_match)
    apply_changes(quote, {"state": "active", "status_reason": "active"}, actor)
    quote.activated_at = utcnow()
    session.flush()
    return quote


def revise(
    session: Session, *, actor: Actor, quote_id: uuid.UUID, if_match: int | None = None
) -> Quote:
    """Close an active quote as revised; returns the new draft (next revision, same lines)."""
    quote = _in_state(session, actor, quote_id, if_match, "active", "revise")
    close_quote(actor, quote, "revised")
    session.flush()  # closed before the draft exists, as the events then say
    copied = {c: getattr(quote, c) for c in _REVISION_COLUMNS}
    draft = Quote(
        id=new_id(), revision_number=quote.revision_number + 1, revised_from_id=quote.id, **copied
    )
    stamp_new(draft, actor)
    QuoteRepository(session, actor).add_pending(draft)
    _copy_lines(session, actor, draft, LineRepository(session, QuoteLine).lines_of(quote.id))
    return draft


_REVISION_COLUMNS = (
    "number", "name", "opportunity_id", "account_id", "contact_id", "price_list_id",
    "currency", "language", "effective_from", "effective_to", "terms", "description",
)  # fmt: skip


def win(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    data: WinQuoteRequest,
    if_match: int | None = None,
) -> Quote:
    """Active → Won; by default the opportunity is closed as won for the quote's total."""
    quote = _in_state(session, actor, quote_id, if_match, "active", "win")
    close_quote(actor, quote, "won", state="won")
    session.flush()
    if data.close_opportunity:
        revenue = WinRequest(
            actual_revenue=quote.total_amount,
            close_date=data.close_date,
            description=data.description,
        )
        sales_service.win(session, actor=actor, opportunity_id=quote.opportunity_id, data=revenue)
    return quote


def close(
    session: Session,
    *,
    actor: Actor,
    quote_id: uuid.UUID,
    data: CloseQuoteRequest,
    if_match: int | None = None,
) -> Quote:
    """A draft or active quote closed as lost or canceled."""
    quote = _quote_for(session, actor, quote_id, if_match, "write")
    if quote.state not in ("draft", "active"):
        raise RecordClosed(f"The quote is already {quote.state}.", state=quote.state)
    close_quote(actor, quote, data.status_reason)
    session.flush()
    return quote


def record_sending(session: Session, *, actor: Actor, quote_id: uuid.UUID, sent_to: str) -> Quote:
    """Mark a draft or active quote sent to ``sent_to``, now (after the message went)."""
    quote = _quote_for(session, actor, quote_id, None, "write")
    if quote.state not in ("draft", "active"):
        raise RecordClosed(f"The quote is {quote.state}; it cannot be sent.", state=quote.state)
    apply_changes(quote, {"sent_at": utcnow(), "sent_to": sent_to}, actor)
    session.flush()
    return quote


# Helpers
def _quote_for(
    session: Session, actor: Actor, quote_id: uuid.UUID, if_match: int | None, action: str
) -> Quote:
    repository = QuoteRepository(session, actor)
    quote = repository.get(quote_id)
    check_version(quote, if_match)
    opportunity = repository.opportunity_of(quote)
    require_through_opportunity(session, actor, "quote", action, opportunity)
    return quote


def _draft(session: Session, actor: Actor, quote_id: uuid.UUID, if_match: int | None) -> Quote:
    return _in_state(session, actor, quote_id, if_match, "draft", "change")


def _in_state(
    session: Session,
    actor: Actor,
    quote_id: uuid.UUID,
    if_match: int | None,
    state: str,
    verb: str,
) -> Quote:
    quote = _quote_for(session, actor, quote_id, if_match, "write")
    if quote.state != state:
        hint = " Revise it to change it." if quote.state == "active" and verb == "change" else ""
        raise Conflict(
            f"The quote is {quote.state}; only a {state} quote can {verb}.{hint}",
            state=quote.state,
        )
    return quote


def _check_validity(effective_from: Any, effective_to: Any) -> None:
    if effective_from and effective_to and effective_to < effective_from:
        raise ValidationFailed(
            "effective_to: a quote cannot end before it starts.", field="effective_to"
        )


def _pricer(session: Session, actor: Actor, quote: Quote, lines: list[LineCreate]) -> LinePricer:
    return LinePricer(
        session, actor, currency=quote.currency, price_list_id=quote.price_list_id, lines=lines
    )


def _retotalled(
    session: Session, actor: Actor, quote: Quote, lines: list[QuoteLine] | None = None
) -> None:
    retotal(session, quote, lines)
    quote.modified_by_id = actor.user_id
    session.flush()


def retotal(session: Session, quote: Quote, lines: list[QuoteLine] | None = None) -> None:
    """The quote's totals from its lines again (all of them in ``lines`` when the caller has
    them)."""
    if lines is None:
        lines = LineRepository(session, QuoteLine).lines_of(quote.id)

    def total(amounts: list[Decimal]) -> Decimal:
        return in_currency(within_bounds(sum(amounts, Decimal(0)), "lines"), quote.currency)

    quote.total_line_amount = total(
        [ln.extended_amount + ln.volume_discount + ln.manual_discount - ln.tax for ln in lines]
    )
    quote.total_discount = total([ln.volume_discount + ln.manual_discount for ln in lines])
    quote.total_tax = total([ln.tax for ln in lines])
    quote.total_amount = total([ln.extended_amount for ln in lines])
