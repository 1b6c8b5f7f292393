"""Aggregate queries; each one starts from the opportunities the caller may read."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from oppflow.analytics.schemas import FunnelFilters, FunnelPhase
from oppflow.models import Opportunity, User
from oppflow.sales.repository import OpportunityRepository


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

    def _conditions(self, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [Opportunity.state == "open"]
        if filters.owner_id:
            found.append(Opportunity.owner_id == filters.owner_id)
        if filters.business_unit_id:
            owners = select(User.id).where(User.business_unit_id == filters.business_unit_id)
            found.append(Opportunity.owner_id.in_(owners))
        if filters.process_key:
            found.append(Opportunity.process_key == filters.process_key)
        if filters.close_from:
            found.append(Opportunity.estimated_close_date >= filters.close_from)
        if filters.close_to:
            found.append(Opportunity.estimated_close_date <= filters.close_to)
        return found
