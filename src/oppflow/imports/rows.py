"""What each kind of import gets for one row, and how it refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from oppflow.clock import utcnow
from oppflow.security.actor import Actor

if TYPE_CHECKING:
    from oppflow.imports.lookups import Lookups


class RowRefused(Exception):
    """A row the import refuses, naming the column and value at fault (for the report)."""

    def __init__(self, column: str, value: str, why: str) -> None:
        super().__init__(why)
        self.column, self.value, self.why = column, value, why


class AlreadyImported(Exception):
    """The row was imported before (its external id, or the same dated change, is there)."""


@dataclass
class Row:
    session: Session
    actor: Actor
    lookups: Lookups
    # The row's values under their API fields, blank cells left out.
    values: dict[str, str]
    # Its record's id in the source system, given to the service at creation (not set after,
    # which would cost an UPDATE, an audit entry and a version per row).
    external_id: str | None = None


def past_instant(column: str, text: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no offset), not in the
    future: when something happened in the system a file comes from."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowRefused(
            column, text, "a date is written YYYY-MM-DD[THH:MM[:SS][+HH:MM]]"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > utcnow():
        raise RowRefused(column, text, "this date is in the future")
    return moment.astimezone(UTC)
