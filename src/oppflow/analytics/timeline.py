"""One opportunity's history as read from the change log, and its state at any instant.

Pure code: no database. A :class:`Timeline` is built from the opportunity's change-log rows in
(effective_at, seq) order; every report asks it what was true at an instant, or walks the
phase entries and exits it derives. Values are decoded from the log's text here, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple

_DECODERS: dict[str, Callable[[str], Any]] = {
    "estimated_value": Decimal,
    "actual_value": Decimal,
    "estimated_close_date": date.fromisoformat,
    "actual_close_date": date.fromisoformat,
    "probability": int,
    "owner_id": uuid.UUID,
}

Exit = Literal["next", "back", "won", "lost"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Later than any change: a whole timeline is read up to it.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def decode(field: str, text: str | None) -> Any:
    """A log value as the type of its field (a Decimal, a date, an int, a UUID or text)."""
    if text is None:
        return None
    decoder = _DECODERS.get(field)
    return decoder(text) if decoder else text


def encode(value: Any) -> str | None:
    """A tracked value as the log's text: ISO dates, plain decimals, hyphenated UUIDs."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def microseconds(moment: datetime) -> int:
    """``moment`` as whole microseconds since 1970-01-01 UTC: exact integer durations."""
    return (moment - EPOCH) // timedelta(microseconds=1)


# Between the phases in a list of them kept as text (a closed deal's phases reached, a
# cohort member's entries): no phase name holds it (``process.fields.pipeline_phase``).
PHASE_SEPARATOR = "|"


def phase_number(phase: str | None) -> int:
    """``3-Propose`` → 3; 0 for no phase (so it sorts first and never counts as reached)."""
    head = (phase or "").partition("-")[0]
    return int(head) if head.isdigit() else 0


class Change(NamedTuple):
    # A tuple: a report at size builds millions of them.
    field: str
    value: Any
    at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class State:
    """What was true of an opportunity at an instant (the tracked fields only)."""

    values: dict[str, Any]

    def __getitem__(self, field: str) -> Any:
        return self.values.get(field)

    @property
    def is_open(self) -> bool:
        return self.values.get("state") == "open"


@dataclass(frozen=True, slots=True)
class PhaseEntry:
    phase: str
    at: datetime
    reopened: bool


@dataclass(frozen=True, slots=True)
class PhaseExit:
    phase: str
    at: datetime
    to: Exit


@dataclass(frozen=True, slots=True)
class Stint:
    """A stay in one stage of one process, from entry to exit (``end`` None while open)."""

    process_key: str | None
    stage: str | None
    start: datetime
    end: datetime | None


class Timeline:
    def __init__(
        self,
        opportunity_id: uuid.UUID,
        changes: Sequence[Change],
        born_at: datetime | None = None,
    ) -> None:
        """``born_at``: the first instant of the whole log, when ``changes`` hold only some
        fields' rows (default: the first change's)."""
        self.opportunity_id = opportunity_id
        self.changes = changes
        self.born_at = born_at or (changes[0].at if changes else None)

    def state_at(self, moment: datetime) -> State | None:
        """The values at ``moment`` (None before the opportunity existed)."""
        if self.born_at is None or self.born_at > moment:
            return None
        values: dict[str, Any] = {}
        for change in self.changes:
            if change.at > moment:
                break
            values[change.field] = change.value
        return State(values)

    def instants(self, until: datetime) -> Iterator[tuple[datetime, State, State]]:
        """Each instant something changed (up to ``until``), with the state before and after;
        the changes of one flush share an instant and are seen together."""
        values: dict[str, Any] = {}
        index = 0
        while index < len(self.changes) and self.changes[index].at <= until:
            at = self.changes[index].at
            before = State(dict(values))
            while index < len(self.changes) and self.changes[index].at == at:
                values[self.changes[index].field] = self.changes[index].value
                index += 1
            yield at, before, State(dict(values))

    def phase_moves(self, until: datetime) -> Iterator[PhaseEntry | PhaseExit]:
        """Entries into and exits from pipeline phases while open, in time order."""
        # As over :meth:`instants`, following only the phase and the state.
        phase: Any = None
        state: Any = None
        for at, group in self._groups(until):
            was_in = phase if state == "open" else None
            before = state
            for change in group:
                if change.field == "pipeline_phase":
                    phase = change.value
                elif change.field == "state":
                    state = change.value
            now_in = phase if state == "open" else None
            if was_in == now_in:
                continue
            if was_in is not None:
                yield PhaseExit(was_in, at, exit_kind(was_in, now_in, state))
            if now_in is not None:
                yield PhaseEntry(now_in, at, before != "open" and before is not None)

    def _groups(self, until: datetime) -> Iterator[tuple[datetime, Sequence[Change]]]:
        """The changes up to ``until``, one group per instant (the changes of one flush)."""
        changes = self.changes
        index, count = 0, len(changes)
        while index < count and changes[index].at <= until:
            at, start = changes[index].at, index
            while index < count and changes[index].at == at:
                index += 1
            yield at, changes[start:index]

    def phases_entered(self, until: datetime) -> list[str]:
        """The phases entered, in order (a phase entered twice appears twice)."""
        return [move.phase for move in self.phase_moves(until) if isinstance(move, PhaseEntry)]

    def stints(self, until: datetime) -> list[Stint]:
        """Stays in each stage while open, up to ``until`` (the last one open if still there)."""
        found: list[Stint] = []
        current: Stint | None = None
        values: dict[str, Any] = {"process_key": None, "active_stage": None, "state": None}
        for at, group in self._groups(until):
            for change in group:
                if change.field in values:
                    values[change.field] = change.value
            where = None
            if values["state"] == "open":
                where = (values["process_key"], values["active_stage"])
            if current is not None and where == (current.process_key, current.stage):
                continue
            if current is not None:
                found.append(Stint(current.process_key, current.stage, current.start, at))
            current = Stint(where[0], where[1], at, None) if where is not None else None
        if current is not None:
            found.append(current)
        return found

    def closed_at(self, until: datetime) -> datetime | None:
        """When the opportunity was last closed (won or lost), if it is closed at ``until``."""
        closed: datetime | None = None
        state: Any = None
        for at, group in self._groups(until):
            before = state
            for change in group:
                if change.field == "state":
                    state = change.value
            if before == "open" and state != "open":
                closed = at
            elif state == "open":
                closed = None
        return closed


def exit_kind(was_in: str, now_in: str | None, state: Any) -> Exit:
    if now_in is None:
        return "won" if state == "won" else "lost"
    return "next" if phase_number(now_in) >= phase_number(was_in) else "back"
