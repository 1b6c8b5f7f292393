"""Process instances of opportunities: start, view and move them, and keep the history.

The engine decides whether a move may happen and what it changes; this service loads the record
and its instance, asks the engine, then writes the outcome in one place (:func:`_apply`): the
instance, the opportunity's ``process_key``/``active_stage``/``pipeline_phase`` and one history
row. Every path that moves a stage (API, web, CLI, board, demo) comes through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.analytics import changelog
from oppflow.clock import utcnow
from oppflow.errors import (
    Conflict,
    MoveRefused,
    NotFound,
    PermissionDenied,
    RecordClosed,
    StageGateRefused,
)
from oppflow.leads.repository import LeadRepository
from oppflow.models import Lead, Opportunity, Process, ProcessInstance, StageHistory
from oppflow.process import catalog, engine
from oppflow.process.definition import ProcessDefinition, Stage
from oppflow.process.fields import STEP_FIELDS
from oppflow.process.repository import HistoryRepository, InstanceRepository, ProcessRepository
from oppflow.process.schemas import (
    InstanceView,
    MissingStep,
    OtherInstance,
    ProcessRef,
    StageRef,
    StageView,
    StepView,
)
from oppflow.records import check_version
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.actor import Actor
from oppflow.security.scope import require


def record_values(opportunity: Opportunity) -> dict[str, Any]:
    """The fields of the opportunity that steps and branch conditions may read."""
    return {field: getattr(opportunity, field) for field in STEP_FIELDS["opportunity"]}


def start_opportunity(
    session: Session,
    *,
    actor: Actor,
    opportunity: Opportunity,
    process_key: str | None,
    at: datetime | None = None,
) -> ProcessInstance:
    """Start a new opportunity on the named process, else the default one (first stage);
    ``at`` dates the start in the past (an import of records born in another system)."""
    # Reading the catalogue must not flush the new opportunity: the process fields set
    # below then go into its INSERT instead of a second UPDATE.
    with session.no_autoflush:
        process = (
            ProcessRepository(session).by_key(process_key)
            if process_key
            else catalog.default_process(session, "opportunity")
        )
        definition = _startable(session, process)
    transition = engine.start(definition, at or utcnow())
    instance = _new_instance(session, opportunity, process, transition)
    _apply(session, actor, opportunity, instance, process.key, transition, at=at)
    return instance


def _startable(session: Session, process: Process) -> ProcessDefinition:
    """The definition a new instance of ``process`` on an opportunity would run."""
    if not process.is_active:
        raise Conflict(f"The process {process.key!r} is not active.")
    definition = catalog.current_definition(session, process)
    if definition.first_stage.table != "opportunity":
        raise MoveRefused(f"The process {process.key!r} starts on a lead; qualify a lead instead.")
    return definition


def _new_instance(
    session: Session, opportunity: Opportunity, process: Process, transition: engine.Transition
) -> ProcessInstance:
    instance = ProcessInstance(
        process_id=process.id,
        process_version=process.current_version,
        opportunity_id=opportunity.id,
        active_stage=transition.to_stage,
        active_stage_started_at=transition.state.active_stage_started_at,
        traversed_path=list(transition.state.traversed_path),
    )
    return InstanceRepository(session).add(instance)


def view(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, language: str = "en"
) -> InstanceView:
    """The current instance of an opportunity, as the process bar shows it."""
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    return _view(session, opportunity, language)


def move(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    kind: str,
    stage: str | None = None,
    if_match: int | None = None,
    language: str = "en",
    at: datetime | None = None,
) -> InstanceView:
    """Move the current instance: next, previous, set_active, finish, abandon or reactivate
    (``at`` dates the move in the past, for records imported as they were)."""
    opportunity, instances, definition = _load_for_move(session, actor, opportunity_id, if_match)
    instance = instances[0]
    state = _state_of(instance)
    values, now = record_values(opportunity), at or utcnow()
    moves: dict[str, Callable[[], engine.Transition]] = {
        "next": lambda: engine.next_stage(definition, state, values, now),
        "previous": lambda: engine.previous_stage(definition, state, now),
        "set_active": lambda: engine.set_active(definition, state, stage or "", now),
        "finish": lambda: engine.finish(definition, state, values, now),
        "abandon": lambda: engine.abandon(definition, state, now),
        "reactivate": lambda: engine.reactivate(definition, state, now),
    }
    if kind not in moves:
        raise MoveRefused(f"Unknown move {kind!r}.")
    try:
        transition = moves[kind]()
    except StageGateRefused:
        # The engine names the steps in English; answer in the caller's language.
        missing = engine.missing_steps(definition, state.active_stage, values)
        raise StageGateRefused(
            [{"field": s.field, "label": s.label.get(language)} for s in missing]
        ) from None
    if definition.stage_table(transition.to_stage) != "opportunity":
        # The lead process's Qualify stage ran on the lead, which is now qualified.
        raise MoveRefused("That stage runs on the lead; an opportunity cannot move back to it.")
    process_key = catalog.process_key(session, instance.process_id)
    with audit.labelled(session, "stage_move"):
        _apply(session, actor, opportunity, instance, process_key, transition, at=at)
    # A move changes no other instance, so the list loaded above is still the right one.
    return _view(session, opportunity, language, instances)


def switch(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    process_key: str,
    if_match: int | None = None,
    language: str = "en",
) -> InstanceView:
    """Make another process current: resume its instance, or start one at its first stage."""
    opportunity, instances, _ = _load_for_move(session, actor, opportunity_id, if_match)
    current = instances[0]
    process = ProcessRepository(session).by_key(process_key)
    if process.id == current.process_id:
        raise MoveRefused(f"{process_key!r} is already the current process.")
    instance = InstanceRepository(session).find(process.id, opportunity.id)
    if instance is None:
        transition = engine.resume(_startable(session, process), None, utcnow())
        instance = _new_instance(session, opportunity, process, transition)
    else:
        definition = catalog.definition_of(session, process.id, instance.process_version)
        transition = engine.resume(definition, _state_of(instance), utcnow())
    with audit.labelled(session, "stage_move"):
        _apply(
            session,
            actor,
            opportunity,
            instance,
            process.key,
            transition,
            from_stage=current.active_stage,
        )
    return _view(session, opportunity, language)


def record_past_move(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, stage: str, at: datetime
) -> None:
    """Record a stage change as it happened in another system (imported history): dated
    ``at``, not gated (it happened), written like any move, its change-log rows effective at
    ``at``. Administrators only, since it sets history that no gate checked."""
    if not actor.is_admin:
        raise PermissionDenied("Only administrators import history.")
    opportunity, instances, definition = _load_for_move(session, actor, opportunity_id, None)
    instance = instances[0]
    if at < instance.active_stage_started_at:
        raise MoveRefused("This change is dated before the opportunity's last stage change.")
    transition = engine.recorded_move(definition, _state_of(instance), stage, at)
    if definition.stage_table(transition.to_stage) != "opportunity":
        raise MoveRefused("That stage runs on the lead; an opportunity cannot move to it.")
    process_key = catalog.process_key(session, instance.process_id)
    with audit.labelled(session, "stage_move"), changelog.effective_at(session, at):
        _apply(session, actor, opportunity, instance, process_key, transition, at=at)


def history(session: Session, *, actor: Actor, opportunity_id: uuid.UUID) -> list[StageHistory]:
    """Every stage change of the opportunity, oldest first."""
    OpportunityRepository(session, actor).get(opportunity_id)
    return HistoryRepository(session).for_opportunity(opportunity_id)


def _load_for_move(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, if_match: int | None
) -> tuple[Opportunity, list[ProcessInstance], ProcessDefinition]:
    """The opportunity (writable, open, at the expected version), its instances (the current
    one first) and the current one's definition."""
    repository = OpportunityRepository(session, actor)
    opportunity, instances = repository.get_with_instances(opportunity_id)
    check_version(opportunity, if_match)
    require(session, actor, "write", opportunity)
    if opportunity.state != "open":
        raise RecordClosed(f"The opportunity is {opportunity.state}; reopen it to move its stage.")
    if not instances:
        raise Conflict("The opportunity runs no process.")
    current = instances[0]
    return (
        opportunity,
        instances,
        catalog.definition_of(session, current.process_id, current.process_version),
    )


def _state_of(instance: ProcessInstance) -> engine.InstanceState:
    return engine.InstanceState(
        active_stage=instance.active_stage,
        traversed_path=tuple(instance.traversed_path),
        status=cast(engine.Status, instance.status),
        active_stage_started_at=instance.active_stage_started_at,
        completed_at=instance.completed_at,
    )


def _apply(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    instance: ProcessInstance,
    process_key: str,
    transition: engine.Transition,
    *,
    from_stage: str | None = None,
    lead_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> None:
    """Write a transition: the instance, the opportunity's phase, and one history row (which
    names the lead too when the transition carries a qualified lead's instance over). The
    history row is dated ``at`` when the move happened in the past (imports)."""
    state, now = transition.state, utcnow()
    instance.active_stage = state.active_stage
    instance.traversed_path = list(state.traversed_path)
    instance.active_stage_started_at = state.active_stage_started_at
    instance.status = state.status
    instance.completed_at = state.completed_at
    instance.last_used_at = now
    opportunity.process_key = process_key
    opportunity.active_stage = state.active_stage
    opportunity.pipeline_phase = transition.pipeline_phase
    # Every move bumps the record's version, so If-Match guards process moves as well.
    opportunity.modified_at = now
    opportunity.modified_by_id = actor.user_id
    HistoryRepository(session).append(
        StageHistory(
            opportunity_id=opportunity.id,
            lead_id=lead_id,
            process_key=process_key,
            kind=transition.kind,
            from_stage=from_stage or transition.from_stage,
            to_stage=transition.to_stage,
            pipeline_phase=transition.pipeline_phase,
            estimated_value=opportunity.estimated_value,
            at=at or now,
            by_id=actor.user_id,
        )
    )
    session.flush()


def _view(
    session: Session,
    opportunity: Opportunity,
    language: str,
    instances: list[ProcessInstance] | None = None,
) -> InstanceView:
    if instances is None:
        instances = InstanceRepository(session).for_opportunity(opportunity.id)
    return _instance_view(
        session, instances, record_values(opportunity), opportunity.version, language
    )


def _instance_view(
    session: Session,
    instances: list[ProcessInstance],
    values: dict[str, Any],
    record_version: int,
    language: str,
) -> InstanceView:
    """The view of ``instances[0]`` (the current one) over a record's ``values``."""
    current = instances[0]
    definition = catalog.definition_of(session, current.process_id, current.process_version)
    missing = engine.missing_steps(definition, current.active_stage, values)
    return InstanceView(
        process=_process_ref(current, definition, language),
        status=current.status,
        active_stage=_stage_ref(definition, current, language),
        traversed_path=list(current.traversed_path),
        completed_at=current.completed_at,
        stages=[_stage_view(stage, values, language) for stage in definition.stages],
        missing_steps=[MissingStep(field=s.field, label=s.label.get(language)) for s in missing],
        instances=[_other(session, other, language) for other in instances[1:]],
        record_version=record_version,
    )


def _process_ref(
    instance: ProcessInstance, definition: ProcessDefinition, language: str
) -> ProcessRef:
    return ProcessRef(
        key=definition.key, name=definition.name.get(language), version=instance.process_version
    )


def _stage_ref(definition: ProcessDefinition, instance: ProcessInstance, language: str) -> StageRef:
    stage = definition.stage(instance.active_stage)
    return StageRef(
        key=stage.key,
        name=stage.name.get(language),
        category=stage.category,
        started_at=instance.active_stage_started_at,
    )


def _stage_view(stage: Stage, values: dict[str, Any], language: str) -> StageView:
    return StageView(
        key=stage.key,
        name=stage.name.get(language),
        category=stage.category,
        table=stage.table,
        steps=[
            StepView(
                field=step.field,
                label=step.label.get(language),
                required=step.required,
                complete=engine.is_step_complete(values.get(step.field)),
            )
            for step in stage.steps
        ],
    )


def _other(session: Session, instance: ProcessInstance, language: str) -> OtherInstance:
    definition = catalog.definition_of(session, instance.process_id, instance.process_version)
    return OtherInstance(
        process=_process_ref(instance, definition, language),
        status=instance.status,
        active_stage=_stage_ref(definition, instance, language),
    )


# Leads: the lead-to-opportunity process starts on the lead; qualifying the lead carries its
# instance over to the new opportunity, which lands on the stage after the lead's last one.
def lead_values(lead: Lead) -> dict[str, Any]:
    """The fields of the lead that steps and branch conditions may read."""
    return {field: getattr(lead, field) for field in STEP_FIELDS["lead"]}


def start_lead(session: Session, *, actor: Actor, lead: Lead) -> ProcessInstance | None:
    """Start a new lead on the first active lead process; None when none is active."""
    processes = ProcessRepository(session).list(table="lead", active_only=True)
    if not processes:
        return None
    process, now = processes[0], utcnow()
    transition = engine.start(catalog.current_definition(session, process), now)
    instance = ProcessInstance(
        process_id=process.id,
        process_version=process.current_version,
        lead_id=lead.id,
        active_stage=transition.to_stage,
        active_stage_started_at=transition.state.active_stage_started_at,
        traversed_path=list(transition.state.traversed_path),
        last_used_at=now,
    )
    InstanceRepository(session).add(instance)
    HistoryRepository(session).append(
        StageHistory(
            lead_id=lead.id,
            process_key=process.key,
            kind=transition.kind,
            to_stage=transition.to_stage,
            pipeline_phase=transition.pipeline_phase,
            estimated_value=lead.estimated_value,
            at=now,
            by_id=actor.user_id,
        )
    )
    session.flush()
    return instance


def carry_to_opportunity(
    session: Session, *, actor: Actor, lead: Lead, opportunity: Opportunity
) -> None:
    """Move a qualified lead's instance to the next stage, on the new opportunity.

    The lead's stage must let it go (its required steps, read from the lead and the account and
    contact the qualification linked) and be followed by an opportunity stage. A lead that runs
    no process gives an opportunity on the default opportunity process instead.
    """
    instances = InstanceRepository(session).for_lead(lead.id)
    if not instances:
        start_opportunity(session, actor=actor, opportunity=opportunity, process_key=None)
        return
    instance = instances[0]
    definition = catalog.definition_of(session, instance.process_id, instance.process_version)
    values = {
        **lead_values(lead),
        "account_id": opportunity.account_id,
        "contact_id": opportunity.contact_id,
    }
    transition = engine.next_stage(definition, _state_of(instance), values, utcnow())
    if definition.stage_table(transition.to_stage) != "opportunity":
        raise MoveRefused("The lead's process has no opportunity stage after its current one.")
    instance.opportunity_id = opportunity.id
    process_key = ProcessRepository(session).by_id(instance.process_id).key
    _apply(session, actor, opportunity, instance, process_key, transition, lead_id=lead.id)


def view_lead(
    session: Session, *, actor: Actor, lead_id: uuid.UUID, language: str = "en"
) -> InstanceView:
    """The lead's process instance; once qualified, that of the opportunity it became."""
    lead = LeadRepository(session, actor).get(lead_id)
    instances = InstanceRepository(session).for_lead(lead.id)
    if not instances:
        raise NotFound("The lead runs no process.")
    current = instances[0]
    if current.opportunity_id is not None:
        return view(session, actor=actor, opportunity_id=current.opportunity_id, language=language)
    return _instance_view(session, instances, lead_values(lead), lead.version, language)
