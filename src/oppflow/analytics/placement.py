"""Where an opportunity stands in the pipeline before and after a flush, read from the values
loaded (never from the database): what the summaries kept by the change log's flush hook
follow (``stage_stints``, ``phase_moves``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import inspect
from sqlalchemy.orm.base import NO_VALUE

from oppflow.analytics.timeline import Change, Timeline, decode
from oppflow.models import Opportunity
from oppflow.models.base import set_since_load

FIELDS = ("state", "process_key", "active_stage", "pipeline_phase")


class Place(NamedTuple):
    state: Any
    process_key: Any
    stage: Any
    phase: Any


class Shift(NamedTuple):
    """What one flush does to an opportunity's place, at ``at``. ``before`` is None for a new
    opportunity, and for one whose earlier place is unknown (a value not loaded): a summary
    then reads the opportunity's log instead."""

    before: Place | None
    after: Place
    at: datetime
    new: bool


def shift_of(record: Opportunity, at: datetime, *, new: bool) -> Shift | None:
    """What the flush about to run does to ``record``'s place; None when it leaves it."""
    values = inspect(record).dict
    if new:
        return Shift(None, _place(values.get), at, new=True)
    old = {field: value for field, value, _ in set_since_load(record, FIELDS)}
    if not old:
        return None
    after = _place(values.get)
    if any(field not in values for field in FIELDS) or _unknown_before(record):
        return Shift(None, after, at, new=False)
    before = _place(lambda field: old[field] if field in old else values[field])
    return None if before == after else Shift(before, after, at, new=False)


def _unknown_before(record: Opportunity) -> bool:
    """A field set after its loaded value was expired: its history says None, not the value
    it had."""
    committed = inspect(record).committed_state
    return any(committed.get(field) is NO_VALUE for field in FIELDS)


def _place(value: Callable[[str], Any]) -> Place:
    return Place(*(value(field) for field in FIELDS))


def timelines_of_changes(
    changes: Iterable[Mapping[str, Any]], fields: Iterable[str]
) -> Iterator[Timeline]:
    """The timelines of change-log rows about to be loaded around the ORM (each opportunity's
    rows in the order they will be written), only ``fields``, as the log will be read."""
    wanted = set(fields)
    by_opportunity: dict[uuid.UUID, list[Change]] = defaultdict(list)
    for row in changes:
        if row["field"] in wanted:
            value = decode(row["field"], row["new_value"])
            change = Change(row["field"], value, row["effective_at"], row["recorded_at"])
            by_opportunity[row["opportunity_id"]].append(change)
    for opportunity_id, logged in by_opportunity.items():
        # A stable sort: the writing order stays within an instant.
        yield Timeline(opportunity_id, sorted(logged, key=lambda change: change.at))
