"""What closing an opportunity does to its quotes; the sales service's close calls this, so
every face (API, pages, CLI) closes them alike."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from oppflow.clock import utcnow
from oppflow.models import Quote
from oppflow.quotes.repository import QuoteRepository
from oppflow.records import apply_changes
from oppflow.security.actor import Actor


def close_open_quotes(session: Session, actor: Actor, opportunity_id: uuid.UUID) -> list[Quote]:
    """An opportunity lost: its active quotes close as lost, its drafts as canceled."""
    closed = QuoteRepository(session, actor).open_of(opportunity_id)
    for quote in closed:
        close_quote(actor, quote, "lost" if quote.state == "active" else "canceled")
    session.flush()
    return closed


def close_quote(actor: Actor, quote: Quote, status_reason: str, state: str = "closed") -> None:
    """Mark ``quote`` closed (or won) for ``status_reason``, now."""
    apply_changes(
        quote, {"state": state, "status_reason": status_reason, "closed_at": utcnow()}, actor
    )
