"""Errors of the OData face, and their Dataverse shape ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from oppflow.errors import OppflowError

# The codes Dataverse answers with for the same situations, so clients that test them work.
CODES = {
    400: "0x80060888",
    401: "0x80072560",
    403: "0x80040220",
    404: "0x80040217",
    405: "0x80060888",
    409: "0x80040237",
    412: "0x80060882",
    413: "0x80060888",
    415: "0x80060888",
    422: "0x80040203",
    429: "0x80072322",
    500: "0x80040216",
}


class BadQuery(OppflowError):
    """A query option or a body this face cannot read: always a 400, never a 500."""

    status = 400
    title = "Bad request"
    slug = "bad-request"


def error_body(status: int, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OData error object; oppflow's own details (``missing_steps``…) go in innererror."""
    error: dict[str, Any] = {"code": CODES.get(status, "0x80040216"), "message": message}
    if extra:
        error["innererror"] = extra
    return {"error": error}
