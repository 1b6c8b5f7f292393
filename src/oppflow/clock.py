"""The product's notion of now, which the demo generator can move into the past."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_frozen_now: ContextVar[datetime | None] = ContextVar("oppflow_frozen_now", default=None)


def utcnow() -> datetime:
    """The current time in UTC, or the simulated time set by :func:`simulated_time`."""
    return _frozen_now.get() or datetime.now(UTC)


def today() -> date:
    return utcnow().date()


@contextmanager
def simulated_time(moment: datetime) -> Iterator[None]:
    """Run a block as if it were ``moment`` (used to generate realistic demo history)."""
    token = _frozen_now.set(moment)
    try:
        yield
    finally:
        _frozen_now.reset(token)
