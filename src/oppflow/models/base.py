"""Declarative base, column types and mixins shared by every model."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    TypeDecorator,
    Uuid,
    func,
    inspect,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from oppflow.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def set_since_load(
    record: object, keys: Iterable[str], *, load_old: bool = False
) -> Iterator[tuple[str, Any, Any]]:
    """``(key, old, new)`` for each of ``keys`` whose value was set since ``record`` was
    loaded and differs in SQLAlchemy's history; ``load_old`` reads an old value that was
    expired before the change (the audit log wants it; the flush hooks settle for None).

    Only an attribute set since the load has a history (SQLAlchemy keeps its loaded value in
    ``committed_state``): asking the others for theirs would cost a call each, in every flush
    hook of every write."""
    state = inspect(record)
    for key in [key for key in keys if key in state.committed_state]:
        attribute = state.attrs[key]
        history = attribute.load_history() if load_old else attribute.history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            yield key, old, history.added[0] if history.added else None


MONEY = Numeric(19, 4)
SEQUENCE_ID = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: MONEY,
        uuid.UUID: Uuid(),
    }


def lower_index(name: str, column: Any) -> Index:
    """An index on ``lower(column)`` for case-insensitive prefix search: ``text_pattern_ops`` on
    PostgreSQL, so that ``LIKE 'abc%'`` reads it whatever the database's collation."""
    key = f"{column.key}_lower"
    return Index(name, func.lower(column).label(key), postgresql_ops={key: "text_pattern_ops"})


# What a version-7 UUID keeps beside its 48 bits of Unix milliseconds (RFC 9562 §5.7).
RANDOM_BITS = 74
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def new_id() -> uuid.UUID:
    """A new record's id, ordered by the time it was made (decision 0048): the rows keyed by
    it are added at the end of the indexes that lead with it, beside those of the records
    made about the same time, which the reports read together, rather than on a random
    page of each."""
    return id_made_at(utcnow())


def id_made_at(moment: datetime) -> uuid.UUID:
    """The time-ordered id of a record made at ``moment`` (aware), its random bits from
    :mod:`secrets`: for writers that stamp a batch of records with one moment."""
    return time_ordered_id(moment, secrets.randbits(RANDOM_BITS))


def time_ordered_id(moment: datetime, random_bits: int) -> uuid.UUID:
    """The version-7 UUID of ``moment`` (aware) with ``random_bits``' low 74 bits: they sort,
    as bytes and as hex text alike, by the millisecond they were made. The milliseconds are
    counted in integers: a float's product rounds some moments up to the next one."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: an id's moment must be aware")
    milliseconds = (moment - _EPOCH) // _MILLISECOND
    # datetime.max is within 48 bits of milliseconds: only moments before 1970 are refused.
    if milliseconds < 0:
        raise ValueError(f"{moment!r} is before 1970, outside the range of a version-7 UUID")
    rand_a, rand_b = random_bits >> 62 & 0xFFF, random_bits & (1 << 62) - 1
    return uuid.UUID(int=milliseconds << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)


class Audited:
    """Creation and modification stamps, and the version that guards against lost updates."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    modified_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        # SQLAlchemy adds "AND version = :old" to every UPDATE and raises StaleDataError when a
        # concurrent writer got there first: no lost updates, even without If-Match.
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
