"""``/api/v1/opportunities/{id}/stakeholders``, ``/sales-team``, ``/competitors`` and ``/notes``.

Reading them needs the opportunity to be readable (404 otherwise); adding, changing and removing
needs the append privilege on it (403) and an open opportunity (409).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import READ, Responses, problem, problems
from oppflow.related import service
from oppflow.related.schemas import (
    CompetitorLinkCreate,
    CompetitorLinkRead,
    NoteCreate,
    NoteRead,
    SalesTeamCreate,
    SalesTeamRead,
    SalesTeamUpdate,
    StakeholderCreate,
    StakeholderRead,
    StakeholderUpdate,
)
from oppflow.schemas import Page

router = APIRouter(prefix="/opportunities/{opportunity_id}", tags=["opportunities"])
_CHANGE: Responses = {
    **problems(401, 422),
    403: problem(403, "The caller may read the opportunity but not append to it."),
    404: problem(404, "No such opportunity (or not readable), or no such link."),
    409: problem(409, "Already linked, the opportunity is closed, or a concurrent change won."),
    422: problem(422, "Unknown role, or an unknown or unreadable record to link."),
}
# Adding and changing read a body; removing does not.
CHANGE_RESPONSES: Responses = {**problems(400), **_CHANGE}
REMOVE_RESPONSES = _CHANGE
NOTE_RESPONSES = problems(400, 401, 403, 404, 409, 422)


# Stakeholders.
@router.get("/stakeholders", responses=READ)
async def list_stakeholders(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> Page[StakeholderRead]:
    """The customer's contacts with a role in the decision (the opportunity's contact is one)."""
    return Page(
        items=service.list_stakeholders(session, actor=actor, opportunity_id=opportunity_id)
    )


@router.post("/stakeholders", status_code=status.HTTP_201_CREATED, responses=CHANGE_RESPONSES)
async def add_stakeholder(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, data: StakeholderCreate
) -> StakeholderRead:
    """Add a contact with a role: stakeholder, champion, decision_maker, end_user,
    economic_buyer, influencer or technical_buyer."""
    return service.add_stakeholder(session, actor=actor, opportunity_id=opportunity_id, data=data)


@router.patch("/stakeholders/{contact_id}", responses=CHANGE_RESPONSES)
async def change_stakeholder(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: StakeholderUpdate,
) -> StakeholderRead:
    """Change a stakeholder's role."""
    return service.change_stakeholder(
        session, actor=actor, opportunity_id=opportunity_id, contact_id=contact_id, data=data
    )


@router.delete(
    "/stakeholders/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=REMOVE_RESPONSES,
)
async def remove_stakeholder(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Remove a stakeholder (the contact itself stays)."""
    service.remove_stakeholder(
        session, actor=actor, opportunity_id=opportunity_id, contact_id=contact_id
    )


# Sales team.
@router.get("/sales-team", responses=READ)
async def list_sales_team(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> Page[SalesTeamRead]:
    """The users working on the opportunity; they read and write it whatever their depth."""
    return Page(items=service.list_sales_team(session, actor=actor, opportunity_id=opportunity_id))


@router.post("/sales-team", status_code=status.HTTP_201_CREATED, responses=CHANGE_RESPONSES)
async def add_sales_team_member(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, data: SalesTeamCreate
) -> SalesTeamRead:
    """Add an active user with a role: sales_team_member, account_manager,
    delivery_professional, technical_sales_professional, industry_expert, territory_manager or
    service_professional. Members read and write the opportunity, so this needs the share
    privilege on it as well as append."""
    return service.add_sales_team_member(
        session, actor=actor, opportunity_id=opportunity_id, data=data
    )


@router.patch("/sales-team/{user_id}", responses=CHANGE_RESPONSES)
async def change_sales_team_member(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    user_id: uuid.UUID,
    data: SalesTeamUpdate,
) -> SalesTeamRead:
    """Change a sales team member's role."""
    return service.change_sales_team_member(
        session, actor=actor, opportunity_id=opportunity_id, user_id=user_id, data=data
    )


@router.delete(
    "/sales-team/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REMOVE_RESPONSES
)
async def remove_sales_team_member(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Take a user off the sales team (and so, unless other rights remain, off the record);
    needs the share privilege."""
    service.remove_sales_team_member(
        session, actor=actor, opportunity_id=opportunity_id, user_id=user_id
    )


# Competitors.
@router.get("/competitors", responses=READ)
async def list_competitors(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> Page[CompetitorLinkRead]:
    """The competitors in the race, with their strengths and weaknesses."""
    return Page(items=service.list_competitors(session, actor=actor, opportunity_id=opportunity_id))


@router.post("/competitors", status_code=status.HTTP_201_CREATED, responses=CHANGE_RESPONSES)
async def add_competitor(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, data: CompetitorLinkCreate
) -> CompetitorLinkRead:
    """Link a competitor (from ``/api/v1/competitors``) to the opportunity."""
    return service.add_competitor(session, actor=actor, opportunity_id=opportunity_id, data=data)


@router.delete(
    "/competitors/{competitor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=REMOVE_RESPONSES,
)
async def remove_competitor(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, competitor_id: uuid.UUID
) -> None:
    """Unlink a competitor (the competitor itself stays)."""
    service.remove_competitor(
        session, actor=actor, opportunity_id=opportunity_id, competitor_id=competitor_id
    )


# Notes.
@router.get("/notes", responses=READ)
async def list_notes(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> Page[NoteRead]:
    """The opportunity's notes and those of the lead it was qualified from, oldest first."""
    notes = service.list_notes(session, actor=actor, opportunity_id=opportunity_id)
    return Page(items=[NoteRead.model_validate(note) for note in notes])


@router.post("/notes", status_code=status.HTTP_201_CREATED, responses=NOTE_RESPONSES)
async def add_note(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, data: NoteCreate
) -> NoteRead:
    """Add a note (append privilege; closed opportunities take notes too)."""
    note = service.add_note(session, actor=actor, opportunity_id=opportunity_id, data=data)
    return NoteRead.model_validate(note)


@router.delete(
    "/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REMOVE_RESPONSES
)
async def delete_note(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, note_id: uuid.UUID
) -> None:
    """Delete one of the opportunity's own notes: its author needs append, anyone else write."""
    service.delete_note(session, actor=actor, opportunity_id=opportunity_id, note_id=note_id)
