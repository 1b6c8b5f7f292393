"""OpenAPI examples shown at /docs."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.models import Example

OPPORTUNITY_CREATE: dict[str, Example] = {
    "minimal": Example(summary="Just a name", value={"name": "50 laptops for Contoso"}),
    "qualified": Example(
        summary="With value, close date and Qualify steps",
        value={
            "name": "CRM roll-out for Fabrikam",
            "estimated_value": 48000,
            "estimated_close_date": "2027-03-31",
            "probability": 40,
            "purchase_timeframe": "this_quarter",
            "purchase_process": "committee",
            "budget_amount": 50000,
        },
    ),
}

PROCESS_IMPORT: dict[str, Example] = {
    "two-stage": Example(
        summary="A short custom process",
        value={
            "yaml": (
                "key: quick-deal\nname: {en: Quick deal, fr: Affaire rapide}\ntable: opportunity\n"
                "stages:\n- key: qualify\n  name: {en: Qualify, fr: Qualifier}\n"
                "  category: qualify\n"
                "  steps:\n  - field: account_id\n    label: {en: Account, fr: Compte}\n"
                "    required: true\n- key: close\n  name: {en: Close, fr: Clôturer}\n"
                "  category: close\n"
            )
        },
    ),
}

_REFUSED = {
    "type": "https://oppflow.dev/problems/stage-gate-refused",
    "title": "Required steps missing",
    "status": 409,
    "detail": "Complete the required steps first: Identify Contact, Identify Account.",
    "missing_steps": [
        {"field": "contact_id", "label": "Identify Contact"},
        {"field": "account_id", "label": "Identify Account"},
    ],
}

PROCESS_VIEW_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The move is refused: required steps are missing, or the instance's "
        "state does not allow it.",
        "content": {"application/problem+json": {"example": _REFUSED}},
    },
    412: {"description": "If-Match names a version that is no longer current."},
}
