"""The opportunity list views: one page in the view's order, and how many rows the view has.

A page is read in index order (decisions 0023 and 0024): the indexes in (state, sort column,
id) order give each state's rows in the list's order, so a page of a large view stops after
its rows, one index range per state, instead of sorting every readable row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, union_all

from oppflow.analytics.schemas import OpportunitySearch
from oppflow.models import Opportunity, SalesTeamMember, User
from oppflow.sales.repository import OpportunityRepository

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
# A view of this many rows or fewer is sorted whole: the planner starts from its few rows (an
# owner's, a sales team's, a filter's) where walking a state's index range in order could pass
# over most of the range to find them. Sorting 20,000 rows costs about 15 ms (docs/performance.md).
SORTED_UP_TO = 20_000


@dataclass(frozen=True)
class Order:
    """A list's order over some columns, all one way; ``id`` last, so that it is total."""

    columns: tuple[Any, ...]
    descending: bool

    def over(self, columns: Sequence[Any]) -> list[ColumnElement[Any]]:
        """These columns (the order's own, or those of a subquery selecting them) in order."""
        return [column.desc() if self.descending else column.asc() for column in columns]


class ListRepository(OpportunityRepository):
    def search(
        self, search: OpportunitySearch, actor_id: uuid.UUID
    ) -> tuple[list[Opportunity], int]:
        """One page of a list view (sorted, filtered), and how many rows the view has (exact).

        The rows with a value in the sort column come first, by it and then by id (both one
        way), then those without, by id: each an order of the (state, column, id) index, read
        to the page's end only."""
        grants = self.grants()
        view = self._search_conditions(search, actor_id)
        total = self.count(view, grants)
        start, size = (search.page - 1) * search.per_page, search.per_page
        if start >= total:
            return [], total
        column = SORT_COLUMNS[search.sort]
        states = self._walked_states(search, total)
        readable = [grants.scope(), *view]
        valued = Order((column, Opportunity.id), search.descending)
        ids = self._ids([*readable, column.is_not(None)], valued, states, start, size)
        if len(ids) < size and start + len(ids) < total:
            # Past the valued rows: skip what this page's start passed of the empty ones.
            skip = 0
            if not ids:
                skip = max(0, start - self.count([*view, column.is_not(None)], grants))
            empty = Order((Opportunity.id,), False)
            ids += self._ids([*readable, column.is_(None)], empty, states, skip, size - len(ids))
        return self._loaded(ids), total

    def _ids(
        self,
        conditions: Sequence[ColumnElement[bool]],
        order: Order,
        states: tuple[str, ...] | None,
        offset: int,
        limit: int,
    ) -> list[uuid.UUID]:
        """The ids of the rows ``offset`` to ``offset + limit`` meeting ``conditions`` in
        ``order``: sorted whole (``states`` None), read from one state's index range, or
        merged from the first ``offset + limit`` of each state's."""
        keys = select(*order.columns).where(*conditions)
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
        query = select(found.c.id).order_by(*order.over(list(found.c)))
        return list(self.session.scalars(query.offset(offset).limit(limit)))

    def _loaded(self, ids: list[uuid.UUID]) -> list[Opportunity]:
        """The opportunities of ``ids``, in that order (ids read under row-level security)."""
        if not ids:
            return []
        rows = self.session.scalars(select(Opportunity).where(Opportunity.id.in_(ids)))
        found = {row.id: row for row in rows}
        return [found[key] for key in ids]

    def _walked_states(self, search: OpportunitySearch, total: int) -> tuple[str, ...] | None:
        """The states whose index ranges a page is read from, in order; None when the view
        is small enough to sort whole."""
        if total <= SORTED_UP_TO:
            return None
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
        found = self.conditions(search)
        if search.view == "my_open":
            found.append(Opportunity.owner_id == actor_id)
        elif search.view == "member":
            found.append(Opportunity.id.in_(on_sales_team_of(actor_id)))
        found += _in_states(VIEW_STATES.get(search.view))
        if search.business_unit_id:
            found.append(Opportunity.owner_id.in_(owners_in(search.business_unit_id)))
        return found


def _in_states(states: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    if not states:
        return []
    if len(states) == 1:
        return [Opportunity.state == states[0]]
    return [Opportunity.state.in_(states)]


def owners_in(business_unit_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(User.id).where(User.business_unit_id == business_unit_id)


def on_sales_team_of(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The opportunities whose sales team ``user_id`` is on: a planner starts from these few
    (an ``IN``), where a correlated ``EXISTS`` is checked row by row."""
    return select(SalesTeamMember.opportunity_id).where(SalesTeamMember.user_id == user_id)
