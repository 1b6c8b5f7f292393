"""``/api/v1/opportunities/{id}/lines``, ``POST /opportunities/{id}/quotes`` and ``/quotes``:
an opportunity's product lines, and quotes with their lines and lifecycle."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, set_etag
from oppflow.api.responses import CHANGE, CREATE, DELETE, LIST, READ, problems
from oppflow.models import OpportunityLine, QuoteLine
from oppflow.quotes import opportunity_lines, service
from oppflow.quotes.repository import QuoteRepository
from oppflow.quotes.schemas import (
    CloseQuoteRequest,
    LineCreate,
    LinePage,
    LineRead,
    LinesReplace,
    LineUpdate,
    QuoteCreate,
    QuoteFilters,
    QuoteRead,
    QuoteUpdate,
    WinQuoteRequest,
)
from oppflow.repository import MAX_PAGE
from oppflow.schemas import Page

router = APIRouter(tags=["quotes"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]
CREATE_UNDER = {**CREATE, **problems(404)}
LINES = "/opportunities/{opportunity_id}/lines"
QUOTE_LINES = "/quotes/{quote_id}/lines"


def _page(lines: list[OpportunityLine] | list[QuoteLine]) -> LinePage:
    return LinePage(items=[LineRead.model_validate(line) for line in lines])


def _quote(response: Response, quote: object) -> QuoteRead:
    read = QuoteRead.model_validate(quote)
    set_etag(response, read.version)
    return read


# An opportunity's lines
@router.get(LINES, responses=READ)
async def list_opportunity_lines(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> LinePage:
    """The opportunity's product lines, in order."""
    return _page(opportunity_lines.list_lines(session, actor=actor, opportunity_id=opportunity_id))


@router.post(LINES, status_code=status.HTTP_201_CREATED, responses=CREATE_UNDER)
async def add_opportunity_line(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: LineCreate,
    response: Response,
) -> LineRead:
    """Add a product at the price list's price, or a write-in; a system-calculated
    opportunity's estimated value becomes the lines' sum."""
    line = opportunity_lines.add_line(
        session, actor=actor, opportunity_id=opportunity_id, data=data
    )
    set_etag(response, line.version)
    return LineRead.model_validate(line)


@router.put(LINES, responses=CHANGE)
async def replace_opportunity_lines(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: LinesReplace,
    if_match: IfMatchDep,
) -> LinePage:
    """Every line at once (If-Match: the opportunity's version); all or nothing."""
    lines = opportunity_lines.replace_lines(
        session, actor=actor, opportunity_id=opportunity_id, data=data, if_match=if_match
    )
    return _page(lines)


@router.patch(LINES + "/{line_id}", responses=CHANGE)
async def update_opportunity_line(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    line_id: uuid.UUID,
    data: LineUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> LineRead:
    """Change a line (If-Match: the line's version); it is priced again."""
    line = opportunity_lines.update_line(
        session,
        actor=actor,
        opportunity_id=opportunity_id,
        line_id=line_id,
        data=data,
        if_match=if_match,
    )
    set_etag(response, line.version)
    return LineRead.model_validate(line)


@router.delete(LINES + "/{line_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE)
async def delete_opportunity_line(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: IfMatchDep,
) -> None:
    """Remove a line."""
    opportunity_lines.delete_line(
        session, actor=actor, opportunity_id=opportunity_id, line_id=line_id, if_match=if_match
    )


# Quotes
@router.post(
    "/opportunities/{opportunity_id}/quotes",
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_UNDER,
)
async def create_quote(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: QuoteCreate,
    response: Response,
) -> QuoteRead:
    """A draft quote from an open opportunity: its customer, price list, currency and lines."""
    quote = service.create_from_opportunity(
        session, actor=actor, opportunity_id=opportunity_id, data=data
    )
    return _quote(response, quote)


@router.get("/quotes", responses=LIST)
async def list_quotes(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[QuoteFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[QuoteRead]:
    """Quotes the caller can read, oldest first, by state or opportunity."""
    repository = QuoteRepository(session, actor)
    rows, next_cursor = repository.page(repository.conditions(filters), limit=limit, cursor=cursor)
    return Page(items=[QuoteRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/quotes/{quote_id}", responses=READ)
async def get_quote(
    session: SessionDep, actor: ActorDep, quote_id: uuid.UUID, response: Response
) -> QuoteRead:
    """One quote, with its totals."""
    return _quote(response, service.get_quote(session, actor=actor, quote_id=quote_id))


@router.patch("/quotes/{quote_id}", responses=CHANGE)
async def update_quote(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    data: QuoteUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> QuoteRead:
    """Change a draft (409 once it is active or closed)."""
    quote = service.update_quote(
        session, actor=actor, quote_id=quote_id, data=data, if_match=if_match
    )
    return _quote(response, quote)


@router.get(QUOTE_LINES, responses=READ)
async def list_quote_lines(session: SessionDep, actor: ActorDep, quote_id: uuid.UUID) -> LinePage:
    """The quote's lines, in order."""
    return _page(service.list_quote_lines(session, actor=actor, quote_id=quote_id))


@router.post(QUOTE_LINES, status_code=status.HTTP_201_CREATED, responses=CREATE_UNDER)
async def add_quote_line(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    data: LineCreate,
    response: Response,
) -> LineRead:
    """Add a line to a draft."""
    line = service.add_quote_line(session, actor=actor, quote_id=quote_id, data=data)
    set_etag(response, line.version)
    return LineRead.model_validate(line)


@router.put(QUOTE_LINES, responses=CHANGE)
async def replace_quote_lines(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    data: LinesReplace,
    if_match: IfMatchDep,
) -> LinePage:
    """Every line of a draft at once (If-Match: the quote's version)."""
    lines = service.replace_quote_lines(
        session, actor=actor, quote_id=quote_id, data=data, if_match=if_match
    )
    return _page(lines)


@router.patch(QUOTE_LINES + "/{line_id}", responses=CHANGE)
async def update_quote_line(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    line_id: uuid.UUID,
    data: LineUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> LineRead:
    """Change a draft's line (If-Match: the line's version)."""
    line = service.update_quote_line(
        session, actor=actor, quote_id=quote_id, line_id=line_id, data=data, if_match=if_match
    )
    set_etag(response, line.version)
    return LineRead.model_validate(line)


@router.delete(QUOTE_LINES + "/{line_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE)
async def delete_quote_line(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: IfMatchDep,
) -> None:
    """Remove a draft's line."""
    service.delete_quote_line(
        session, actor=actor, quote_id=quote_id, line_id=line_id, if_match=if_match
    )


@router.post("/quotes/{quote_id}/activate", responses=CHANGE)
async def activate_quote(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    response: Response,
    if_match: IfMatchDep,
) -> QuoteRead:
    """Draft → Active (409 from any other state)."""
    quote = service.activate(session, actor=actor, quote_id=quote_id, if_match=if_match)
    return _quote(response, quote)


@router.post("/quotes/{quote_id}/revise", status_code=status.HTTP_201_CREATED, responses=CHANGE)
async def revise_quote(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    response: Response,
    if_match: IfMatchDep,
) -> QuoteRead:
    """Close an active quote as revised; answers the new draft (next revision, same lines)."""
    draft = service.revise(session, actor=actor, quote_id=quote_id, if_match=if_match)
    return _quote(response, draft)


@router.post("/quotes/{quote_id}/win", responses=CHANGE)
async def win_quote(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    data: WinQuoteRequest,
    response: Response,
    if_match: IfMatchDep,
) -> QuoteRead:
    """Active → Won; by default the opportunity is closed as won for the quote's total."""
    quote = service.win(session, actor=actor, quote_id=quote_id, data=data, if_match=if_match)
    return _quote(response, quote)


@router.post("/quotes/{quote_id}/close", responses=CHANGE)
async def close_quote(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    data: CloseQuoteRequest,
    response: Response,
    if_match: IfMatchDep,
) -> QuoteRead:
    """Close a draft or active quote as lost or canceled."""
    quote = service.close(session, actor=actor, quote_id=quote_id, data=data, if_match=if_match)
    return _quote(response, quote)
