"""The event feed: what happened to the records a caller may read, in a stable order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from oppflow.events import cursor as cursors
from oppflow.events.repository import EventRepository
from oppflow.events.schemas import EventPage, EventRead
from oppflow.security.actor import Actor


def feed(
    session: Session,
    *,
    actor: Actor,
    after: str | None,
    types: Sequence[str],
    limit: int,
) -> EventPage:
    """The events after the cursor ``after`` that ``actor`` may read now, oldest first."""
    start = cursors.parse(after)
    events = EventRepository(session).feed(actor, start, types, limit)
    items = [EventRead.of(event) for event in events]
    next_cursor = items[-1].cursor if items else str(start)
    return EventPage(items=items, next_cursor=next_cursor or str(start))
