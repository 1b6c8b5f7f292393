"""The rows one imported opportunity leaves in each table, built in pure Python: exactly what
``sales.service.create_opportunity`` then one ``process.service.move`` per ``next`` write
through the ORM and its flush hooks (change log, audit, outbox), so the batch path of
:mod:`oppflow.imports.bulk` can load them with executemany or COPY.

``tests/imports/test_bulk.py`` imports one file both ways and compares every table: a change
to what the services or the hooks write fails it until it is mirrored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import inspect

from oppflow import audit
from oppflow.analytics.changelog import TRACKED_FIELDS
from oppflow.analytics.timeline import encode
from oppflow.audit import SKIPPED_FIELDS
from oppflow.events.outbox import SLOTS
from oppflow.events.payloads import json_value
from oppflow.models import Opportunity
from oppflow.models.base import id_made_at
from oppflow.process import engine

Row = dict[str, Any]
# The event payload of a new opportunity (events.payloads._SNAPSHOT).
SNAPSHOT = (
    "name", "owner_id", "account_id", "contact_id", "estimated_value", "estimated_close_date",
    "probability", "forecast_category", "currency", "state", "status_reason", "process_key",
    "active_stage", "pipeline_phase", "originating_lead_id",
)  # fmt: skip


@dataclass(frozen=True)
class Writer:
    """Who writes, when, in which transaction: what every row of a batch shares."""

    actor_id: uuid.UUID
    now: datetime
    address: str | None
    action: str
    tx_id: int


@dataclass(frozen=True)
class Placed:
    """An opportunity that passed every rule: its values as the service builds the record
    (owner, unit, external id, the file's fields) and the engine's transitions (start first)."""

    values: Row
    process_id: uuid.UUID
    process_version: int
    process_key: str
    transitions: tuple[engine.Transition, ...]


@dataclass
class Rows:
    """A batch's rows, per table, in foreign-key order."""

    opportunities: list[Row] = field(default_factory=list)
    instances: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    changes: list[Row] = field(default_factory=list)
    audit: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    stakeholders: list[Row] = field(default_factory=list)
    finals: list[Row] = field(default_factory=list)  # for the maintained totals


@cache
def scalar_defaults() -> dict[str, Any]:
    """Each opportunity column's scalar default (None when it has none), as the INSERT fills."""
    table = Opportunity.__table__
    return {
        column.name: column.default.arg
        if column.default is not None and column.default.is_scalar
        else None
        for column in table.c
    }


@cache
def audited_columns() -> tuple[str, ...]:
    return tuple(
        attr.key for attr in inspect(Opportunity).column_attrs if attr.key not in SKIPPED_FIELDS
    )


def born(placed: Placed) -> Row:
    """The values the record holds at its first flush: the service's, the process fields of
    the start, and the tracked fields' defaults the change-log hook sets before the audit's."""
    start = placed.transitions[0]
    values = {
        **placed.values,
        "process_key": placed.process_key,
        "active_stage": start.to_stage,
        "pipeline_phase": start.pipeline_phase,
    }
    defaults = scalar_defaults()
    for name in TRACKED_FIELDS:
        if values.get(name) is None and defaults[name] is not None:
            values[name] = defaults[name]
    return values


def add(rows: Rows, placed: Placed, writer: Writer) -> None:
    """Append the rows of one opportunity to ``rows``."""
    opportunity_id = id_made_at(writer.now)
    first = born(placed)
    final = {**first, **_stage_fields(placed.transitions[-1])}
    moves = len(placed.transitions) - 1
    rows.opportunities.append(_opportunity(opportunity_id, final, moves, writer))
    rows.instances.append(_instance(opportunity_id, placed, writer))
    rows.history.extend(_history(opportunity_id, placed, first, writer))
    rows.changes.extend(_changes(opportunity_id, placed, first, writer))
    rows.audit.extend(_audit(opportunity_id, placed, first, writer))
    rows.events.extend(_events(opportunity_id, placed, first, writer))
    if first.get("contact_id") is not None:
        rows.stakeholders.append(_stakeholder(opportunity_id, first["contact_id"], writer))
    rows.finals.append({**scalar_defaults(), **final})


def _stage_fields(transition: engine.Transition) -> Row:
    return {"active_stage": transition.to_stage, "pipeline_phase": transition.pipeline_phase}


def _opportunity(opportunity_id: uuid.UUID, final: Row, moves: int, writer: Writer) -> Row:
    # Every flush that changes the record bumps its version: the create, then each move.
    return {
        **scalar_defaults(),
        **final,
        "id": opportunity_id,
        "created_at": writer.now,
        "created_by_id": writer.actor_id,
        "modified_at": writer.now,
        "modified_by_id": writer.actor_id,
        "version": 1 + moves,
    }


def _instance(opportunity_id: uuid.UUID, placed: Placed, writer: Writer) -> Row:
    state = placed.transitions[-1].state
    return {
        "id": id_made_at(writer.now),
        "process_id": placed.process_id,
        "process_version": placed.process_version,
        "opportunity_id": opportunity_id,
        "lead_id": None,
        "active_stage": state.active_stage,
        "active_stage_started_at": state.active_stage_started_at,
        "traversed_path": list(state.traversed_path),
        "status": state.status,
        "completed_at": state.completed_at,
        "last_used_at": writer.now,
        "version": len(placed.transitions),
    }


def _history(opportunity_id: uuid.UUID, placed: Placed, first: Row, writer: Writer) -> list[Row]:
    return [
        {
            "opportunity_id": opportunity_id,
            "lead_id": None,
            "process_key": placed.process_key,
            "kind": move.kind,
            "from_stage": move.from_stage,
            "to_stage": move.to_stage,
            "pipeline_phase": move.pipeline_phase,
            "estimated_value": first.get("estimated_value"),
            "at": move.state.active_stage_started_at,
            "by_id": writer.actor_id,
        }
        for move in placed.transitions
    ]


def _changes(opportunity_id: uuid.UUID, placed: Placed, first: Row, writer: Writer) -> list[Row]:
    """The change log: each tracked field's birth row, then per move the fields it changed."""
    found = [(name, None, first[name]) for name in TRACKED_FIELDS if first.get(name) is not None]
    rows = [_change(opportunity_id, *change, writer) for change in found]
    for before, after in zip(placed.transitions, placed.transitions[1:], strict=False):
        for name, old, new in _moved(before, after):
            if name in TRACKED_FIELDS:
                rows.append(_change(opportunity_id, name, old, new, writer))
    return rows


def _moved(before: engine.Transition, after: engine.Transition) -> list[tuple[str, Any, Any]]:
    """The fields a move changes, in column order (as the hooks meet them)."""
    old, new = _stage_fields(before), _stage_fields(after)
    return [(name, old[name], new[name]) for name in audited_columns() if name in old]


def _change(opportunity_id: uuid.UUID, name: str, old: Any, new: Any, writer: Writer) -> Row:
    return {
        "opportunity_id": opportunity_id,
        "field": name,
        "old_value": encode(old),
        "new_value": encode(new),
        "effective_at": writer.now,
        "recorded_at": writer.now,
        "actor_id": writer.actor_id,
    }


def _audit(opportunity_id: uuid.UUID, placed: Placed, first: Row, writer: Writer) -> list[Row]:
    created = {
        # The audit's own encoding (plain str of a decimal), not the events' (normalised).
        name: [None, audit._shown(name, first[name])]
        for name in audited_columns()
        if first.get(name) is not None
    }
    rows = [_audit_row(opportunity_id, first, writer.action, created, writer)]
    for before, after in zip(placed.transitions, placed.transitions[1:], strict=False):
        moved = {name: [old, new] for name, old, new in _moved(before, after) if old != new}
        rows.append(_audit_row(opportunity_id, first, "stage_move", moved, writer))
    return rows


def _audit_row(
    opportunity_id: uuid.UUID, first: Row, action: str, changes: Row, writer: Writer
) -> Row:
    return {
        "at": writer.now,
        "actor_id": writer.actor_id,
        "address": writer.address,
        "action": action,
        "table_name": "opportunities",
        "record_id": opportunity_id,
        "subject": None,
        "business_unit_id": first["owning_business_unit_id"],
        "changes": changes,
    }


def _events(opportunity_id: uuid.UUID, placed: Placed, first: Row, writer: Writer) -> list[Row]:
    defaults = scalar_defaults()
    payload = {
        name: json_value(first[name] if first.get(name) is not None else defaults[name])
        for name in SNAPSHOT
    }
    rows = [_event(opportunity_id, first, 1, "opportunity.created", payload, writer)]
    for version, (before, after) in enumerate(
        zip(placed.transitions, placed.transitions[1:], strict=False), start=2
    ):
        changed = _stage_changed(placed.process_key, before, after)
        state = {**first, **_stage_fields(after)}
        rows.append(_event(opportunity_id, state, version, changed[0], changed[1], writer))
    return rows


def _stage_changed(
    process_key: str, before: engine.Transition, after: engine.Transition
) -> tuple[str, Row]:
    return "opportunity.stage_changed", {
        "process": process_key,
        "from_process": process_key,
        "from": before.to_stage,
        "to": after.to_stage,
        "kind": after.kind,
        "pipeline_phase": after.pipeline_phase,
    }


def _event(
    opportunity_id: uuid.UUID, state: Row, version: int, kind: str, payload: Row, writer: Writer
) -> Row:
    return {
        "id": id_made_at(writer.now),
        "tx_id": writer.tx_id,
        "type": kind,
        "record_type": "opportunity",
        "record_id": opportunity_id,
        "record_seq": version * SLOTS,
        "record_version": version,
        "occurred_at": writer.now,
        "actor_id": writer.actor_id,
        "owner_id": state["owner_id"],
        "owning_business_unit_id": state["owning_business_unit_id"],
        "process_key": state["process_key"],
        "pipeline_phase": state["pipeline_phase"],
        "payload": payload,
    }


def _stakeholder(opportunity_id: uuid.UUID, contact_id: uuid.UUID, writer: Writer) -> Row:
    return {
        "opportunity_id": opportunity_id,
        "contact_id": contact_id,
        "role": "stakeholder",
        "created_at": writer.now,
        "created_by_id": writer.actor_id,
    }
