"""Every query of the OData face, each scoped by the domain repositories' ``readable()``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.leads.repository import LeadRepository
from oppflow.models import Opportunity, OpportunityClose, ProcessInstance, User
from oppflow.repository import RecordRepository
from oppflow.sales.repository import (
    AccountRepository,
    CompetitorRepository,
    ContactRepository,
    OpportunityRepository,
)
from oppflow.security.actor import Actor

if TYPE_CHECKING:  # the entity sets name their writers, which read through this module
    from oppflow.dataverse.entities import EntitySet
    from oppflow.dataverse.query import Query

_SCOPED: dict[str, type[RecordRepository[Any]]] = {
    "accounts": AccountRepository,
    "contacts": ContactRepository,
    "competitors": CompetitorRepository,
    "leads": LeadRepository,
    "opportunities": OpportunityRepository,
}


class EntitySetRepository:
    """Reads of one entity set, always within what the actor may read."""

    def __init__(self, session: Session, actor: Actor, entity: EntitySet) -> None:
        self.session = session
        self.actor = actor
        self.entity = entity

    def readable(self) -> Select[Any]:
        name = self.entity.name
        if name in _SCOPED:
            return _SCOPED[name](self.session, self.actor).readable()
        if name == "systemusers":
            # As /api/v1/users: every user, for those who may read users at all.
            self.actor.require("user", "read")
            return select(User)
        if name == "opportunitysalesprocesses":
            return readable_instances(self.session, self.actor)
        opportunities = OpportunityRepository(self.session, self.actor).readable()
        readable_ids = opportunities.with_only_columns(Opportunity.id).scalar_subquery()
        return select(OpportunityClose).where(OpportunityClose.opportunity_id.in_(readable_ids))

    def get(self, key: uuid.UUID) -> Any:
        """The record, or a 404 when it does not exist or lies outside the caller's scope."""
        model = self.entity.model
        record = self.session.scalar(self.readable().where(model.id == key))
        if record is None:
            raise NotFound(f"{self.entity.logical_name} With Id = {key} Does Not Exist")
        return record

    def page(self, query: Query, size: int) -> list[Any]:
        """Up to ``size`` records from ``query.skip`` on, in the asked order (then by id)."""
        model = self.entity.model
        statement = self._filtered(query)
        for order in query.order:
            column = getattr(model, order.column.attribute)
            statement = statement.order_by(
                column.desc().nulls_last() if order.descending else column.asc().nulls_first()
            )
        statement = statement.order_by(model.id).offset(query.skip).limit(size)
        return list(self.session.scalars(statement))

    def count(self, query: Query) -> int:
        counted = self._filtered(query).order_by(None).subquery()
        return self.session.scalar(select(func.count()).select_from(counted)) or 0

    def _filtered(self, query: Query) -> Select[Any]:
        statement = self.readable()
        return statement if query.where is None else statement.where(query.where)

    def related(self, entity: EntitySet, keys: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """The readable records of ``entity`` among ``keys`` (for ``$expand``)."""
        if not keys:
            return {}
        scoped = EntitySetRepository(self.session, self.actor, entity).readable()
        rows = self.session.scalars(scoped.where(entity.model.id.in_(keys)))
        return {row.id: row for row in rows}


def readable_instances(session: Session, actor: Actor) -> Select[Any]:
    """Process instances of the opportunities the actor may read."""
    opportunities = OpportunityRepository(session, actor).readable()
    readable_ids = opportunities.with_only_columns(Opportunity.id).scalar_subquery()
    return select(ProcessInstance).where(ProcessInstance.opportunity_id.in_(readable_ids))


def readable_instance(session: Session, actor: Actor, key: uuid.UUID) -> ProcessInstance:
    query = readable_instances(session, actor).where(ProcessInstance.id == key)
    instance: ProcessInstance | None = session.scalar(query)
    if instance is None:
        raise NotFound(f"opportunitysalesprocess With Id = {key} Does Not Exist")
    return instance
