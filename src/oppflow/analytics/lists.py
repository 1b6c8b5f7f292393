"""The opportunity list views: one page in the view's order, and how many rows the view has.

A page is read in index order (decisions 0023 and 0024): the indexes in (state, sort column,
id) order give each state's rows in the list's order, so a page of a large view stops after
its rows, one index range per state, instead of sorting every readable row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Select,
    and_,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from oppflow.analytics.schemas import OpportunitySearch
from oppflow.models import Opportunity, SalesTeamMember, User
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.privileges import Depth
from oppflow.security.scope import GRANTED_SLICE, Grants

SORT_COLUMNS: dict[str, Any] = {
    "name": Opportunity.name,
    "estimated_value": Opportunity.estimated_value,
    "estimated_close_date": Opportunity.estimated_close_date,
    "probability": Opportunity.probability,
    "pipeline_phase": Opportunity.pipeline_phase,
    "modified_at": Opportunity.modified_at,
    "created_at": Opportunity.created_at,
}
# The states a view holds; the views not named hold every state.
VIEW_STATES: dict[str, tuple[str, ...]] = {
    "my_open": ("open",),
    "open": ("open",),
    "closed": ("won", "lost"),
}
# A view that starts from an owner's rows (my open ones, a filter on the owner) or from a sales
# team's, with this many rows or fewer, is sorted whole: the planner reads those rows by their
# index and sorts them, where walking a state's range in the list's order could pass over most
# of the range to find them. Any other view is walked: where its rows are found only by testing
# each row of the state (a business unit's, a filter's), sorting would read the whole range.
SORTED_UP_TO = 20_000


@dataclass(frozen=True)
class Order:
    """A list's order over some columns, all one way; ``id`` last, so that it is total."""

    columns: tuple[Any, ...]
    descending: bool
    unindexed: bool = False

    def over(self, columns: Sequence[Any]) -> list[ColumnElement[Any]]:
        """These columns (the order's own, or those of a subquery selecting them) in order."""
        if self.unindexed:
            columns = [Unindexed(column) for column in columns]
        return [column.desc() if self.descending else column.asc() for column in columns]


class Unindexed(FunctionElement[Any]):
    """An expression no index may answer (a condition, a column to sort by), so that the
    planner starts from the view's few rows (an owner's, a sales team's) and sorts them.
    SQLite, without statistics, would rather walk an index in the ORDER BY's order, or take a
    business unit's rows by a multi-index ``OR`` and test each; its unary ``+`` turns an
    expression's indexes off. PostgreSQL weighs them with its statistics: bare there."""

    name = "unindexed"
    inherit_cache = True


@compiles(Unindexed)
def _bare(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + str(compiler.process(element.clauses, **kw)) + ")"


@compiles(Unindexed, "sqlite")
def _plus(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+(" + str(compiler.process(element.clauses, **kw)) + ")"


@dataclass(frozen=True)
class Reading:
    """How one list view's rows are read: the view's conditions, row-level security, and
    the states whose index ranges are walked in order (None: the view is sorted whole)."""

    view: list[ColumnElement[bool]]
    grants: Grants
    states: tuple[str, ...] | None

    def key(self, column: Any) -> Any:
        """``column`` as the page's queries use it: unindexed when the view is sorted whole."""
        return Unindexed(column) if self.states is None else column

    def parts(self) -> list[ColumnElement[bool]]:
        """Row-level security's disjoint parts, each as :meth:`key` uses columns. In a walked
        view, ownership's ``OR`` is split in two (see :func:`_ownership_split`)."""
        parts = self.grants.parts()
        split = _ownership_split(self.grants) if self.states and parts else None
        if split:
            parts = [*split, *parts[1:]]
        return [self.key(part) for part in parts]


class ListRepository(OpportunityRepository):
    def search(
        self, search: OpportunitySearch, actor_id: uuid.UUID
    ) -> tuple[list[Opportunity], int]:
        """One page of a list view (sorted, filtered), and how many rows the view has (exact).

        The rows with a value in the sort column come first, by it and then by id (both one
        way), then those without, by id: each an order of the (state, column, id) index, read
        to the page's end only. A view that starts from a few rows sorts them instead."""
        view, grants = self._search_conditions(search, actor_id), self.grants()
        few = _starts_from_few(search)
        reading = Reading(view, grants, None if few else self._walked_states(search))
        total = self._count(reading, [])
        start = (search.page - 1) * search.per_page
        if start >= total:
            return [], total
        if few and total > SORTED_UP_TO:
            reading = Reading(view, grants, self._walked_states(search))
        ids = self._page(reading, search, start, total)
        return opportunities_in_order(self.session, ids), total

    def _page(
        self, reading: Reading, search: OpportunitySearch, start: int, total: int
    ) -> list[uuid.UUID]:
        """The ids of the page from ``start``: the valued rows, then those without a value."""
        column, size = SORT_COLUMNS[search.sort], search.per_page
        sorted_whole = reading.states is None
        valued = Order((column, Opportunity.id), search.descending, sorted_whole)
        has_value = reading.key(column).is_not(None)
        ids = self._ids(reading, [has_value], valued, start, size)
        if len(ids) < size and start + len(ids) < total:
            # Past the valued rows: skip what this page's start passed of the empty ones.
            skip = 0
            if not ids:
                skip = max(0, start - self._count(reading, [has_value]))
            empty = Order((Opportunity.id,), False, sorted_whole)
            no_value = reading.key(column).is_(None)
            ids += self._ids(reading, [no_value], empty, skip, size - len(ids))
        return ids

    def _count(self, reading: Reading, conditions: list[ColumnElement[bool]]) -> int:
        """How many rows of the view meet ``conditions``: the sum over row-level security's
        disjoint parts (decision 0023)."""
        query = select(func.count()).select_from(Opportunity).where(*reading.view, *conditions)
        if reading.states:  # the states lead the indexes a count can read (all, member)
            query = query.where(*_in_states(reading.states))
        return sum(self.session.scalar(query.where(part)) or 0 for part in reading.parts())

    def _ids(
        self,
        reading: Reading,
        conditions: list[ColumnElement[bool]],
        order: Order,
        offset: int,
        limit: int,
    ) -> list[uuid.UUID]:
        """The ids of the rows ``offset`` to ``offset + limit`` of the view meeting
        ``conditions``, in ``order``: sorted whole, read from one state's index range, or
        merged from the first ``offset + limit`` of each state's."""
        scope = reading.key(reading.grants.scope())
        keys = select(*order.columns).where(scope, *reading.view, *conditions)
        states = reading.states
        if states is None or len(states) <= 1:
            query = keys.where(*_in_states(states)).order_by(*order.over(order.columns))
            # The id is the order's last column.
            return [row[-1] for row in self.session.execute(query.offset(offset).limit(limit))]
        ranges = [
            keys.where(Opportunity.state == state).order_by(*order.over(order.columns))
            for state in states
        ]
        merged = union_all(*(select(r.limit(offset + limit).subquery()) for r in ranges))
        found = merged.subquery()
        query = select(list(found.c)[-1]).order_by(*order.over(list(found.c)))
        return list(self.session.scalars(query.offset(offset).limit(limit)))

    def _walked_states(self, search: OpportunitySearch) -> tuple[str, ...]:
        """The states whose index ranges a page is read from, in order."""
        states = VIEW_STATES.get(search.view) or self._states_present()
        if search.state:
            states = tuple(state for state in states if state == search.state)
        return states

    def _states_present(self) -> tuple[str, ...]:
        """Every state some opportunity is in, one index seek each (a loose index scan): the
        all view merges them, whatever states the data holds."""
        found: list[str] = []
        query = select(Opportunity.state).order_by(Opportunity.state).limit(1)
        state = self.session.scalar(query)
        while state is not None:
            found.append(state)
            state = self.session.scalar(query.where(Opportunity.state > state))
        return tuple(found)

    def _search_conditions(
        self, search: OpportunitySearch, actor_id: uuid.UUID
    ) -> list[ColumnElement[bool]]:
        # The list filters alone: the search's other fields (view, sort, page) are not filters.
        found = self.conditions({name: getattr(search, name) for name in self.list_filters})
        if search.view == "my_open":
            found.append(Opportunity.owner_id == actor_id)
        elif search.view == "member":
            found.append(self._on_sales_team(actor_id))
        found += _in_states(VIEW_STATES.get(search.view))
        if search.business_unit_id:
            found.append(Opportunity.owner_id.in_(owners_in(search.business_unit_id)))
        return found

    def _on_sales_team(self, user_id: uuid.UUID) -> ColumnElement[bool]:
        """The opportunities whose sales team the user is on, their ids read first (as the
        granted ids are, decision 0023): SQLite starts from a list of ids, where it tests an
        ``IN`` subquery against each row its depth reaches by ownership."""
        teamed = select(SalesTeamMember.opportunity_id).where(SalesTeamMember.user_id == user_id)
        ids = list(self.session.scalars(teamed.limit(GRANTED_SLICE + 1)))
        if not ids:
            return false()  # a constant: no row is tested (an empty IN would test each)
        return Opportunity.id.in_(teamed if len(ids) > GRANTED_SLICE else ids)


def _ownership_split(grants: Grants) -> list[ColumnElement[bool]] | None:
    """Ownership at the business unit or parent-child depth as two disjoint parts: the units'
    rows, then the actor's own rows outside them (no unit included). Each is a range of an
    index, (state, unit, owner, id) or (owner, state), where the ``OR`` of the two made a count
    test every row of the view's states (SQLite) or visit the table (PostgreSQL)."""
    depth, actor = grants.depth, grants.actor
    if not Depth.BUSINESS_UNIT <= depth < Depth.ORGANIZATION:
        return None
    unit = Opportunity.owning_business_unit_id
    tree = depth >= Depth.PARENT_CHILD  # as ownership_reach: the tree, else the unit
    units = list(actor.business_unit_tree) if tree else [actor.business_unit_id]
    outside = or_(unit.is_(None), unit.not_in(units))
    return [unit.in_(units), and_(Opportunity.owner_id == actor.user_id, outside)]


def _starts_from_few(search: OpportunitySearch) -> bool:
    """Whether the view's rows are found by an index of their own: an owner's, or the sales
    team's ids (see :data:`SORTED_UP_TO`)."""
    return search.view in ("my_open", "member") or search.owner_id is not None


def _in_states(states: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    if not states:
        return []
    if len(states) == 1:
        return [Opportunity.state == states[0]]
    return [Opportunity.state.in_(states)]


def opportunities_in_order(
    session: Session, ids: list[uuid.UUID], *still: ColumnElement[bool]
) -> list[Opportunity]:
    """The opportunities of ``ids`` (read under row-level security), in that order, that
    still meet ``still``. On PostgreSQL this statement sees what was committed since the ids
    were read: one deleted, or changed so that it no longer meets ``still``, is left out."""
    if not ids:
        return []
    rows = session.scalars(select(Opportunity).where(Opportunity.id.in_(ids), *still))
    found = {row.id: row for row in rows}
    return [found[key] for key in ids if key in found]


def owners_in(business_unit_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(User.id).where(User.business_unit_id == business_unit_id)
