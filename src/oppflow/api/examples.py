"""OpenAPI examples shown at /docs."""

from __future__ import annotations

from fastapi.openapi.models import Example

from oppflow.api.responses import MOVE_REFUSED, Responses, problem, problems

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

MOVE_RESPONSES: Responses = {
    **problems(401, 403, 404, 412, 422),
    409: problem(
        409,
        "The move is refused: required steps are missing (`missing_steps`), the instance's "
        "state does not allow it, the opportunity is closed, or a concurrent change won.",
        schema=MOVE_REFUSED,
        example=_REFUSED,
    ),
}
# set-active and switch read a body too.
MOVE_WITH_BODY_RESPONSES: Responses = {**problems(400), **MOVE_RESPONSES}
