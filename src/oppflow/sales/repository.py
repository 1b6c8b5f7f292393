"""Queries on accounts, contacts, competitors, opportunities and their close records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select

from oppflow.errors import NotFound
from oppflow.models import (
    Account,
    Competitor,
    Contact,
    Opportunity,
    OpportunityClose,
    ProcessInstance,
)
from oppflow.repository import RecordRepository, equal_to, text_in


class AccountRepository(RecordRepository[Account]):
    model = Account
    label = "account"
    list_filters = {"q": text_in(Account.name)}


class ContactRepository(RecordRepository[Contact]):
    model = Contact
    label = "contact"
    list_filters = {"q": text_in(Contact.last_name)}


class CompetitorRepository(RecordRepository[Competitor]):
    model = Competitor
    label = "competitor"
    list_filters = {"q": text_in(Competitor.name)}


class OpportunityRepository(RecordRepository[Opportunity]):
    model = Opportunity
    label = "opportunity"

    list_filters = {
        "state": equal_to(Opportunity.state),
        "owner_id": equal_to(Opportunity.owner_id),
        "pipeline_phase": equal_to(Opportunity.pipeline_phase),
        "process_key": equal_to(Opportunity.process_key),
        "q": text_in(Opportunity.name),
    }

    def many(self, ids: Sequence[uuid.UUID]) -> list[Opportunity]:
        """The readable ones among ``ids``, by name."""
        query = self.readable().where(Opportunity.id.in_(ids)).order_by(Opportunity.name)
        return list(self.session.scalars(query))

    def get_with_instances(
        self, opportunity_id: uuid.UUID
    ) -> tuple[Opportunity, list[ProcessInstance]]:
        """The readable opportunity and its process instances, the most recently used first,
        in one statement (a stage move needs both)."""
        query = self.prebuilt("with instances", self._with_instances)
        rows = self.session.execute(query, {"opportunity_id": opportunity_id}).all()
        if not rows:
            raise NotFound(f"No opportunity {opportunity_id}.")
        return rows[0][0], [row[1] for row in rows if row[1] is not None]

    def _with_instances(self) -> Select[Any]:
        return (
            self.readable()
            .add_columns(ProcessInstance)
            .outerjoin(ProcessInstance, ProcessInstance.opportunity_id == Opportunity.id)
            .where(Opportunity.id == bindparam("opportunity_id"))
            .order_by(ProcessInstance.last_used_at.desc())
        )

    def open_close_record(self, opportunity_id: uuid.UUID) -> OpportunityClose | None:
        """The completed close record of an opportunity, if it is closed."""
        query = select(OpportunityClose).where(
            OpportunityClose.opportunity_id == opportunity_id,
            OpportunityClose.status == "completed",
        )
        return self.session.scalar(query)

    def close_records(self, opportunity_id: uuid.UUID) -> list[OpportunityClose]:
        query = (
            select(OpportunityClose)
            .where(OpportunityClose.opportunity_id == opportunity_id)
            .order_by(OpportunityClose.created_at)
        )
        return list(self.session.scalars(query))

    def add_close(self, close: OpportunityClose) -> OpportunityClose:
        self.session.add(close)
        self.session.flush()
        return close
