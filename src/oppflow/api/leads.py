"""``/api/v1/leads``: records, qualification, disqualification, reactivation and notes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.openapi.models import Example

from oppflow.api.deps import ActorDep, IfMatchDep, LanguageDep, SessionDep, set_etag
from oppflow.api.responses import (
    CHANGE,
    CREATE,
    DELETE,
    DUPLICATES,
    LIST,
    READ,
    Responses,
    problem,
    problems,
)
from oppflow.leads import service
from oppflow.leads.repository import LeadRepository
from oppflow.leads.schemas import (
    DisqualifyRequest,
    LeadCreate,
    LeadFilters,
    LeadRead,
    LeadUpdate,
    QualifyRequest,
    QualifyResult,
)
from oppflow.process import service as process_service
from oppflow.process.schemas import InstanceView
from oppflow.related import service as related_service
from oppflow.related.schemas import NoteCreate, NoteRead
from oppflow.repository import MAX_PAGE
from oppflow.schemas import Page

router = APIRouter(prefix="/leads", tags=["leads"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]

LEAD_CREATE: dict[str, Example] = {
    "web": Example(
        summary="A lead from the website",
        value={
            "topic": "50 laptops for the new office",
            "first_name": "Dana",
            "last_name": "Lopez",
            "company_name": "Fabrikam Ltd",
            "email": "dana.lopez@fabrikam.example",
            "estimated_value": 57500,
            "source": "web",
            "purchase_timeframe": "this_quarter",
        },
    )
}
_DUPLICATES = {
    "type": "https://oppflow.dev/problems/conflict",
    "title": "Conflict",
    "status": 409,
    "detail": "Possible duplicates: account Fabrikam, Inc. (…). Link them (existing_account_id, "
    "existing_contact_id) or send ignore_duplicates.",
    "duplicates": [{"table": "account", "id": "…", "name": "Fabrikam, Inc."}],
}
QUALIFY_RESPONSES: Responses = {
    **problems(400, 401, 403, 404, 412),
    409: problem(
        409,
        "Possible duplicates (listed in `duplicates`), a closed lead, a lead already "
        "qualified, or a concurrent change won.",
        schema=DUPLICATES,
        example=_DUPLICATES,
    ),
    422: problem(
        422,
        "An existing account or contact that cannot be found, or a record that cannot be "
        "created (nothing is created then).",
    ),
}
_CLOSED = problem(409, "The lead is qualified or disqualified: reactivate it first.")
CLOSED_RESPONSES: Responses = {**CHANGE, 409: _CLOSED}
NOTE_RESPONSES = problems(400, 401, 403, 404, 409, 422)


def _read(response: Response, lead: Any) -> LeadRead:
    set_etag(response, lead.version)
    return LeadRead.model_validate(lead)


@router.get("", responses=LIST)
async def list_leads(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[LeadFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LeadRead]:
    """Leads the caller can read, oldest first, filtered by state, status reason, owner, source
    or text (``q``: topic, names, company, e-mail)."""
    repository = LeadRepository(session, actor)
    items, next_cursor = repository.page_answers(LeadRead, filters, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_lead(
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    data: Annotated[LeadCreate, Body(openapi_examples=LEAD_CREATE)],
) -> LeadRead:
    """Create an open lead (status new); it starts on Qualify of the lead-to-opportunity
    process."""
    return _read(response, service.create_lead(session, actor=actor, data=data))


@router.get("/{lead_id}", responses=READ)
async def get_lead(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID, response: Response
) -> LeadRead:
    """One lead; its ``ETag`` is the version to send back in ``If-Match``."""
    lead = LeadRepository(session, actor).get_answer(lead_id, LeadRead)
    set_etag(response, lead.version)
    return lead


@router.patch("/{lead_id}", responses=CLOSED_RESPONSES)
async def update_lead(
    session: SessionDep,
    actor: ActorDep,
    lead_id: uuid.UUID,
    data: LeadUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> LeadRead:
    """Change an open lead's fields (qualified and disqualified leads answer 409)."""
    lead = service.update_lead(session, actor=actor, lead_id=lead_id, data=data, if_match=if_match)
    return _read(response, lead)


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE)
async def delete_lead(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID, if_match: IfMatchDep
) -> None:
    """Delete a lead with its notes; a lead qualified into an opportunity answers 409."""
    service.delete_lead(session, actor=actor, lead_id=lead_id, if_match=if_match)


@router.get("/{lead_id}/process", responses=READ)
async def get_lead_process(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID, language: LanguageDep
) -> InstanceView:
    """The lead's process instance (Qualify runs on the lead); once the lead is qualified, the
    instance continues on its opportunity."""
    return process_service.view_lead(session, actor=actor, lead_id=lead_id, language=language)


@router.post("/{lead_id}/qualify", responses=QUALIFY_RESPONSES)
async def qualify_lead(
    session: SessionDep,
    actor: ActorDep,
    lead_id: uuid.UUID,
    data: QualifyRequest,
    if_match: IfMatchDep,
) -> QualifyResult:
    """Qualify an open lead in one transaction: link the existing account and contact named
    (here or on the lead) or create them (by default when the lead has a company name, a last
    name), create the opportunity with the lead's topic, value, description, Qualify fields and
    owner, and carry the lead's process to it, on Develop (``2-Develop``). The lead becomes
    qualified and read-only. An account with the same normalised name or a contact with the
    same e-mail answers 409 with ``duplicates``, unless linked or ``ignore_duplicates``."""
    done = service.qualify(session, actor=actor, lead_id=lead_id, data=data, if_match=if_match)
    return QualifyResult(
        account_id=done.account.id if done.account else None,
        contact_id=done.contact.id if done.contact else None,
        opportunity_id=done.opportunity.id if done.opportunity else None,
    )


@router.post("/{lead_id}/disqualify", responses=CLOSED_RESPONSES)
async def disqualify_lead(
    session: SessionDep,
    actor: ActorDep,
    lead_id: uuid.UUID,
    data: DisqualifyRequest,
    response: Response,
    if_match: IfMatchDep,
) -> LeadRead:
    """Close an open lead as disqualified (lost, cannot_contact, no_longer_interested,
    canceled); a lead with an opportunity answers 409."""
    lead = service.disqualify(session, actor=actor, lead_id=lead_id, data=data, if_match=if_match)
    return _read(response, lead)


@router.post(
    "/{lead_id}/reactivate",
    responses={**problems(401, 403, 404, 412, 422), 409: problem(409, "The lead is open.")},
)
async def reactivate_lead(
    session: SessionDep,
    actor: ActorDep,
    lead_id: uuid.UUID,
    response: Response,
    if_match: IfMatchDep,
) -> LeadRead:
    """Open a qualified or disqualified lead again (status new); an open one answers 409."""
    lead = service.reactivate(session, actor=actor, lead_id=lead_id, if_match=if_match)
    return _read(response, lead)


@router.get("/{lead_id}/notes", responses=READ)
async def list_lead_notes(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID
) -> Page[NoteRead]:
    """The lead's notes, oldest first."""
    notes = related_service.list_notes(session, actor=actor, lead_id=lead_id)
    return Page(items=[NoteRead.model_validate(note) for note in notes])


@router.post("/{lead_id}/notes", status_code=status.HTTP_201_CREATED, responses=NOTE_RESPONSES)
async def add_lead_note(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID, data: NoteCreate
) -> NoteRead:
    """Add a note (also to a closed lead); it shows on the opportunity the lead becomes."""
    note = related_service.add_note(session, actor=actor, lead_id=lead_id, data=data)
    return NoteRead.model_validate(note)


@router.delete(
    "/{lead_id}/notes/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, 422),
)
async def delete_lead_note(
    session: SessionDep, actor: ActorDep, lead_id: uuid.UUID, note_id: uuid.UUID
) -> None:
    """Delete a note: its author needs append on the lead, anyone else write."""
    related_service.delete_note(session, actor=actor, lead_id=lead_id, note_id=note_id)
