"""``/api/v1/opportunities``: records, their process, closing and history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from oppflow.api.deps import ActorDep, IfMatchDep, LanguageDep, SessionDep, set_etag
from oppflow.api.examples import MOVE_RESPONSES, MOVE_WITH_BODY_RESPONSES, OPPORTUNITY_CREATE
from oppflow.api.responses import CHANGE, CREATE, DELETE, LIST, READ, problems
from oppflow.process import service as process_service
from oppflow.process.schemas import (
    HistoryItem,
    HistoryPage,
    InstanceView,
    SetActiveRequest,
    SwitchRequest,
)
from oppflow.repository import MAX_PAGE
from oppflow.sales import service
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.schemas import (
    CloseRead,
    LoseRequest,
    OpportunityCreate,
    OpportunityFilters,
    OpportunityRead,
    OpportunityUpdate,
    WinRequest,
)
from oppflow.schemas import Page

router = APIRouter(prefix="/opportunities", tags=["opportunities"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]
# A process_key that names no process is a 404.
CREATE_ON_PROCESS = {**CREATE, **problems(404)}


@router.get("", responses=LIST)
async def list_opportunities(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[OpportunityFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OpportunityRead]:
    """Opportunities the caller can read, oldest first, filtered by state, owner, phase,
    process or text in the name (``q``)."""
    repository = OpportunityRepository(session, actor)
    items, next_cursor = repository.page_answers(
        OpportunityRead, filters, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE_ON_PROCESS)
async def create_opportunity(
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    data: Annotated[OpportunityCreate, Body(openapi_examples=OPPORTUNITY_CREATE)],
) -> OpportunityRead:
    """Create an opportunity; it starts on Qualify of the default process (1-Qualify)."""
    opportunity = service.create_opportunity(session, actor=actor, data=data)
    set_etag(response, opportunity.version)
    return OpportunityRead.model_validate(opportunity)


@router.get("/{opportunity_id}", responses=READ)
async def get_opportunity(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, response: Response
) -> OpportunityRead:
    """One opportunity; its ``ETag`` is the version to send back in ``If-Match``."""
    opportunity = OpportunityRepository(session, actor).get_answer(opportunity_id, OpportunityRead)
    set_etag(response, opportunity.version)
    return opportunity


@router.patch("/{opportunity_id}", responses=CHANGE)
async def update_opportunity(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: OpportunityUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> OpportunityRead:
    """Change fields, including the steps of the process; closed opportunities answer 409."""
    opportunity = service.update_opportunity(
        session, actor=actor, opportunity_id=opportunity_id, data=data, if_match=if_match
    )
    set_etag(response, opportunity.version)
    return OpportunityRead.model_validate(opportunity)


@router.delete("/{opportunity_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE)
async def delete_opportunity(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, if_match: IfMatchDep
) -> None:
    """Delete an open opportunity with its process instances and history."""
    service.delete_record(
        session, actor=actor, table="opportunities", record_id=opportunity_id, if_match=if_match
    )


@router.get("/{opportunity_id}/process", responses=READ)
async def get_process(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID, language: LanguageDep
) -> InstanceView:
    """The current process instance: stages, steps, what is missing, and the other instances."""
    return process_service.view(
        session, actor=actor, opportunity_id=opportunity_id, language=language
    )


def _move_endpoint(kind: str, summary: str) -> None:
    path = kind.replace("_", "-")

    @router.post(
        f"/{{opportunity_id}}/process/{path}",
        summary=summary,
        responses=MOVE_RESPONSES,
        name=f"process_{kind}",
    )
    async def _move(
        session: SessionDep,
        actor: ActorDep,
        opportunity_id: uuid.UUID,
        response: Response,
        if_match: IfMatchDep,
        language: LanguageDep,
    ) -> InstanceView:
        view = process_service.move(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            kind=kind,
            if_match=if_match,
            language=language,
        )
        set_etag(response, view.record_version)
        return view


_move_endpoint("next", "Next stage (409 with missing_steps while required steps are empty)")
_move_endpoint("previous", "Back to the previous stage of the traversed path")
_move_endpoint("finish", "Finish the process on its last stage")
_move_endpoint("abandon", "Abandon the process")
_move_endpoint("reactivate", "Reactivate a finished or abandoned process")


@router.post("/{opportunity_id}/process/set-active", responses=MOVE_WITH_BODY_RESPONSES)
async def set_active_stage(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: SetActiveRequest,
    response: Response,
    if_match: IfMatchDep,
    language: LanguageDep,
) -> InstanceView:
    """Make an earlier stage of the traversed path the active one."""
    view = process_service.move(
        session,
        actor=actor,
        opportunity_id=opportunity_id,
        kind="set_active",
        stage=data.stage,
        if_match=if_match,
        language=language,
    )
    set_etag(response, view.record_version)
    return view


@router.post("/{opportunity_id}/process/switch", responses=MOVE_WITH_BODY_RESPONSES)
async def switch_process(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: SwitchRequest,
    response: Response,
    if_match: IfMatchDep,
    language: LanguageDep,
) -> InstanceView:
    """Make another process current, resuming it where it was or starting it."""
    view = process_service.switch(
        session,
        actor=actor,
        opportunity_id=opportunity_id,
        process_key=data.process,
        if_match=if_match,
        language=language,
    )
    set_etag(response, view.record_version)
    return view


@router.get("/{opportunity_id}/history", responses=READ)
async def get_history(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> HistoryPage:
    """Every stage change of the opportunity through any process, oldest first."""
    rows = process_service.history(session, actor=actor, opportunity_id=opportunity_id)
    return HistoryPage(
        items=[
            HistoryItem(
                process_key=row.process_key,
                from_stage=row.from_stage,
                to_stage=row.to_stage,
                kind=row.kind,
                pipeline_phase=row.pipeline_phase,
                estimated_value=row.estimated_value,
                at=row.at,
                by=row.by_id,
            )
            for row in rows
        ]
    )


@router.post("/{opportunity_id}/win", responses=CHANGE)
async def win(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: WinRequest,
    response: Response,
    if_match: IfMatchDep,
) -> OpportunityRead:
    """Close as won (actual revenue defaults to the estimated value, the date to today)."""
    opportunity = service.win(
        session, actor=actor, opportunity_id=opportunity_id, data=data, if_match=if_match
    )
    set_etag(response, opportunity.version)
    return OpportunityRead.model_validate(opportunity)


@router.post("/{opportunity_id}/lose", responses=CHANGE)
async def lose(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    data: LoseRequest,
    response: Response,
    if_match: IfMatchDep,
) -> OpportunityRead:
    """Close as lost: canceled, or out-sold (optionally naming the competitor)."""
    opportunity = service.lose(
        session, actor=actor, opportunity_id=opportunity_id, data=data, if_match=if_match
    )
    set_etag(response, opportunity.version)
    return OpportunityRead.model_validate(opportunity)


@router.post("/{opportunity_id}/reopen", responses=problems(401, 403, 404, 409, 412, 422))
async def reopen(
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    response: Response,
    if_match: IfMatchDep,
) -> OpportunityRead:
    """Reopen a won or lost opportunity; its close record is marked canceled."""
    opportunity = service.reopen(
        session, actor=actor, opportunity_id=opportunity_id, if_match=if_match
    )
    set_etag(response, opportunity.version)
    return OpportunityRead.model_validate(opportunity)


@router.get("/{opportunity_id}/closes", responses=READ)
async def list_closes(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> list[CloseRead]:
    """The close records of the opportunity (canceled ones included), oldest first."""
    rows = service.close_records(session, actor=actor, opportunity_id=opportunity_id)
    return [CloseRead.model_validate(row) for row in rows]
