"""Imported history: dated changes of opportunities imported before (by their external id),
recorded as they happened elsewhere, oldest first. A row moves the opportunity to its
``stage``, closes it when its ``state`` is won or lost (with ``actual_revenue``,
``actual_close_date``, by default the change's date, and ``status_reason``), or both, in that
order. Each goes through the process or sales service, so the instance, the opportunity, the
stage history and the change log (effective at the change's date) agree. Administrators only."""

from __future__ import annotations

from datetime import datetime

from oppflow.analytics import changelog
from oppflow.errors import PermissionDenied
from oppflow.imports.opportunities import close, definition_of, outcome_of, stage_named
from oppflow.imports.rows import AlreadyImported, Row, RowRefused, past_instant
from oppflow.models import Opportunity
from oppflow.process import service as process_service
from oppflow.process.repository import HistoryRepository
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.actor import Actor

FIELDS = ("opportunity_external_id", "changed_at")
# What a closing row may give besides its state, as an opportunity's row does.
CLOSE_FIELDS = ("status_reason", "actual_revenue", "actual_close_date")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators import history.")


def record(row: Row) -> None:
    values = {field: _given(row.values, field) for field in FIELDS}
    at = past_instant("changed_at", values["changed_at"])
    opportunity_id = row.lookups.opportunity(values["opportunity_external_id"])
    opportunity = OpportunityRepository(row.session, row.actor).get(opportunity_id)
    outcome = outcome_of(row.values.get("state"))
    if "stage" not in row.values and outcome is None:
        raise RowRefused("stage", "", "required (or a state won or lost)")
    closing = _closing(row.values, at) if outcome is not None else {}
    if outcome is not None and _closed_so(opportunity, outcome, closing):
        raise AlreadyImported
    if "stage" in row.values:
        _move(row, opportunity, row.values["stage"], at, closes=outcome is not None)
    if outcome is not None:
        _close(row, opportunity, outcome, closing, at)


def _given(values: dict[str, str], field: str) -> str:
    if field not in values:
        raise RowRefused(field, "", "required")
    return values[field]


def _move(row: Row, opportunity: Opportunity, text: str, at: datetime, *, closes: bool) -> None:
    stage = _stage(row, opportunity, text)
    if HistoryRepository(row.session).has_change(opportunity.id, stage, at):
        if closes:  # moved by an earlier run of this row, which did not close it
            return
        raise AlreadyImported
    process_service.record_past_move(
        row.session, actor=row.actor, opportunity_id=opportunity.id, stage=stage, at=at
    )


def _stage(row: Row, opportunity: Opportunity, text: str) -> str:
    definition = definition_of(row.session, opportunity)
    stage = stage_named(definition, text)
    if stage is None:
        raise RowRefused("stage", text, f"not a stage of the process {definition.key}")
    return stage


def _closing(values: dict[str, str], at: datetime) -> dict[str, str]:
    given = {field: values[field] for field in CLOSE_FIELDS if field in values}
    given.setdefault("actual_close_date", at.date().isoformat())
    return given


def _closed_so(opportunity: Opportunity, outcome: str, closing: dict[str, str]) -> bool:
    """Whether an earlier import closed it so already (same outcome, same close date)."""
    closed_on = opportunity.actual_close_date
    return (
        opportunity.state == outcome
        and closed_on is not None
        and (closed_on.isoformat() == closing["actual_close_date"])
    )


def _close(
    row: Row, opportunity: Opportunity, outcome: str, closing: dict[str, str], at: datetime
) -> None:
    _, instances = OpportunityRepository(row.session, row.actor).get_with_instances(opportunity.id)
    if instances and at < instances[0].active_stage_started_at:
        why = "This change is dated before the opportunity's last stage change."
        raise RowRefused("changed_at", row.values["changed_at"], why)
    with changelog.effective_at(row.session, at):
        close(row.session, row.actor, opportunity, outcome, closing)
