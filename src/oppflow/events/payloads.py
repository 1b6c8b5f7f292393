"""What each event says: the types, and their payloads built from a record's attribute history."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from oppflow.models import Opportunity, Quote, StageHistory
from oppflow.models.base import set_since_load

EVENT_TYPES = (
    "opportunity.created",
    "opportunity.updated",
    "opportunity.stage_changed",
    "opportunity.won",
    "opportunity.lost",
    "opportunity.reopened",
    "opportunity.deleted",
    "lead.qualified",
    "lead.disqualified",
    "quote.created",
    "quote.activated",
    "quote.won",
    "quote.closed",
    "quote.revised",
)
# Described by .stage_changed, .won, .lost and .reopened, so .updated leaves them out; the
# stamps change with every write and say nothing (the stage entry, with every move).
_EXPLAINED = frozenset({"process_key", "active_stage", "pipeline_phase", "state"})
_STAMPS = frozenset(
    {"modified_at", "modified_by_id", "version", "created_at", "created_by_id", "stage_entered_at"}
)
_SNAPSHOT = (
    "name",
    "owner_id",
    "account_id",
    "contact_id",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "forecast_category",
    "currency",
    "state",
    "status_reason",
    "process_key",
    "active_stage",
    "pipeline_phase",
    "originating_lead_id",
)


@dataclass(frozen=True)
class EventRow:
    type: str
    payload: dict[str, Any]


def json_value(value: Any) -> Any:
    """A column value as JSON: decimals and UUIDs as strings, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def created_payload(opportunity: Opportunity) -> dict[str, Any]:
    return {field: json_value(_value_or_default(opportunity, field)) for field in _SNAPSHOT}


def _value_or_default(opportunity: Opportunity, field: str) -> Any:
    """The value the INSERT will write: the column's scalar default when none was set."""
    value = getattr(opportunity, field)
    default = Opportunity.__table__.c[field].default
    if value is None and default is not None and default.is_scalar:
        return default.arg
    return value


def _changes(opportunity: Opportunity) -> dict[str, tuple[Any, Any]]:
    # In the mapper's column order, as the events list them.
    columns = inspect(opportunity).mapper.column_attrs
    keys = [column.key for column in columns if column.key not in _STAMPS]
    return {
        key: (old, new)
        for key, old, new in set_since_load(opportunity, keys)
        if json_value(old) != json_value(new)
    }


def _stage_changed(
    opportunity: Opportunity, changes: dict[str, tuple[Any, Any]], move: StageHistory | None
) -> EventRow:
    old_stage = changes.get("active_stage", (opportunity.active_stage,))[0]
    return EventRow(
        "opportunity.stage_changed",
        {
            "process": opportunity.process_key,
            "from_process": changes.get("process_key", (opportunity.process_key,))[0],
            "from": old_stage,
            "to": opportunity.active_stage,
            # The service's history row says how it moved; without one, it was set directly.
            "kind": move.kind if move is not None else "set",
            "pipeline_phase": opportunity.pipeline_phase,
        },
    )


def _closing(opportunity: Opportunity, old_state: str | None) -> Iterator[EventRow]:
    reason = {"status_reason": opportunity.status_reason}
    if opportunity.state in ("won", "lost"):
        closed = {
            **reason,
            "actual_value": json_value(opportunity.actual_value),
            "actual_close_date": json_value(opportunity.actual_close_date),
        }
        yield EventRow(f"opportunity.{opportunity.state}", closed)
    elif opportunity.state == "open" and old_state in ("won", "lost"):
        yield EventRow("opportunity.reopened", {**reason, "from_state": old_state})


def opportunity_events(opportunity: Opportunity, move: StageHistory | None) -> Iterator[EventRow]:
    """The events of a changed opportunity, in the order a consumer should apply them."""
    changes = _changes(opportunity)
    closing = list(_closing(opportunity, changes["state"][0])) if "state" in changes else []
    # A reopen comes before the changes that follow it; a close after the changes it made.
    yield from (row for row in closing if row.type == "opportunity.reopened")
    updated = {
        field: {"old": json_value(old), "new": json_value(new)}
        for field, (old, new) in changes.items()
        if field not in _EXPLAINED
    }
    if updated:
        yield EventRow("opportunity.updated", {"changes": updated})
    if "active_stage" in changes or "process_key" in changes:
        yield _stage_changed(opportunity, changes, move)
    yield from (row for row in closing if row.type != "opportunity.reopened")


def _quote_summary(quote: Quote) -> dict[str, Any]:
    return {
        "quote_number": quote.quote_number,
        "revision_number": quote.revision_number,
        "opportunity_id": json_value(quote.opportunity_id),
        "status_reason": quote.status_reason or "in_progress",
        "total_amount": json_value(quote.total_amount or Decimal(0)),
        "currency": quote.currency,
    }


def quote_events(quote: Quote, is_new: bool) -> Iterator[EventRow]:
    """A new quote, or one whose state changed: activated, won, closed or revised."""
    if is_new:
        created = {**_quote_summary(quote), "revised_from_id": json_value(quote.revised_from_id)}
        yield EventRow("quote.created", created)
        return
    history = inspect(quote).attrs["state"].history
    if not history.added or history.added[0] == (history.deleted or [None])[0]:
        return
    kind = {"active": "activated", "won": "won"}.get(quote.state, "closed")
    if quote.state == "closed" and quote.status_reason == "revised":
        kind = "revised"
    yield EventRow(f"quote.{kind}", _quote_summary(quote))
