"""The fields a process step or branch condition may name, per table, and the stage categories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "money", "date", "boolean", "choice", "contact", "account", "integer"]
TableName = Literal["opportunity", "lead"]
Category = Literal[
    "qualify", "develop", "propose", "close", "identify", "research", "resolve", "approval"
]

CATEGORIES: tuple[Category, ...] = (
    "qualify",
    "develop",
    "propose",
    "close",
    "identify",
    "research",
    "resolve",
    "approval",
)


@dataclass(frozen=True)
class FieldSpec:
    """What a field holds; `choices` lists the allowed values of a `choice` field."""

    kind: FieldKind
    choices: tuple[str, ...] = ()


TEXT = FieldSpec("text")
MONEY = FieldSpec("money")
DATE = FieldSpec("date")
BOOLEAN = FieldSpec("boolean")
INTEGER = FieldSpec("integer")

PURCHASE_TIMEFRAMES = ("immediate", "this_quarter", "next_quarter", "this_year", "unknown")
PURCHASE_PROCESSES = ("individual", "committee", "unknown")
RATINGS = ("hot", "warm", "cold")

# The Qualify fields are shared by the lead and the opportunity (qualifying a lead copies them).
_QUALIFY_FIELDS: dict[str, FieldSpec] = {
    "contact_id": FieldSpec("contact"),
    "account_id": FieldSpec("account"),
    "purchase_timeframe": FieldSpec("choice", PURCHASE_TIMEFRAMES),
    "budget_amount": MONEY,
    "purchase_process": FieldSpec("choice", PURCHASE_PROCESSES),
    "decision_maker_identified": BOOLEAN,
}

_OPPORTUNITY_FIELDS: dict[str, FieldSpec] = {
    **_QUALIFY_FIELDS,
    "customer_need": TEXT,
    "proposed_solution": TEXT,
    "stakeholders_identified": BOOLEAN,
    "competitors_identified": BOOLEAN,
    "sales_team_identified": BOOLEAN,
    "proposal_developed": BOOLEAN,
    "internal_review_completed": BOOLEAN,
    "proposal_presented": BOOLEAN,
    "final_proposal_completed": BOOLEAN,
    "final_proposal_presented": BOOLEAN,
    "final_decision_date": DATE,
    "thank_you_note_sent": BOOLEAN,
    "debrief_filed": BOOLEAN,
    "name": TEXT,
    "description": TEXT,
    "estimated_value": MONEY,
    "estimated_close_date": DATE,
    "probability": INTEGER,
    "rating": FieldSpec("choice", RATINGS),
    "currency": TEXT,
}

_LEAD_FIELDS: dict[str, FieldSpec] = {
    **_QUALIFY_FIELDS,
    "topic": TEXT,
    "first_name": TEXT,
    "last_name": TEXT,
    "company_name": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "source": TEXT,
    "description": TEXT,
    "estimated_value": MONEY,
}

STEP_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "opportunity": _OPPORTUNITY_FIELDS,
    "lead": _LEAD_FIELDS,
}


def pipeline_phase(category: str) -> str:
    """The pipeline phase of a stage category: `qualify` → `1-Qualify`, `approval` → `8-Approval`.

    Raises ValueError for a category that is not one of CATEGORIES.
    """
    if category not in CATEGORIES:
        raise ValueError(f"Unknown stage category {category!r}.")
    return f"{CATEGORIES.index(category) + 1}-{category.capitalize()}"
