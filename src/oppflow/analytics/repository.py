"""Aggregate queries; each one starts from the opportunities the caller may read."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select

from oppflow.analytics.schemas import (
    FunnelFilters,
    FunnelPhase,
    OpportunitySearch,
    OutcomeTotal,
    OwnerTotal,
)
from oppflow.models import Opportunity, SalesTeamMember, User
from oppflow.sales.repository import OpportunityRepository

CENT = Decimal("0.01")
SORT_COLUMNS: dict[str, Any] = {
    "name": Opportunity.name,
    "estimated_value": Opportunity.estimated_value,
    "estimated_close_date": Opportunity.estimated_close_date,
    "probability": Opportunity.probability,
    "pipeline_phase": Opportunity.pipeline_phase,
    "modified_at": Opportunity.modified_at,
    "created_at": Opportunity.created_at,
}


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


class AnalyticsRepository(OpportunityRepository):
    def funnel(self, filters: FunnelFilters) -> list[FunnelPhase]:
        """Open opportunities grouped by pipeline phase: count, value and weighted value."""
        readable = self.readable().where(*self._conditions(filters)).subquery()
        value = func.coalesce(readable.c.estimated_value, 0)
        weighted = value * func.coalesce(readable.c.probability, 0) / 100
        query = (
            select(
                readable.c.pipeline_phase,
                func.count(),
                func.coalesce(func.sum(value), 0),
                func.coalesce(func.sum(weighted), 0),
            )
            .group_by(readable.c.pipeline_phase)
            .order_by(readable.c.pipeline_phase)
        )
        return [
            FunnelPhase(
                pipeline_phase=phase or "",
                count=count,
                estimated_value=Decimal(total).quantize(Decimal("0.01")),
                weighted_value=Decimal(weighted_total).quantize(Decimal("0.01")),
            )
            for phase, count, total, weighted_total in self.session.execute(query)
        ]

    def pipeline_by_owner(self, filters: FunnelFilters) -> list[OwnerTotal]:
        """Open opportunities grouped by owner, the largest pipeline first."""
        readable = self.readable().where(*self._conditions(filters)).subquery()
        value = func.coalesce(readable.c.estimated_value, 0)
        weighted = value * func.coalesce(readable.c.probability, 0) / 100
        total = func.coalesce(func.sum(value), 0)
        query = (
            select(readable.c.owner_id, func.count(), total, func.coalesce(func.sum(weighted), 0))
            .group_by(readable.c.owner_id)
            .order_by(total.desc())
        )
        return [
            OwnerTotal(
                owner_id=owner,
                count=count,
                estimated_value=_money(amount),
                weighted_value=_money(weighted_amount),
            )
            for owner, count, amount, weighted_amount in self.session.execute(query)
        ]

    def outcomes(self, filters: FunnelFilters, start: date, end: date) -> list[OutcomeTotal]:
        """Won and lost opportunities closed between ``start`` and ``end`` (inclusive)."""
        conditions = [
            *self._filter_conditions(filters),
            Opportunity.state.in_(("won", "lost")),
            Opportunity.actual_close_date >= start,
            Opportunity.actual_close_date <= end,
        ]
        readable = self.readable().where(*conditions).subquery()
        amount = func.coalesce(readable.c.actual_value, readable.c.estimated_value, 0)
        query = select(readable.c.state, func.count(), func.coalesce(func.sum(amount), 0))
        rows = self.session.execute(query.group_by(readable.c.state))
        return [OutcomeTotal(state=state, count=count, value=_money(v)) for state, count, v in rows]

    def search(
        self, search: OpportunitySearch, actor_id: uuid.UUID
    ) -> tuple[list[Opportunity], int]:
        """One page of a list view (sorted, filtered), and how many rows the view has."""
        query = self.readable().where(*self._search_conditions(search, actor_id))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        column = SORT_COLUMNS[search.sort]
        order = column.desc().nulls_last() if search.descending else column.asc().nulls_last()
        page = query.order_by(order, Opportunity.id).offset((search.page - 1) * search.per_page)
        return list(self.session.scalars(page.limit(search.per_page))), total

    def _search_conditions(
        self, search: OpportunitySearch, actor_id: uuid.UUID
    ) -> list[ColumnElement[bool]]:
        found = self.conditions(search)
        if search.view == "my_open":
            found += [Opportunity.owner_id == actor_id, Opportunity.state == "open"]
        elif search.view == "member":
            found.append(_on_sales_team(actor_id))
        elif search.view == "closed":
            found.append(Opportunity.state.in_(("won", "lost")))
        elif search.view == "open":
            found.append(Opportunity.state == "open")
        if search.business_unit_id:
            found.append(Opportunity.owner_id.in_(_owners_in(search.business_unit_id)))
        return found

    def _conditions(self, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        return [Opportunity.state == "open", *self._filter_conditions(filters)]

    def _filter_conditions(self, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if filters.owner_id:
            found.append(Opportunity.owner_id == filters.owner_id)
        if filters.business_unit_id:
            found.append(Opportunity.owner_id.in_(_owners_in(filters.business_unit_id)))
        if filters.process_key:
            found.append(Opportunity.process_key == filters.process_key)
        if filters.close_from:
            found.append(Opportunity.estimated_close_date >= filters.close_from)
        if filters.close_to:
            found.append(Opportunity.estimated_close_date <= filters.close_to)
        return found


def _owners_in(business_unit_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(User.id).where(User.business_unit_id == business_unit_id)


def _on_sales_team(user_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(
        SalesTeamMember.opportunity_id == Opportunity.id, SalesTeamMember.user_id == user_id
    )
