"""The OpenAPI document describes the lead and related-record endpoints."""

from __future__ import annotations

from typing import Any

from tests.helpers import openapi

OPENAPI: dict[str, Any] = openapi()
OURS = (
    "/api/v1/leads",
    "/api/v1/files",
    "stakeholders",
    "sales-team",
    "competitors",
    "notes",
    "files",
)


def test_every_endpoint_has_a_description() -> None:
    operations = [
        (path, method, operation)
        for path, methods in OPENAPI["paths"].items()
        if "{record_id}" not in path  # assign and shares: the security routes of every table
        and (path.startswith(OURS[:2]) or any(f"/{{opportunity_id}}/{p}" in path for p in OURS))
        for method, operation in methods.items()
    ]
    assert len(operations) == 31
    for path, method, operation in operations:
        assert operation.get("description"), f"{method.upper()} {path}"


def test_the_upload_is_documented_as_multipart() -> None:
    operation = OPENAPI["paths"]["/api/v1/opportunities/{opportunity_id}/files"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"]["format"] == "binary"
    assert {"413", "415", "422"} <= set(operation["responses"])


def test_qualify_documents_its_duplicates() -> None:
    operation = OPENAPI["paths"]["/api/v1/leads/{lead_id}/qualify"]["post"]
    example = operation["responses"]["409"]["content"]["application/problem+json"]["example"]
    assert example["duplicates"][0].keys() == {"table", "id", "name"}
    properties = OPENAPI["components"]["schemas"]["QualifyResult"]["properties"]
    assert set(properties) == {"account_id", "contact_id", "opportunity_id"}
