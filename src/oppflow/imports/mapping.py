"""Which API field each column of a file fills: headers naming an API field, a Dataverse column or a
Salesforce export column map themselves; the rest stay unmapped until the user maps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Per table: API field -> the other names it goes by (Dataverse logical names, DESIGN §1, and
# Salesforce's export headers). Lookups are API fields ending in _name, _email or _external_id.
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
        "description": (),
    },
    "opportunities": {
        "external_id": ("opportunityid", "id", "opportunity id"),
        "name": ("opportunity name", "topic"),
        "estimated_value": ("estimatedvalue", "amount", "est. revenue"),
        "estimated_close_date": ("estimatedclosedate", "close date", "closedate"),
        "stage": ("stagename", "stage", "activestageid"),
        "account_name": ("parentaccountid", "account name", "accountname"),
        "account_external_id": ("accountid", "account id"),
        "contact_email": ("parentcontactid", "contact email"),
        "description": (),
    },
}


def _key(header: str) -> str:
    return " ".join(header.strip().lower().replace("_", " ").split())


def auto_mapping(table: str, headers: Iterable[str]) -> dict[str, str]:
    """header -> API field, for the headers recognised; first header wins a field."""
    known = _names(table)
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
