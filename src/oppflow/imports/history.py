"""Imported history: dated stage changes of opportunities imported before (by their external
id), recorded as they happened elsewhere, oldest first. Each goes through the process service,
so the instance, the opportunity, the stage history and the change log (effective at the
change's date) agree. Administrators only."""

from __future__ import annotations

from oppflow.errors import PermissionDenied
from oppflow.imports.opportunities import definition_of, stage_named
from oppflow.imports.rows import AlreadyImported, Row, RowRefused, past_instant
from oppflow.models import Opportunity
from oppflow.process import service as process_service
from oppflow.process.repository import HistoryRepository
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.actor import Actor

FIELDS = ("opportunity_external_id", "stage", "changed_at")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators import history.")


def record(row: Row) -> None:
    values = {field: _given(row.values, field) for field in FIELDS}
    at = past_instant("changed_at", values["changed_at"])
    opportunity_id = row.lookups.opportunity(values["opportunity_external_id"])
    opportunity = OpportunityRepository(row.session, row.actor).get(opportunity_id)
    stage = _stage(row, opportunity, values["stage"])
    if HistoryRepository(row.session).has_change(opportunity.id, stage, at):
        raise AlreadyImported
    process_service.record_past_move(
        row.session, actor=row.actor, opportunity_id=opportunity.id, stage=stage, at=at
    )


def _given(values: dict[str, str], field: str) -> str:
    if field not in values:
        raise RowRefused(field, "", "required")
    return values[field]


def _stage(row: Row, opportunity: Opportunity, text: str) -> str:
    definition = definition_of(row.session, opportunity)
    stage = stage_named(definition, text)
    if stage is None:
        raise RowRefused("stage", text, f"not a stage of the process {definition.key}")
    return stage
