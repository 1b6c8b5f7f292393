"""The entity sets: each Dataverse logical name mapped to an oppflow column (the allow-list that
``$select``, ``$filter`` and ``$orderby`` may name) and to the services that write it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from oppflow.dataverse import options, processes
from oppflow.dataverse.options import OptionSet
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import LeadCreate, LeadUpdate
from oppflow.models import (
    Account,
    Competitor,
    Contact,
    Lead,
    Opportunity,
    OpportunityClose,
    ProcessInstance,
    User,
)
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import (
    AccountCreate,
    AccountUpdate,
    CompetitorCreate,
    CompetitorUpdate,
    ContactCreate,
    ContactUpdate,
    OpportunityCreate,
    OpportunityUpdate,
)
from oppflow.security.actor import Actor

# Edm types of each kind of column, for $metadata and for reading $filter literals.
EDM = {
    "text": "Edm.String",
    "money": "Edm.Decimal",
    "integer": "Edm.Int32",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "boolean": "Edm.Boolean",
    "guid": "Edm.Guid",
    "lookup": "Edm.Guid",
    "picklist": "Edm.Int32",
}


@dataclass(frozen=True)
class Column:
    """One attribute: its logical name, the model attribute behind it, and how it converts."""

    name: str
    attribute: str
    kind: str
    writable: bool = True
    option_set: OptionSet | None = None
    # For lookups: the navigation property (``parentaccountid``) and the entity set it binds to.
    navigation: str | None = None
    target: str | None = None
    # A value computed from the record (a process instance's stage ids): read-only, and
    # neither filtered nor sorted on.
    derive: Callable[[Any], Any] | None = None

    @property
    def edm(self) -> str:
        return EDM[self.kind]

    def with_derive(self, derive: Callable[[Any], Any]) -> Column:
        return dataclasses.replace(self, derive=derive)


Create = Callable[[Session, Actor, dict[str, Any]], Any]
Update = Callable[[Session, Actor, uuid.UUID, dict[str, Any], int | None], Any]
Delete = Callable[[Session, Actor, uuid.UUID, int | None], None]


@dataclass(frozen=True)
class EntitySet:
    name: str  # the entity set: accounts
    logical_name: str  # the entity: account
    model: type[Any]
    key: str  # accountid
    primary_name: str  # name
    columns: tuple[Column, ...]
    create: Create | None = None
    update: Update | None = None
    delete: Delete | None = None
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def type_name(self) -> str:
        return self.logical_name

    def navigations(self) -> dict[str, Column]:
        return {c.navigation: c for c in self.columns if c.navigation}


def _text(name: str, attribute: str, writable: bool = True) -> Column:
    return Column(name, attribute, "text", writable)


def _lookup(
    name: str, attribute: str, navigation: str, target: str, writable: bool = True
) -> Column:
    return Column(name, attribute, "lookup", writable, navigation=navigation, target=target)


def _pick(name: str, attribute: str, option_set: OptionSet, writable: bool = True) -> Column:
    return Column(name, attribute, "picklist", writable, option_set=option_set)


def _bool(name: str, attribute: str) -> Column:
    return Column(name, attribute, "boolean")


def _audited(key: str) -> tuple[Column, ...]:
    return (
        Column(key, "id", "guid", writable=False),
        Column("createdon", "created_at", "datetime", writable=False),
        Column("modifiedon", "modified_at", "datetime", writable=False),
        Column("versionnumber", "version", "integer", writable=False),
    )


OWNER = _lookup("_ownerid_value", "owner_id", "ownerid", "systemusers")


def _validated(schema: type[BaseModel], values: dict[str, Any]) -> Any:
    return schema.model_validate(values)


def _writer(
    create_schema: type[BaseModel], update_schema: type[BaseModel], service: Any
) -> tuple[Create, Update]:
    """Create and update functions over a sales service's create_x/update_x pair."""
    create_name, update_name, id_name = service

    def create(session: Session, actor: Actor, values: dict[str, Any]) -> Any:
        data = _validated(create_schema, values)
        return create_name(session, actor=actor, data=data)

    def update(
        session: Session, actor: Actor, key: uuid.UUID, values: dict[str, Any], version: int | None
    ) -> Any:
        data = _validated(update_schema, values)
        arguments = {id_name: key, "data": data, "if_match": version}
        return update_name(session, actor=actor, **arguments)

    return create, update


def _deleter(table: str) -> Delete:
    def delete(session: Session, actor: Actor, key: uuid.UUID, version: int | None) -> None:
        sales_service.delete_record(
            session, actor=actor, table=table, record_id=key, if_match=version
        )

    return delete


def _delete_lead(session: Session, actor: Actor, key: uuid.UUID, version: int | None) -> None:
    lead_service.delete_lead(session, actor=actor, lead_id=key, if_match=version)


_account_writes = _writer(
    AccountCreate, AccountUpdate, (sales_service.create_account, sales_service.update_account,
                                   "account_id"),
)  # fmt: skip
_contact_writes = _writer(
    ContactCreate, ContactUpdate, (sales_service.create_contact, sales_service.update_contact,
                                   "contact_id"),
)  # fmt: skip
_competitor_writes = _writer(
    CompetitorCreate, CompetitorUpdate,
    (sales_service.create_competitor, sales_service.update_competitor, "competitor_id"),
)  # fmt: skip
_opportunity_writes = _writer(
    OpportunityCreate, OpportunityUpdate,
    (sales_service.create_opportunity, sales_service.update_opportunity, "opportunity_id"),
)  # fmt: skip
_lead_writes = _writer(
    LeadCreate, LeadUpdate, (lead_service.create_lead, lead_service.update_lead, "lead_id"),
)  # fmt: skip

ACCOUNTS = EntitySet(
    "accounts", "account", Account, "accountid", "name",
    (
        *_audited("accountid"),
        _text("name", "name"),
        _text("websiteurl", "website"),
        _text("telephone1", "phone"),
        _text("emailaddress1", "email"),
        _text("address1_city", "city"),
        _text("address1_country", "country"),
        _text("description", "description"),
        OWNER,
    ),
    create=_account_writes[0], update=_account_writes[1], delete=_deleter("accounts"),
)  # fmt: skip
CONTACTS = EntitySet(
    "contacts", "contact", Contact, "contactid", "lastname",
    (
        *_audited("contactid"),
        _text("firstname", "first_name"),
        _text("lastname", "last_name"),
        _text("emailaddress1", "email"),
        _text("telephone1", "phone"),
        _text("jobtitle", "job_title"),
        _text("description", "description"),
        _lookup("_parentcustomerid_value", "account_id", "parentcustomerid_account", "accounts"),
        OWNER,
    ),
    create=_contact_writes[0], update=_contact_writes[1], delete=_deleter("contacts"),
)  # fmt: skip
COMPETITORS = EntitySet(
    "competitors", "competitor", Competitor, "competitorid", "name",
    (
        *_audited("competitorid"),
        _text("name", "name"),
        _text("websiteurl", "website"),
        _text("strengths", "strengths"),
        _text("weaknesses", "weaknesses"),
    ),
    create=_competitor_writes[0], update=_competitor_writes[1], delete=_deleter("competitors"),
)  # fmt: skip
_QUALIFY_STEPS = (
    _lookup("_parentaccountid_value", "account_id", "parentaccountid", "accounts"),
    _lookup("_parentcontactid_value", "contact_id", "parentcontactid", "contacts"),
    _pick("purchasetimeframe", "purchase_timeframe", options.TIMEFRAME),
    Column("budgetamount", "budget_amount", "money"),
    _pick("purchaseprocess", "purchase_process", options.PURCHASE_PROCESS),
    _bool("decisionmaker", "decision_maker_identified"),
)
OPPORTUNITIES = EntitySet(
    "opportunities", "opportunity", Opportunity, "opportunityid", "name",
    (
        *_audited("opportunityid"),
        _text("name", "name"),
        Column("estimatedvalue", "estimated_value", "money"),
        Column("estimatedclosedate", "estimated_close_date", "date"),
        Column("closeprobability", "probability", "integer"),
        _pick("msdyn_forecastcategory", "forecast_category", options.FORECAST),
        _pick("opportunityratingcode", "rating", options.RATING),
        _text("description", "description"),
        _pick("statecode", "state", options.OPPORTUNITY_STATE, writable=False),
        _pick("statuscode", "status_reason", options.OPPORTUNITY_STATUS, writable=False),
        Column("actualvalue", "actual_value", "money", writable=False),
        Column("actualclosedate", "actual_close_date", "date", writable=False),
        _text("stepname", "pipeline_phase", writable=False),
        _lookup("_originatingleadid_value", "originating_lead_id", "originatingleadid", "leads",
                writable=False),
        *_QUALIFY_STEPS,
        _text("customerneed", "customer_need"),
        _text("proposedsolution", "proposed_solution"),
        _bool("identifycustomercontacts", "stakeholders_identified"),
        _bool("identifycompetitors", "competitors_identified"),
        _bool("identifypursuitteam", "sales_team_identified"),
        _bool("developproposal", "proposal_developed"),
        _bool("completeinternalreview", "internal_review_completed"),
        _bool("presentproposal", "proposal_presented"),
        _bool("completefinalproposal", "final_proposal_completed"),
        _bool("presentfinalproposal", "final_proposal_presented"),
        Column("finaldecisiondate", "final_decision_date", "date"),
        _bool("sendthankyounote", "thank_you_note_sent"),
        _bool("filedebrief", "debrief_filed"),
        OWNER,
    ),
    create=_opportunity_writes[0], update=_opportunity_writes[1], delete=_deleter("opportunities"),
)  # fmt: skip
LEADS = EntitySet(
    "leads", "lead", Lead, "leadid", "subject",
    (
        *_audited("leadid"),
        _text("subject", "topic"),
        _text("firstname", "first_name"),
        _text("lastname", "last_name"),
        _text("companyname", "company_name"),
        _text("emailaddress1", "email"),
        _text("telephone1", "phone"),
        Column("estimatedvalue", "estimated_value", "money"),
        _pick("leadsourcecode", "source", options.LEAD_SOURCE),
        _text("description", "description"),
        _pick("statecode", "state", options.LEAD_STATE, writable=False),
        _pick("statuscode", "status_reason", options.LEAD_STATUS),
        *_QUALIFY_STEPS,
        _lookup("_qualifyingopportunityid_value", "qualified_opportunity_id",
                "qualifyingopportunityid", "opportunities", writable=False),
        OWNER,
    ),
    create=_lead_writes[0], update=_lead_writes[1], delete=_delete_lead,
)  # fmt: skip
SYSTEMUSERS = EntitySet(
    "systemusers", "systemuser", User, "systemuserid", "fullname",
    (
        Column("systemuserid", "id", "guid", writable=False),
        _text("fullname", "full_name", writable=False),
        _text("domainname", "username", writable=False),
        _text("internalemailaddress", "email", writable=False),
        _lookup("_businessunitid_value", "business_unit_id", "businessunitid", "businessunits",
                writable=False),
        _lookup("_parentsystemuserid_value", "manager_id", "parentsystemuserid", "systemusers",
                writable=False),
        Column("createdon", "created_at", "datetime", writable=False),
    ),
)  # fmt: skip
OPPORTUNITYCLOSES = EntitySet(
    "opportunitycloses", "opportunityclose", OpportunityClose, "activityid", "subject",
    (
        Column("activityid", "id", "guid", writable=False),
        _text("subject", "outcome", writable=False),
        _lookup("_opportunityid_value", "opportunity_id", "opportunityid", "opportunities",
                writable=False),
        _pick("statecode", "status", options.CLOSE_STATE, writable=False),
        _pick("statuscode", "status_reason", options.OPPORTUNITY_STATUS, writable=False),
        Column("actualrevenue", "actual_revenue", "money", writable=False),
        Column("actualend", "close_date", "date", writable=False),
        _lookup("_competitorid_value", "competitor_id", "competitorid", "competitors",
                writable=False),
        _text("description", "description", writable=False),
        Column("createdon", "created_at", "datetime", writable=False),
    ),
)  # fmt: skip

INSTANCE_STATUS = OptionSet("businessprocessflowinstance_statuscode", (
    options.Option(1, "active", "Active", "Actif"),
    options.Option(2, "finished", "Finished", "Terminé"),
    options.Option(3, "aborted", "Aborted", "Abandonné"),
))  # fmt: skip
OPPORTUNITYSALESPROCESSES = EntitySet(
    "opportunitysalesprocesses", "opportunitysalesprocess", ProcessInstance,
    "businessprocessflowinstanceid", "name",
    (
        Column("businessprocessflowinstanceid", "id", "guid", writable=False),
        _lookup("_bpf_opportunityid_value", "opportunity_id", "bpf_opportunityid",
                "opportunities", writable=False),
        Column("_processid_value", "process_id", "guid", writable=False),
        _lookup("_activestageid_value", "active_stage_id", "activestageid", "processstages",
                writable=False).with_derive(processes.active_stage_id),
        Column("traversedpath", "traversed_path", "text", writable=False,
               derive=processes.traversed_path),
        Column("activestagestartedon", "active_stage_started_at", "datetime", writable=False),
        _pick("statuscode", "status", INSTANCE_STATUS, writable=False),
        Column("completedon", "completed_at", "datetime", writable=False),
        Column("versionnumber", "version", "integer", writable=False),
    ),
    update=processes.move_to_stage,
)  # fmt: skip

ENTITY_SETS: dict[str, EntitySet] = {
    entity.name: entity
    for entity in (
        ACCOUNTS, CONTACTS, LEADS, OPPORTUNITIES, COMPETITORS, SYSTEMUSERS, OPPORTUNITYCLOSES,
        OPPORTUNITYSALESPROCESSES,
    )
}  # fmt: skip
BY_LOGICAL_NAME = {entity.logical_name: entity for entity in ENTITY_SETS.values()}
