"""Business process flows as Dataverse shows them: stages as ``processstages`` rows, each
instance of an opportunity as an ``opportunitysalesprocesses`` row with ``activestageid`` and
``traversedpath``, and a stage move as a PATCH of ``activestageid``, through the process
service and its gates."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.repository import readable_instance
from oppflow.errors import MoveRefused, PreconditionFailed
from oppflow.models import ProcessInstance
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.actor import Actor

# Dataverse's stagecategory values.
CATEGORIES = {
    "qualify": 0, "develop": 1, "propose": 2, "close": 3,
    "identify": 4, "research": 5, "resolve": 6, "approval": 7,
}  # fmt: skip


def stage_id(process_id: uuid.UUID, stage_key: str) -> uuid.UUID:
    """A stable processstageid for a stage of a process."""
    return uuid.uuid5(process_id, stage_key)


def active_stage_id(instance: ProcessInstance) -> uuid.UUID:
    return stage_id(instance.process_id, instance.active_stage)


def traversed_path(instance: ProcessInstance) -> str:
    """The stage ids of the path, comma-separated, as Dataverse keeps ``traversedpath``."""
    return ",".join(str(stage_id(instance.process_id, key)) for key in instance.traversed_path)


def process_stages(session: Session) -> list[dict[str, Any]]:
    """Every stage of every process, as ``processstages`` rows."""
    rows = []
    for process in catalog.list_processes(session):
        definition = catalog.current_definition(session, process)
        for stage in definition.stages:
            rows.append({
                "processstageid": str(stage_id(process.id, stage.key)),
                "stagename": stage.name.get("en"),
                "stagecategory": CATEGORIES.get(stage.category),
                "_processid_value": str(process.id),
                "primaryentitytypecode": stage.table or process.primary_table,
            })  # fmt: skip
    return rows


def move_to_stage(
    session: Session, actor: Actor, key: uuid.UUID, values: dict[str, Any], version: int | None
) -> ProcessInstance:
    """Set the instance's active stage: forward to the stage the engine moves to next (its
    gates checked), or back to a stage of the traversed path."""
    instance = readable_instance(session, actor, key)
    if version is not None and instance.version != version:
        raise PreconditionFailed("The process instance changed since you read it.")
    target = values.pop("active_stage_id", None)
    if values or target is None:
        raise BadQuery("Only 'activestageid@odata.bind' can change on a process instance.")
    stage = _stage_key(session, instance, uuid.UUID(str(target)))
    assert instance.opportunity_id is not None
    opportunity = OpportunityRepository(session, actor).get(instance.opportunity_id)
    if catalog.process_key(session, instance.process_id) != opportunity.process_key:
        raise MoveRefused("This process is not the opportunity's current one; switch to it first.")
    kind = "set_active" if stage in instance.traversed_path else "next"
    view = process_service.move(
        session, actor=actor, opportunity_id=opportunity.id, kind=kind, stage=stage
    )
    if view.active_stage.key != stage:
        raise BadQuery(f"The next stage is '{view.active_stage.key}', not '{stage}'.")
    return instance


def _stage_key(session: Session, instance: ProcessInstance, target: uuid.UUID) -> str:
    definition = catalog.definition_of(session, instance.process_id, instance.process_version)
    for stage in definition.stages:
        if stage_id(instance.process_id, stage.key) == target:
            return stage.key
    raise BadQuery(f"{target} is not a stage of this process.")
