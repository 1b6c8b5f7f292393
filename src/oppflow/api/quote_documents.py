"""``GET /api/v1/quotes/{id}/pdf`` (the quote's document) and ``POST /quotes/{id}/send`` (it
e-mailed to the quote's contact)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from oppflow.api.deps import ActorDep, SessionDep, set_etag
from oppflow.api.files import content_disposition
from oppflow.api.responses import Responses, problem, problems
from oppflow.quotes import sending
from oppflow.quotes.schemas import QuoteRead
from oppflow.related.storage import FileStore, default_store

router = APIRouter(tags=["quotes"])
StoreDep = Annotated[FileStore, Depends(default_store)]

PDF_RESPONSES: Responses = {
    200: {
        "description": "The quote as a PDF, in the quote's language (a draft is marked as one).",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    **problems(401, 404, 422),
}
SEND_RESPONSES: Responses = {
    **problems(401, 403, 404, 409, 422),
    502: problem(502, "The e-mail server could not be reached, refused the log-in or the message."),
    503: problem(503, "No e-mail server is configured (OPPFLOW_SMTP_URL)."),
}


@router.get("/quotes/{quote_id}/pdf", response_class=Response, responses=PDF_RESPONSES)
async def quote_pdf(
    session: SessionDep,
    actor: ActorDep,
    quote_id: uuid.UUID,
    download: Annotated[bool, Query(description="As an attachment rather than inline.")] = True,
) -> Response:
    """The quote's PDF: customer, lines, totals, validity and terms, in its language."""
    document, pdf = sending.quote_pdf(session, actor=actor, quote_id=quote_id)
    disposition = content_disposition(document.file_name)
    if not download:
        disposition = disposition.replace("attachment", "inline", 1)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-cache"},
    )


@router.post("/quotes/{quote_id}/send", responses=SEND_RESPONSES)
async def send_quote(
    session: SessionDep, actor: ActorDep, quote_id: uuid.UUID, store: StoreDep, response: Response
) -> QuoteRead:
    """E-mail the PDF to the quote's contact through ``OPPFLOW_SMTP_URL``, keep it as a file
    of the opportunity, and record ``sent_at`` and ``sent_to``. When the server fails (502)
    nothing is recorded."""
    quote = sending.send_quote(session, actor=actor, quote_id=quote_id, store=store)
    read = QuoteRead.model_validate(quote)
    set_etag(response, read.version)
    return read
