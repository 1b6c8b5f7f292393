"""Imported opportunities: placed at the stage their file gives through the process engine,
one ``next`` at a time with the row's step values (so a gate with empty required steps refuses
the row), then closed as won or lost through the sales service when the file says so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from oppflow.analytics import changelog
from oppflow.clock import simulated_time, utcnow
from oppflow.errors import MoveRefused, StageGateRefused
from oppflow.imports.rows import Row, RowRefused, past_instant
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.definition import ProcessDefinition
from oppflow.process.fields import pipeline_phase
from oppflow.process.repository import ProcessRepository
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import LoseRequest, OpportunityCreate, WinRequest
from oppflow.security.actor import Actor

# Fields of the file that are not OpportunityCreate's: they drive the stage, the close and
# the birth date.
EXTRAS = ("stage", "state", "status_reason", "actual_revenue", "actual_close_date", "created_at")
# Open, won and lost, by name or as Dataverse's statecode.
OUTCOMES = {"open": None, "0": None, "won": "won", "1": "won", "lost": "lost", "2": "lost"}


def create(row: Row) -> Opportunity:
    values = row.lookups.resolve(row.values)
    extras = {key: str(values.pop(key)) for key in EXTRAS if key in values}
    outcome = outcome_of(extras.get("state"))
    at = born_at(row.actor, extras.get("created_at"))
    data = OpportunityCreate.model_validate(values)
    with _dated(row.session, at):
        with _one_instant(at):
            opportunity = sales_service.create_opportunity(
                row.session, actor=row.actor, data=data, at=at, external_id=row.external_id
            )
            if "stage" in extras:
                place_at_stage(row.session, row.actor, opportunity, extras["stage"], at)
        if outcome is not None:
            closed = closed_at(at, extras.get("actual_close_date"))
            if closed is not None and not extras.get("actual_close_date"):
                # Its close date is that day, not the import's (as the history import does).
                extras["actual_close_date"] = closed.date().isoformat()
            with _dated(row.session, closed):
                close(row.session, row.actor, opportunity, outcome, extras)
    return opportunity


def closed_at(born: datetime | None, close_date: str | None) -> datetime | None:
    """When a record created at ``born`` in another system was closed: its close date
    (midnight UTC), after its birth and not in the future. Dated at its birth too, the close
    would be no change from open in the change log, and win/loss and calibration, which count
    closes, would never see it. None (now) for a record created now."""
    if born is None:
        return None
    try:
        day = date.fromisoformat(close_date) if close_date else None
    except ValueError:
        day = None  # the close refuses it, naming the column
    start = datetime.combine(day, time(), UTC) if day else born
    return min(max(start, born + timedelta(microseconds=1)), utcnow())


def may_backdate(actor: Actor) -> bool:
    """Whether ``actor``'s imports may date a record's creation in the past: administrators
    only, since it dates the record's history (and the analytics) in the past."""
    return actor.is_admin


def born_at(actor: Actor, text: str | None) -> datetime | None:
    """When the record was created in the system it comes from (:func:`may_backdate`)."""
    if text is None:
        return None
    if not may_backdate(actor):
        raise RowRefused("created_at", text, "only administrators import past creation dates")
    return past_instant("created_at", text)


@contextmanager
def _dated(session: Session, at: datetime | None) -> Iterator[None]:
    with changelog.effective_at(session, at) if at is not None else nullcontext():
        yield


def _one_instant(at: datetime | None) -> AbstractContextManager[None]:
    """A row created now is created and placed at its stage at one instant, as the batch
    path writes it: moved through each earlier stage a few microseconds apart, its change log
    showed a stay in each, and time in stage counted those near-zero stays. (Dated ``at``,
    its changes already share that instant; the clock then still dates what oppflow
    recorded when.)"""
    return simulated_time(utcnow()) if at is None else nullcontext()


def stage_named(definition: ProcessDefinition, text: str) -> str | None:
    """The key of the opportunity stage ``text`` names: its key, English or French name, or
    pipeline phase (Dataverse's stepname, "2-Develop"), ignoring case."""
    wanted = text.strip().casefold()
    for stage in definition.stages:
        names = (stage.key, stage.name.en, stage.name.fr, pipeline_phase(stage.category))
        if stage.table == "opportunity" and wanted in {name.casefold() for name in names}:
            return stage.key
    return None


def definition_of(session: Session, opportunity: Opportunity) -> ProcessDefinition:
    """The definition the opportunity's current process runs (its latest version)."""
    process = ProcessRepository(session).by_key(opportunity.process_key or "")
    return catalog.current_definition(session, process)


def place_at_stage(
    session: Session, actor: Actor, opportunity: Opportunity, text: str, at: datetime | None
) -> None:
    """Move a new opportunity on, stage by stage through the engine's rules, to ``text``."""
    definition = definition_of(session, opportunity)
    target = stage_named(definition, text)
    if target is None:
        raise RowRefused("stage", text, f"not a stage of the process {definition.key}")
    for _move in definition.stages:
        if opportunity.active_stage == target:
            return
        _next(session, actor, opportunity, definition, text, at)
    raise RowRefused("stage", text, "this record's path does not pass through that stage")


def _next(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    definition: ProcessDefinition,
    text: str,
    at: datetime | None,
) -> None:
    current = definition.stage(opportunity.active_stage or "").name.en
    try:
        process_service.move(
            session, actor=actor, opportunity_id=opportunity.id, kind="next", at=at
        )
    except StageGateRefused as refused:
        labels = ", ".join(step["label"] for step in refused.extra["missing_steps"])
        raise RowRefused("stage", text, f"{current} needs {labels} first") from None
    except MoveRefused:
        why = "this record's path does not pass through that stage"
        raise RowRefused("stage", text, why) from None


def outcome_of(text: str | None) -> str | None:
    """A file's ``state``: None for open (or none given), else won or lost."""
    if text is None:
        return None
    if text.strip().casefold() not in OUTCOMES:
        raise RowRefused("state", text, "open, won or lost (or statecode 0, 1, 2)")
    return OUTCOMES[text.strip().casefold()]


def close(
    session: Session, actor: Actor, opportunity: Opportunity, outcome: str, extras: dict[str, str]
) -> None:
    """Close as won or lost through the sales service, with the file's actual revenue, close
    date and status reason; a refusal names the column at fault."""
    body: dict[str, Any] = {"close_date": extras.get("actual_close_date")}
    try:
        if outcome == "won":
            body["actual_revenue"] = extras.get("actual_revenue")
            won = WinRequest.model_validate({k: v for k, v in body.items() if v is not None})
            sales_service.win(session, actor=actor, opportunity_id=opportunity.id, data=won)
        else:
            body["status_reason"] = extras.get("status_reason")
            lost = LoseRequest.model_validate({k: v for k, v in body.items() if v is not None})
            sales_service.lose(session, actor=actor, opportunity_id=opportunity.id, data=lost)
    except ValidationError as error:
        first = error.errors()[0]
        field = "actual_close_date" if first["loc"][0] == "close_date" else str(first["loc"][0])
        why = str(first["msg"]).removeprefix("Value error, ")
        raise RowRefused(field, extras.get(field, ""), why) from None
