"""What an ``/api/v1`` operation may answer besides its success, for the OpenAPI document.

Every error is an RFC 9457 problem (``api/problems.py``) served as ``application/problem+json``.
Routers declare, per operation, the statuses it can answer with :func:`problems`; the schema of
the body is inlined in each declaration, because FastAPI would also declare an
``application/json`` body for any response given as a ``model``, and no error is ever served as
``application/json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from oppflow.api.problems import PROBLEM_JSON

Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    # RFC 9457: some problems carry more members.
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str


class FieldError(BaseModel):
    # Where and why one part of a request was refused (never the input itself).
    loc: list[str | int]
    msg: str
    type: str | None


class ValidationProblem(Problem):
    errors: list[FieldError] = Field(default=[], description="Every refused part.")
    field: str = Field(default="", description="The field at fault, e.g. a record not found.")


class MissingStep(BaseModel):
    field: str
    label: str


class Duplicate(BaseModel):
    table: str
    id: str
    name: str


class MoveRefusedProblem(Problem):
    missing_steps: list[MissingStep] = Field(
        default=[], description="Required steps of the active stage that are still empty."
    )


class DuplicatesProblem(Problem):
    duplicates: list[Duplicate] = Field(
        default=[], description="Records that qualifying a lead would duplicate."
    )


class StaleProblem(Problem):
    current_version: int = Field(default=0, description="The record's version now.")


class TooLargeProblem(Problem):
    limit: int = Field(default=0, description="The largest accepted size, in bytes.")


class ThrottledProblem(Problem):
    retry_after: int = Field(default=0, description="Seconds to wait, as in Retry-After.")


DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be read (not UTF-8 text, or a malformed form).",
    401: "No token, or one that is unknown, expired or revoked.",
    403: "The caller's roles do not allow this action.",
    404: "No such record, or one the caller cannot read.",
    409: "A rule refused the change, or a concurrent change won (retry).",
    412: "If-Match names a version other than the current one.",
    413: "The body is larger than the limit.",
    415: "The body's media type is not accepted.",
    422: "The request does not validate; `errors` says where and why.",
    429: "Too many failed log-ins; see Retry-After.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "const": "Bearer"}}},
    429: {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}},
}


def _inlined(model: type[Problem]) -> dict[str, Any]:
    """The JSON schema of ``model`` standing alone (its ``$defs`` resolved in place) and
    without titles, since it is repeated in every declaration."""
    schema = model.model_json_schema(mode="validation")
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if not _annotation(k, v)}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return {k: resolve(v) for k, v in schema.items() if not _annotation(k, v)}


def _annotation(key: str, value: Any) -> bool:
    # A schema's own title, not a property named "title" (whose value is a schema); defaults
    # say nothing about an answer.
    return key == "default" or (key == "title" and isinstance(value, str))


_PROBLEM = _inlined(Problem)
SCHEMAS: dict[int, dict[str, Any]] = {
    412: _inlined(StaleProblem),
    413: _inlined(TooLargeProblem),
    422: _inlined(ValidationProblem),
    429: _inlined(ThrottledProblem),
}


MOVE_REFUSED = _inlined(MoveRefusedProblem)
DUPLICATES = _inlined(DuplicatesProblem)


def problem(
    status: int,
    description: str | None = None,
    schema: dict[str, Any] | None = None,
    **media: Any,
) -> dict[str, Any]:
    """One ``responses=`` entry: ``status`` answered as a problem, by default with the schema
    of that status; ``media`` adds e.g. an ``example`` beside the schema."""
    body = schema or SCHEMAS.get(status, _PROBLEM)
    entry: dict[str, Any] = {
        "description": description or DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": body, **media}},
    }
    if status in _HEADERS:
        entry["headers"] = _HEADERS[status]
    return entry


def problems(*statuses: int) -> Responses:
    """``responses=`` for an operation answering ``statuses`` as problems. Declaring 422 here
    also keeps FastAPI from declaring its own, as ``application/json`` with another schema."""
    return {status: problem(status) for status in statuses}


# The usual shapes; an operation that answers more or less declares its own.
LIST = problems(401, 422)
READ = problems(401, 404, 422)
CREATE = problems(400, 401, 403, 409, 422)
CHANGE = problems(400, 401, 403, 404, 409, 412, 422)
DELETE = problems(401, 403, 404, 409, 412, 422)
