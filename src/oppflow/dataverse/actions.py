"""Dataverse actions: WinOpportunity, LoseOpportunity and QualifyLead, on the sales and lead
services (the same checks, close records and quote closing as ``/api/v1``)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from oppflow.dataverse.entities import OPPORTUNITIES, Column
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.options import OPPORTUNITY_STATUS
from oppflow.dataverse.values import bound_key
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import QualifyRequest
from oppflow.models import Opportunity
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import LoseRequest, WinRequest
from oppflow.security.actor import Actor

_OPPORTUNITY = Column("opportunityid", "opportunity_id", "lookup", target="opportunities",
                      navigation="opportunityid")  # fmt: skip
_COMPETITOR = Column("competitorid", "competitor_id", "lookup", target="competitors",
                     navigation="competitorid")  # fmt: skip
LOST_REASONS = ("canceled", "out_sold")


def _close_parameters(body: Any) -> tuple[uuid.UUID, dict[str, Any], str]:
    """The opportunity, the close fields and the status code of a Win/LoseOpportunity body."""
    if not isinstance(body, dict) or not isinstance(body.get("OpportunityClose"), dict):
        raise BadQuery("The body must carry an 'OpportunityClose' object and a 'Status'.")
    close = body["OpportunityClose"]
    reason = OPPORTUNITY_STATUS.code_of(body.get("Status"))
    if reason is None:
        raise BadQuery(f"Status {body.get('Status')!r} is not a status of an opportunity.")
    key = bound_key(_OPPORTUNITY, close.get("opportunityid@odata.bind"))
    if key is None:
        raise BadQuery("OpportunityClose needs 'opportunityid@odata.bind': '/opportunities(<id>)'.")
    fields = {
        "close_date": close.get("actualend"),
        "description": close.get("description"),
    }
    if "competitorid@odata.bind" in close:
        fields["competitor_id"] = bound_key(_COMPETITOR, close["competitorid@odata.bind"])
    if "actualrevenue" in close:
        fields["actual_revenue"] = close["actualrevenue"]
    return uuid.UUID(key), fields, reason


def win_opportunity(session: Session, *, actor: Actor, body: Any) -> Opportunity:
    """Close as won (Status 3), with the OpportunityClose's revenue, date and description."""
    key, fields, reason = _close_parameters(body)
    if reason != "won":
        raise BadQuery("WinOpportunity takes Status 3 (Won).")
    fields.pop("competitor_id", None)
    data = _valid(WinRequest, fields)
    return sales_service.win(session, actor=actor, opportunity_id=key, data=data)


def lose_opportunity(session: Session, *, actor: Actor, body: Any) -> Opportunity:
    """Close as lost: Status 4 (Canceled) or 5 (Out-Sold), optionally to a competitor."""
    key, fields, reason = _close_parameters(body)
    if reason not in LOST_REASONS:
        raise BadQuery("LoseOpportunity takes Status 4 (Canceled) or 5 (Out-Sold).")
    fields.pop("actual_revenue", None)
    data = _valid(LoseRequest, {**fields, "status_reason": reason})
    return sales_service.lose(session, actor=actor, opportunity_id=key, data=data)


def qualify_lead(
    session: Session, *, actor: Actor, lead_id: uuid.UUID, body: Any
) -> list[tuple[str, uuid.UUID]]:
    """Qualify the lead; the created or linked records as (entity set, id) pairs."""
    if not isinstance(body, dict):
        raise BadQuery("The body must be a JSON object.")
    data = _valid(
        QualifyRequest,
        {
            "create_account": body.get("CreateAccount"),
            "create_contact": body.get("CreateContact"),
            "create_opportunity": body.get("CreateOpportunity", True),
        },
    )
    done = lead_service.qualify(session, actor=actor, lead_id=lead_id, data=data)
    created: list[tuple[str, Any]] = [("accounts", done.account), ("contacts", done.contact)]
    created.append((OPPORTUNITIES.name, done.opportunity))
    return [(name, record.id) for name, record in created if record is not None]


def _valid(schema: type[Any], values: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise BadQuery(f"{where}: {first.get('msg', 'invalid value')}") from None
