"""Which API field each column of a file fills: headers naming an API field, a Dataverse column or a
Salesforce export column map themselves; the rest stay unmapped until the user maps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Per table: API field -> the other names it goes by (Dataverse logical names, DESIGN §1, and
# Salesforce's export headers). Lookups (imports/lookups.py) are the fields ending in _name,
# _email or _external_id, and owner (a user name or e-mail).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "external_id": ("accountid", "id", "account id"),
        "name": ("account name", "accountname"),
        "website": ("websiteurl",),
        "phone": ("telephone1", "main phone"),
        "email": ("emailaddress1",),
        "industry": ("industrycode",),
        "city": ("address1_city", "billingcity", "billing city"),
        "country": ("address1_country", "billingcountry", "billing country"),
        "owner": ("ownerid", "owner", "account owner", "owner email"),
        "description": (),
    },
    "contacts": {
        "external_id": ("contactid", "id", "contact id"),
        "first_name": ("firstname", "first name"),
        "last_name": ("lastname", "last name"),
        "email": ("emailaddress1",),
        "phone": ("telephone1", "business phone"),
        "job_title": ("jobtitle", "title"),
        "account_name": ("parentcustomerid", "account name", "accountname"),
        "account_external_id": ("accountid", "account id"),
        "owner": ("ownerid", "owner", "contact owner", "owner email"),
        "description": (),
    },
    "leads": {
        "external_id": ("leadid", "id", "lead id"),
        "topic": ("subject",),
        "first_name": ("firstname", "first name"),
        "last_name": ("lastname", "last name"),
        "company_name": ("companyname", "company", "company / account"),
        "email": ("emailaddress1",),
        "phone": ("telephone1", "business phone"),
        "estimated_value": ("estimatedamount", "estimated value"),
        "source": ("leadsourcecode", "lead source"),
        "purchase_timeframe": ("purchasetimeframe",),
        "budget_amount": ("budgetamount",),
        "purchase_process": ("purchaseprocess",),
        "decision_maker_identified": ("decisionmaker",),
        "account_name": ("parentaccountid", "account name"),
        "account_external_id": ("account id",),
        "contact_email": ("parentcontactid", "contact email"),
        "contact_external_id": ("contact id",),
        "owner": ("ownerid", "owner", "lead owner", "owner email"),
        "description": (),
    },
    "opportunities": {
        "external_id": ("opportunityid", "id", "opportunity id"),
        "name": ("opportunity name", "topic"),
        "estimated_value": ("estimatedvalue", "amount", "est. revenue"),
        "estimated_close_date": ("estimatedclosedate", "close date", "closedate"),
        # active_stage: our own export's (the stage's key).
        "stage": ("stagename", "stage", "activestageid", "stepname", "active stage"),
        "account_name": ("parentaccountid", "account name", "accountname"),
        "account_external_id": ("accountid", "account id"),
        "contact_email": ("parentcontactid", "contact email"),
        # contact_id: our own export's, the contact's id there, their external id here.
        "contact_external_id": ("contact id",),
        "owner": ("ownerid", "owner", "opportunity owner", "owner email"),
        "probability": ("closeprobability",),
        "rating": ("opportunityratingcode",),
        "currency": ("currency iso code",),
        "state": ("statecode", "status"),
        "status_reason": ("statuscode", "status reason"),
        "actual_revenue": ("actualvalue", "actual_value", "actual revenue"),
        "actual_close_date": ("actualclosedate", "actual close date"),
        "created_at": ("createdon", "created on", "created date"),
        # The steps of the built-in processes (DESIGN §1), by their Dataverse names.
        "purchase_timeframe": ("purchasetimeframe",),
        "budget_amount": ("budgetamount",),
        "purchase_process": ("purchaseprocess",),
        "decision_maker_identified": ("decisionmaker",),
        "customer_need": ("customerneed",),
        "proposed_solution": ("proposedsolution",),
        "stakeholders_identified": ("identifycustomercontacts",),
        "competitors_identified": ("identifycompetitors",),
        "sales_team_identified": ("identifypursuitteam",),
        "proposal_developed": ("developproposal",),
        "internal_review_completed": ("completeinternalreview",),
        "proposal_presented": ("presentproposal",),
        "final_proposal_completed": ("completefinalproposal",),
        "final_proposal_presented": ("presentfinalproposal",),
        "final_decision_date": ("finaldecisiondate",),
        "thank_you_note_sent": ("sendthankyounote",),
        "debrief_filed": ("filedebrief",),
        "description": (),
    },
    "history": {
        "opportunity_external_id": ("opportunityid", "opportunity id", "opportunity"),
        "stage": ("stagename", "stage name", "stepname", "to stage"),
        "changed_at": ("changed on", "createdon", "created date", "date"),
        # A row that closes the opportunity, as an opportunity's row does.
        "state": ("statecode", "status"),
        "status_reason": ("statuscode", "status reason"),
        "actual_revenue": ("actualvalue", "actual_value", "actual revenue"),
        "actual_close_date": ("actualclosedate", "actual close date"),
    },
}


def _key(header: str) -> str:
    return " ".join(header.strip().lower().replace("_", " ").split())


# Fields that date a record's creation in the past, which only an administrator's import may
# do (imports/opportunities.born_at): for anyone else a file's creation dates (our own export's
# created_at, Dataverse's createdon) stay unmapped, so they do not refuse every row.
BACKDATING = frozenset({"created_at"})


def auto_mapping(table: str, headers: Iterable[str], *, may_backdate: bool) -> dict[str, str]:
    """header -> API field, for the headers recognised; first header wins a field.

    So in our own exports (decision 0021) ``id``, the first column, becomes the external id,
    and the ``external_id`` column written after it stays unmapped: lookups to the record
    (a contact's ``account_id``) name it by that id. ``owner_id`` is not mapped: user ids
    differ between databases, so the ``owner`` column (a user name) says who owns it."""
    known = _names(table)
    if not may_backdate:
        known = {name: field for name, field in known.items() if field not in BACKDATING}
    mapping: dict[str, str] = {}
    for header in headers:
        field = known.get(_key(header))
        if field is not None and field not in mapping.values():
            mapping[header] = field
    return mapping


def _names(table: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for field, synonyms in SYNONYMS[table].items():
        for name in (*synonyms, field):
            names.setdefault(_key(name), field)
    # An API field's own name beats a synonym another field claimed.
    names.update({_key(field): field for field in SYNONYMS[table]})
    return names


def apply_mapping(row: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The row's values under their API fields; blank cells are absent, not empty strings."""
    return {
        field: row[header].strip()
        for header, field in mapping.items()
        if row.get(header, "").strip()
    }


def unknown_fields(table: str, mapping: Mapping[str, str]) -> list[str]:
    return sorted(set(mapping.values()) - set(SYNONYMS[table]))
