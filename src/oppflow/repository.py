"""The base of every record repository: scoped reads, keyset pages, add and delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Executable, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.schemas import decode_cursor, encode_cursor
from oppflow.security.actor import Actor
from oppflow.security.scope import Grants, granted, read_scope

M = TypeVar("M", bound=Any)
S = TypeVar("S", bound=Executable)

MAX_PAGE = 200


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text`` (case-insensitive), with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
    return condition


class RecordRepository(Generic[M]):
    """Queries on one table, always scoped to what the actor may read."""

    model: ClassVar[type[Any]]
    label: ClassVar[str]

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def readable(self) -> Select[tuple[M]]:
        return select(self.model).where(read_scope(self.actor, self.model))

    def grants(self) -> Grants:
        """Row-level security with the records granted to the actor read first: for scans
        and counts over many rows (lists, boards), where :meth:`readable`'s correlated
        checks cost per row."""
        return granted(self.session, self.actor, self.model)

    def count(self, conditions: Sequence[ColumnElement[bool]], grants: Grants | None = None) -> int:
        """How many readable records meet ``conditions``, exactly: the sum of the counts of
        the disjoint parts of row-level security, ownership counted from its index and the
        granted records from their ids."""
        parts = (grants or self.grants()).parts()
        return sum(
            self.session.scalar(
                select(func.count()).select_from(self.model).where(part, *conditions)
            )
            or 0
            for part in parts
        )

    def get(self, record_id: uuid.UUID) -> M:
        """The record, or NotFound when it does not exist or lies outside the caller's scope."""
        record: M | None = self.session.scalar(self._by_id(), {"record_id": record_id})
        if record is None:
            raise NotFound(f"No {self.label} {record_id}.")
        return record

    def _by_id(self) -> Select[tuple[M]]:
        """The scoped select by id, with the id as a bound parameter."""
        return self.prebuilt(
            "get", lambda: self.readable().where(self.model.id == bindparam("record_id"))
        )

    def prebuilt(self, name: str, build: Callable[[], S]) -> S:
        """A scoped statement of the hot path, built once per actor rather than per request:
        the actor is cached per token until the security epoch moves, and a statement built
        once also keeps SQLAlchemy's cache key computed. Its values are bound parameters."""
        key = (self.model, name)
        statement: S | None = self.actor.scopes.get(key)
        if statement is None:
            statement = self.actor.scopes[key] = build()
        return statement

    def page(
        self, conditions: Sequence[ColumnElement[bool]], *, limit: int, cursor: str | None
    ) -> tuple[list[M], str | None]:
        """One page in creation order, resuming after ``cursor``; and the next page's cursor."""
        query = self.readable().where(*conditions)
        if cursor:
            at, last_id = decode_cursor(cursor)
            created, key = self.model.created_at, self.model.id
            query = query.where(or_(created > at, and_(created == at, key > last_id)))
        query = query.order_by(self.model.created_at, self.model.id).limit(limit + 1)
        rows = list(self.session.scalars(query))
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last.created_at, last.id)

    def first(self, *order: Any, limit: int) -> list[M]:
        """The first ``limit`` readable records in ``order`` (for pickers)."""
        return list(self.session.scalars(self.readable().order_by(*order).limit(limit)))

    def add(self, record: M) -> M:
        self.session.add(record)
        self.session.flush()
        return record

    def add_pending(self, record: M) -> M:
        """Add without flushing, so that what the caller sets next goes into the same INSERT
        (a new opportunity's process fields) rather than a second UPDATE."""
        self.session.add(record)
        return record

    def delete(self, record: M) -> None:
        self.session.delete(record)
        self.session.flush()
