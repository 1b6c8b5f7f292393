"""``/api/v1/events``: the feed of what changed, for scripts that catch up after downtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import problems
from oppflow.events import service
from oppflow.events.cursor import PATTERN
from oppflow.events.schemas import TYPE_PATTERN, EventPage

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", responses=problems(401, 422))
async def list_events(
    session: SessionDep,
    actor: ActorDep,
    after: Annotated[str | None, Query(pattern=PATTERN, max_length=40)] = None,
    type: Annotated[
        list[Annotated[str, Query(pattern=TYPE_PATTERN, max_length=40)]] | None,
        Query(max_length=20, description="Types to keep; `opportunity.*` keeps a kind."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """Events about the opportunities, leads and quotes the caller may read, oldest first, after
    the cursor ``after`` (from the start without it). Read on with ``next_cursor``: the order
    is stable, and an event never appears behind a cursor already given."""
    return service.feed(session, actor=actor, after=after, types=type or [], limit=limit)
