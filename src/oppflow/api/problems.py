"""Every error, as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException

from oppflow.db import is_busy
from oppflow.errors import (
    Conflict,
    OppflowError,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger("oppflow.api")
PROBLEM_JSON = "application/problem+json"


class _HttpProblem(OppflowError):
    """A problem raised by the framework itself (unknown route, wrong method, server error)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.slug = status, title, str(status)


def problem_response(error: OppflowError, request: Request) -> JSONResponse:
    body = error.problem()
    body["instance"] = request.url.path
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.extra["retry_after"])
    return JSONResponse(
        jsonable_encoder(body),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method the OpenAPI document serves at this path. Starlette's 405 names only the
    methods of the first route matching the path, and FastAPI makes one route per method."""
    methods = {
        method.upper()
        for template, operations in request.app.openapi()["paths"].items()
        if _path_pattern(template).fullmatch(request.url.path)
        for method in operations
    }
    return ", ".join(sorted(methods)) or fallback


def _path_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)))


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    # Echo where and why, never the input itself (it may be huge, or a password).
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in errors
    ]


def install(app: FastAPI) -> None:
    """Map every exception to a problem response; nothing escapes as an HTML 500."""

    @app.exception_handler(OppflowError)
    async def _oppflow(request: Request, error: OppflowError) -> JSONResponse:
        return problem_response(error, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(error.errors())
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem_response(ValidationFailed(detail, errors=errors), request)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        title = str(error.detail)
        response = problem_response(_HttpProblem(error.status_code, title, title), request)
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            response.headers["Allow"] = allowed_methods(request, response.headers.get("Allow", ""))
        return response

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _error: StaleDataError) -> JSONResponse:
        return problem_response(
            Conflict("Someone else changed this record at the same time; read it again and retry."),
            request,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, _error: IntegrityError) -> JSONResponse:
        return problem_response(Conflict("The change conflicts with existing records."), request)

    @app.exception_handler(DataError)
    async def _data(request: Request, _error: DataError) -> JSONResponse:
        # A value the database cannot hold or compare: a NUL character in a path or query
        # parameter reaching PostgreSQL, a number out of range.
        return problem_response(
            ValidationFailed("A value of the request cannot be stored or searched for."), request
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, error: OperationalError) -> JSONResponse:
        if is_busy(error):
            return problem_response(Conflict("A concurrent change won; retry."), request)
        log.exception("database error on %s", request.url.path)
        return _internal(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _internal(request)


def _internal(request: Request) -> JSONResponse:
    detail = "An unexpected error happened; it has been logged."
    return problem_response(_HttpProblem(500, "Internal server error", detail), request)
