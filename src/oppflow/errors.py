"""One error hierarchy for the whole product.

Services and the engine raise these; the API maps them to RFC 9457 problem details, the CLI to a
one-line message and a non-zero exit, the web pages to a message on the page.
"""

from __future__ import annotations

from typing import Any


class OppflowError(Exception):
    """Base of every error the product raises on purpose."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body of this error."""
        body: dict[str, Any] = {
            "type": f"https://oppflow.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        # Extras add members; they never replace the standard ones (type, status, …).
        body.update({k: v for k, v in self.extra.items() if k not in body})
        return body


class ValidationFailed(OppflowError):
    status = 422
    title = "Validation failed"
    slug = "validation-failed"


class Unauthorized(OppflowError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class PermissionDenied(OppflowError):
    status = 403
    title = "Permission denied"
    slug = "permission-denied"


class NotFound(OppflowError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(OppflowError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class MoveRefused(Conflict):
    """A process move that the instance's state does not allow (wrong status, not on the path…)."""

    title = "Move refused"
    slug = "move-refused"


class StageGateRefused(MoveRefused):
    """Next stage or finish refused because required steps of the active stage are empty."""

    title = "Required steps missing"
    slug = "stage-gate-refused"

    def __init__(self, missing_steps: list[dict[str, str]]) -> None:
        labels = ", ".join(step["label"] for step in missing_steps)
        super().__init__(f"Complete the required steps first: {labels}.")
        self.extra["missing_steps"] = missing_steps


class RecordClosed(Conflict):
    title = "Record is closed"
    slug = "record-closed"


class PreconditionFailed(OppflowError):
    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class PayloadTooLarge(OppflowError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedMediaType(OppflowError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class TooManyRequests(OppflowError):
    status = 429
    title = "Too many requests"
    slug = "too-many-requests"
