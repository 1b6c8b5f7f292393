"""The instant a report looks from and the filters it keeps, applied to a state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from oppflow.analytics.defaults import Defaults
from oppflow.analytics.timeline import State


@dataclass(frozen=True)
class Scope:
    as_of: datetime
    defaults: Defaults
    owner_id: uuid.UUID | None = None
    # The users of the business unit asked for; None when no unit is asked for.
    owners: frozenset[uuid.UUID] | None = None
    process: str | None = None

    def fields(self) -> tuple[str, ...]:
        """The fields a report's stream must hold for its filters: the state (every report
        counts by it), the owner and the process only when :meth:`admits` filters on them,
        so that a report read in SQL reads (and decodes) no more."""
        owner = ("owner_id",) if self.owner_id is not None or self.owners is not None else ()
        return ("state", *owner, *(("process_key",) if self.process is not None else ()))

    def filters_nothing(self) -> bool:
        return self.owner_id is None and self.owners is None and self.process is None

    def admits(self, state: State) -> bool:
        if self.owner_id is not None and state["owner_id"] != self.owner_id:
            return False
        if self.owners is not None and state["owner_id"] not in self.owners:
            return False
        return self.process is None or state["process_key"] == self.process
