"""The base of every record repository: scoped reads, keyset pages, add and delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from oppflow.errors import NotFound
from oppflow.models.base import UTCDateTime
from oppflow.schemas import decode_cursor, encode_cursor
from oppflow.security.actor import Actor
from oppflow.security.scope import Grants, granted, read_scope

M = TypeVar("M", bound=Any)
S = TypeVar("S", bound=Executable)
A = TypeVar("A", bound=BaseModel)
# A list's filters: a request's filter model, or its values by name (None: not set).
Filters = BaseModel | Mapping[str, Any]

MAX_PAGE = 200


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text`` (case-insensitive), with LIKE's wildcards taken literally."""
    condition: ColumnElement[bool] = column.ilike(like_pattern(text), escape="\\")
    return condition


def like_pattern(text: str) -> str:
    """The ILIKE pattern of "contains ``text``", with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ListFilter:
    """A filter of a list: its condition on a value (a literal, or a bound parameter in a
    prebuilt page), and how a request's value becomes that value."""

    condition: Callable[[Any], ColumnElement[bool]]
    value: Callable[[Any], Any] = lambda given: given


def equal_to(column: Any) -> ListFilter:
    return ListFilter(lambda value: column == value)


def text_in(*columns: Any) -> ListFilter:
    """Text contained in any of ``columns``, case-insensitive."""
    return ListFilter(
        lambda pattern: or_(*(column.ilike(pattern, escape="\\") for column in columns)),
        like_pattern,
    )


def answer_columns(model: type[Any], schema: type[BaseModel]) -> list[ColumnElement[Any]]:
    """The columns of ``model`` that ``schema`` answers with, read as the driver gives them:
    the schema parses UUIDs, decimals, dates and booleans itself (in pydantic's Rust core),
    so SQLAlchemy's per-value conversions in Python would only be done twice. Timestamps keep
    their conversion, which makes SQLite's naive values UTC-aware."""
    table = model.__table__
    columns = [table.c[name] for name in schema.model_fields]
    return [
        column if isinstance(column.type, UTCDateTime) else type_coerce(column, NullType())
        for column in columns
    ]


@cache
def answers_of(schema: type[A]) -> TypeAdapter[list[A]]:
    return TypeAdapter(list[schema])  # type: ignore[valid-type]


class RecordRepository(Generic[M]):
    """Queries on one table, always scoped to what the actor may read."""

    model: ClassVar[type[Any]]
    label: ClassVar[str]
    # The filters of its lists, by the name of the request's field.
    list_filters: ClassVar[Mapping[str, ListFilter]] = {}

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

    def require_readable(self, record_id: uuid.UUID) -> None:
        """NotFound as :meth:`get` unless the record exists within the caller's scope; reads
        only its id (a reference in a request body is checked, not used)."""
        statement = self.prebuilt(
            "readable id",
            lambda: (
                self.readable()
                .with_only_columns(self.model.id)
                .where(self.model.id == bindparam("record_id"))
            ),
        )
        if self.session.scalar(statement, {"record_id": record_id}) is None:
            raise NotFound(f"No {self.label} {record_id}.")

    def get_answer(self, record_id: uuid.UUID, schema: type[A]) -> A:
        """The record as ``schema`` answers it, read without loading the ORM object (for
        answers that change nothing); NotFound as :meth:`get`."""
        statement = self.prebuilt(
            f"get {schema.__qualname__}",
            lambda: self._answer_query(schema).where(self.model.id == bindparam("record_id")),
        )
        row = self._connection().execute(statement, {"record_id": record_id}).first()
        if row is None:
            raise NotFound(f"No {self.label} {record_id}.")
        answer: A = answers_of(schema).validate_python([row._asdict()])[0]
        return answer

    def conditions(self, filters: Filters) -> list[ColumnElement[bool]]:
        """The conditions of the list filters ``filters`` sets."""
        return [
            self.list_filters[name].condition(self.list_filters[name].value(value))
            for name, value in self._set_filters(filters).items()
        ]

    def page_answers(
        self, schema: type[A], filters: Filters, *, limit: int, cursor: str | None
    ) -> tuple[list[A], str | None]:
        """:meth:`page` of the records ``filters`` selects, each as ``schema`` answers it,
        without the ORM objects. The statement is built once per actor and shape (which
        filters are set, first page or not), its values bound: building it and its cache key
        anew cost more than running it."""
        values, cursor = self._set_filters(filters), cursor or None
        shape = f"page {schema.__qualname__} {sorted(values)} {cursor is not None}"
        statement = self.prebuilt(shape, lambda: self._answer_page(schema, values, cursor))
        parameters = {
            f"filter_{name}": self.list_filters[name].value(v) for name, v in values.items()
        }
        if cursor:
            parameters["after_at"], parameters["after_id"] = decode_cursor(cursor)
        result = self._connection().execute(statement, {**parameters, "page_limit": limit + 1})
        keys, rows = tuple(result.keys()), result.all()
        # Plain dicts: pydantic reads a dict in its core, any other mapping through Python.
        answers = answers_of(schema).validate_python(
            [dict(zip(keys, row, strict=True)) for row in rows[:limit]]
        )
        if len(rows) <= limit:
            return answers, None
        last = vars(answers[-1])  # the schema's fields, already converted
        return answers, encode_cursor(last["created_at"], last["id"])

    def _connection(self) -> Connection:
        """The session's connection, its pending changes flushed first as the ORM's execute
        would (unless autoflush is off): answers read from the driver need none of the ORM's
        result handling."""
        if self.session.autoflush:
            self.session.flush()
        return self.session.connection()

    def _set_filters(self, filters: Filters) -> dict[str, Any]:
        # A model's fields or a mapping; what is not a declared filter (a page's sort or view)
        # is not this query's.
        given = dict(filters)
        return {
            name: value
            for name, value in given.items()
            if name in self.list_filters and value is not None and value != ""
        }

    def _answer_page(
        self, schema: type[BaseModel], values: Mapping[str, Any], cursor: str | None
    ) -> Select[Any]:
        conditions = [
            self.list_filters[name].condition(bindparam(f"filter_{name}")) for name in values
        ]
        after: tuple[Any, Any] | None = (
            (bindparam("after_at"), bindparam("after_id")) if cursor else None
        )
        query = self._in_creation_order(self._answer_query(schema).where(*conditions), after)
        return query.limit(bindparam("page_limit", type_=Integer()))

    def _answer_query(self, schema: type[BaseModel]) -> Select[Any]:
        # The repository's own readable(): some scope a table through another (quotes
        # through their opportunity), with a join that the columns alone would not make.
        return self.readable().with_only_columns(*answer_columns(self.model, schema))

    def _in_creation_order(self, query: Select[Any], after: tuple[Any, Any] | None) -> Select[Any]:
        """``query`` in creation order, resuming after the record created at ``after``'s time
        with its id (values, or bound parameters of a prebuilt page)."""
        created, key = self.model.created_at, self.model.id
        if after is not None:
            at, last_id = after
            query = query.where(or_(created > at, and_(created == at, key > last_id)))
        return query.order_by(created, key)

    def _by_id(self) -> Select[tuple[M]]:
        """The scoped select by id, with the id as a bound parameter."""
        return self.prebuilt(
            "get", lambda: self.readable().where(self.model.id == bindparam("record_id"))
        )

    def prebuilt(self, name: str, build: Callable[[], S]) -> S:
        """A scoped statement of the hot path, built once per actor rather than per request:
        the actor is cached per token until the security epoch moves, and a statement built
        once also keeps SQLAlchemy's cache key computed. Its values are bound parameters."""
        # By repository class: two repositories of one model may scope it differently.
        key = (type(self), name)
        found = self.actor.statements.get(key)
        if found is None:
            found = self.actor.statements[key] = build()
        return cast(S, found)

    def page(
        self, conditions: Sequence[ColumnElement[bool]], *, limit: int, cursor: str | None
    ) -> tuple[list[M], str | None]:
        """One page in creation order, resuming after ``cursor``; and the next page's cursor."""
        after = decode_cursor(cursor) if cursor else None
        query = self._in_creation_order(self.readable().where(*conditions), after)
        rows = list(self.session.scalars(query.limit(limit + 1)))
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
