"""The OData face as an application of its own, mounted at ``/api/data/v9.2``: its routes, and
error handlers that answer Dataverse's ``{"error": {"code", "message"}}`` for every failure."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException

from oppflow.dataverse import metadata
from oppflow.dataverse.errors import error_body
from oppflow.dataverse.router import actions_router, router
from oppflow.dataverse.urls import PREFIX
from oppflow.db import is_busy
from oppflow.errors import OppflowError

log = logging.getLogger("oppflow.dataverse")


def mount(app: FastAPI) -> None:
    """Serve the Dataverse Web API beside ``/api/v1``, on the same database."""
    face = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # The application's own state, not a copy of its session factory: the face always reads
    # the database the application reads.
    face.state = app.state
    _install_errors(face)
    for part in (metadata.router, actions_router, router):
        face.include_router(part)
    app.mount(PREFIX, face)


def error(status: int, message: str, extra: dict[str, object] | None = None) -> JSONResponse:
    headers = {"OData-Version": "4.0"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(status, message, extra), status, headers)


def _install_errors(face: FastAPI) -> None:
    @face.exception_handler(OppflowError)
    async def _known(_request: Request, failure: OppflowError) -> JSONResponse:
        return error(failure.status, failure.detail, failure.extra)

    @face.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, failure: RequestValidationError) -> JSONResponse:
        first = failure.errors()[0] if failure.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error(400, f"{where}: {first.get('msg', 'invalid request')}")

    @face.exception_handler(HTTPException)
    async def _http(_request: Request, failure: HTTPException) -> JSONResponse:
        return error(failure.status_code, str(failure.detail))

    @face.exception_handler(StaleDataError)
    async def _stale(_request: Request, _failure: StaleDataError) -> JSONResponse:
        return error(409, "Someone else changed this record at the same time; retry.")

    @face.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _failure: IntegrityError) -> JSONResponse:
        return error(409, "The change conflicts with existing records.")

    @face.exception_handler(DataError)
    async def _data(_request: Request, _failure: DataError) -> JSONResponse:
        return error(400, "A value of the request cannot be stored or compared.")

    @face.exception_handler(OperationalError)
    async def _operational(request: Request, failure: OperationalError) -> JSONResponse:
        if is_busy(failure):
            return error(409, "A concurrent change won; retry.")
        log.exception("database error on %s", request.url.path)
        return error(500, "An unexpected error happened; it has been logged.")

    @face.exception_handler(Exception)
    async def _unexpected(request: Request, _failure: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error(500, "An unexpected error happened; it has been logged.")
