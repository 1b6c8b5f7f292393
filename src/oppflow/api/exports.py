"""``GET /api/v1/exports/{table}``: a table as the caller may read it, as CSV or JSON lines,
streamed. Thin: the service checks the request, then pages are read as the client takes them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator, StringConstraints
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.deps import ActorDep
from oppflow.api.responses import Responses, problems
from oppflow.db import unit_of_work
from oppflow.exports import service
from oppflow.exports.service import MAX_FILTERS, ExportRequest

router = APIRouter(prefix="/exports", tags=["exports"])
# The tables of exports/tables.TABLES (a test holds them equal), as an enum of the document.
Table = Literal[
    "accounts", "contacts", "leads", "opportunities", "stage-history", "competitors", "users",
    "quotes", "quote-lines", "products", "price-lists",
]  # fmt: skip
EXPORT: Responses = {
    200: {
        "description": "The rows, as CSV (a header, then a line a row) or JSON lines.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    **problems(401, 403, 422),
}
# field=value: the field as named in the API, the value as it writes it.
FILTER = r"^[a-z_]{1,64}=[^\u0000]{0,200}$"
Filter = Annotated[str, StringConstraints(pattern=FILTER)]
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


def _iso_moment(value: Any) -> Any:
    # Only what the document says (format: date-time): pydantic alone would also read a
    # number as seconds since 1970.
    if isinstance(value, str) and _MOMENT.fullmatch(value):
        return value
    raise ValueError("a moment is written YYYY-MM-DDTHH:MM:SS, with Z or an offset")


Moment = Annotated[datetime, BeforeValidator(_iso_moment)]


@router.get("/{table}", response_class=StreamingResponse, responses=EXPORT)
async def export_table(
    request: Request,
    actor: ActorDep,
    table: Table,
    format: Literal["csv", "jsonl"] = "csv",
    names: Annotated[
        Literal["api", "dataverse"], Query(description="Column names: the API's or Dataverse's.")
    ] = "api",
    state: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
    owner_id: uuid.UUID | None = None,
    modified_since: Annotated[
        Moment | None, Query(description="Rows changed at or after this moment (UTC if bare).")
    ] = None,
    filter: Annotated[
        list[Filter], Query(max_length=MAX_FILTERS, description="field=value, repeatable.")
    ] = [],  # noqa: B006 - FastAPI copies a query default
) -> StreamingResponse:
    """Every row of ``table`` the caller may read, meeting every filter, in key order. Pages of
    rows are read as the client takes the body, each in a short transaction of its own, in a
    worker thread; the file holds the rows as each page found them (decision 0021)."""
    asked = ExportRequest(
        table=table,
        format=format,
        dataverse_names=names == "dataverse",
        filters=filter,
        state=state,
        owner_id=owner_id,
        modified_since=modified_since,
    )
    plan = service.plan(actor, asked)
    factory: sessionmaker[Session] = request.app.state.session_factory
    # A sync iterator: Starlette takes each chunk from it in the thread pool, so no page's
    # query runs on the event loop.
    chunks = service.stream(plan, lambda: unit_of_work(factory, read_only=True))
    disposition = f'attachment; filename="{plan.filename}"'
    headers = {"Content-Disposition": disposition}
    return StreamingResponse(chunks, media_type=plan.media_type, headers=headers)
