"""What a report is asked: the filters every report takes, each report's own options, and
the instants and periods they resolve to (ANALYTICS.md §4).

``as_of``, ``from`` and ``to`` are ISO 8601: a date (midnight in ``tz``, UTC by default) or a
date-time with an offset. Periods are half-open ``[from, to)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from oppflow.errors import ValidationFailed
from oppflow.schemas import NO_NUL, IsoDate

# The shape, and the years, months, days, hours and offsets that can be; the calendar (no
# 30 February) and the relations between instants are checked in code.
MOMENT_PATTERN = (
    r"^(19[7-9]\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$"
)
LONGEST_PERIOD = timedelta(days=366 * 30)
EARLIEST_YEAR, LATEST_YEAR = 1970, 2199


def _real_moment(text: str) -> str:
    # The pattern says the shape; this says the calendar (no 30 February, no hour 25).
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date or time") from exc
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"the year must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return text


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not a time zone of the IANA database")
    return name


def _zones() -> set[str]:
    return available_timezones() | {"UTC"}


Moment = Annotated[
    str, StringConstraints(pattern=MOMENT_PATTERN, max_length=40), AfterValidator(_real_moment)
]
# The shape of an IANA name ("UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"); which
# names exist is checked in code.
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
Zone = Annotated[
    str, StringConstraints(max_length=64, pattern=ZONE_PATTERN), AfterValidator(_known_zone)
]
ProcessKeyText = Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]


class ReportFilters(BaseModel):
    """The filters every report takes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    owner_id: uuid.UUID | None = None
    business_unit_id: uuid.UUID | None = None
    process: ProcessKeyText | None = None
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    as_of: Moment | None = None
    tz: Zone | None = None

    @model_validator(mode="after")
    def _from_before_to(self) -> ReportFilters:
        # Checked for every report, even one that reads no period, so a wrong one never
        # passes silently.
        if self.from_ and self.to:
            zone = zone_of(self)
            start, end = moment(self.from_, zone), moment(self.to, zone)
            if start >= end:
                raise ValueError("'from' must come before 'to'")
            if end - start > LONGEST_PERIOD:
                raise ValueError("a period may span at most 30 years")
        return self


class FunnelOptions(ReportFilters):
    mode: Literal["snapshot", "ordered", "any"] = "snapshot"
    cohort: Literal["created", "entered"] = "created"
    known: Literal["effective", "recorded"] = "effective"
    # Kept from the first funnel: a synonym of ``process``, and the close-date window of the
    # snapshot.
    process_key: ProcessKeyText | None = None
    close_from: IsoDate | None = None
    close_to: IsoDate | None = None


class ConversionOptions(ReportFilters):
    mode: Literal["ordered", "any"] = "ordered"
    cohort: Literal["created", "entered"] = "created"


class TimeInStageOptions(ReportFilters):
    measure: Literal["cumulative", "latest"] = "cumulative"


class ForecastOptions(ReportFilters):
    rollup: Literal["cumulative", "single"] = "cumulative"


class WaterfallOptions(ReportFilters):
    start: Moment | None = None
    details: bool = False


class CalibrationOptions(ReportFilters):
    pass


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    # Where the days of :meth:`days` begin and end (the report's ``tz``).
    zone: tzinfo = UTC

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def days(self) -> tuple[date, date]:
        """The first day held and the first day after those held, in the period's zone: a
        day is in when it starts before ``to``."""
        return self._days

    @cached_property
    def _days(self) -> tuple[date, date]:
        return _local_day(self.start, self.zone), _day_end(self.end, self.zone)


def iso_days(days: tuple[date, date]) -> tuple[str, str]:
    """A first day and the day after the last as ISO texts, which sort as the days do: how
    a query compares them with the close days the spans keep as text."""
    first, after = days
    return first.isoformat(), after.isoformat()


def _local_day(moment: datetime, zone: tzinfo) -> date:
    try:
        return moment.astimezone(zone).date()
    except OverflowError:  # the start of "since ever" (datetime.min) west of UTC
        return date.min


def _day_end(end: datetime, zone: tzinfo) -> date:
    local = end.astimezone(zone)
    return local.date() + timedelta(days=1) if local.time() != time(0) else local.date()


def zone_of(filters: ReportFilters) -> tzinfo:
    return ZoneInfo(filters.tz) if filters.tz else UTC


def moment(text: str, zone: tzinfo) -> datetime:
    """An ISO date (midnight in ``zone``) or date-time with an offset, as a UTC instant."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:  # the query model checked it; a caller may not have
        raise ValidationFailed(f"{text!r} is not a real date or time.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def as_of(filters: ReportFilters, now: datetime) -> datetime:
    return moment(filters.as_of, zone_of(filters)) if filters.as_of else now


def period(filters: ReportFilters, default: Period) -> Period:
    """``[from, to)``, each end defaulting to ``default``'s; refused when empty or huge."""
    zone = zone_of(filters)
    start = moment(filters.from_, zone) if filters.from_ else default.start
    end = moment(filters.to, zone) if filters.to else default.end
    if start >= end:
        raise ValidationFailed("'from' must come before 'to'.", field="from")
    if end - start > LONGEST_PERIOD:
        raise ValidationFailed("A period may span at most 30 years.", field="to")
    return Period(start, end, zone)


def up_to(filters: ReportFilters, at: datetime) -> Period | None:
    """A period of closed deals: none unless an end is asked; ``from`` alone runs to ``at``,
    ``to`` alone from the longest period before it (from the beginning of time, it was always
    refused as longer than that)."""
    if not (filters.from_ or filters.to):
        return None
    end = moment(filters.to, zone_of(filters)) if filters.to else at
    return period(filters, Period(end - LONGEST_PERIOD, at))


def quarter_around(now: datetime, zone: tzinfo) -> Period:
    """The calendar quarter of ``now`` in ``zone``: the default period of most reports."""
    local = now.astimezone(zone).date()
    first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    following = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return Period(_midnight(first, zone), _midnight(following, zone), zone)


def last_days(now: datetime, days: int) -> Period:
    return Period(now - timedelta(days=days), now)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
