"""The routes of ``/api/data/v9.2/``: entity sets, records and actions, thin over the service."""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, release_request_transaction
from oppflow.dataverse import actions, processes, service
from oppflow.dataverse import filter as odata_filter
from oppflow.dataverse.entities import EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.metadata import matches
from oppflow.dataverse.query import page_size
from oppflow.dataverse.urls import base_url
from oppflow.dataverse.values import etag, record_json, resolve_entity
from oppflow.errors import PreconditionFailed, UnsupportedMediaType

router = APIRouter()
# Registered before ``router``: its "/{path}" would otherwise take their paths.
actions_router = APIRouter()
_RESOURCE = re.compile(r"^(?P<set>[A-Za-z_]\w*)(?:\((?P<key>[^)]*)\))?$")
ODATA_JSON = "application/json; odata.metadata=minimal"
ODATA_HEADERS = {"OData-Version": "4.0"}
PreferHeader = Annotated[str | None, Header(alias="prefer")]


def odata(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(body, status, {**ODATA_HEADERS, **(headers or {})}, ODATA_JSON)


def resource(text: str) -> tuple[EntitySet, uuid.UUID | None]:
    """``accounts`` or ``accounts(<guid>)`` as the entity set and the key."""
    found = _RESOURCE.match(text)
    if found is None:
        raise BadQuery(f"Cannot read the resource path '{text[:80]}'.")
    entity = resolve_entity(found.group("set"))
    if found.group("key") is None:
        return entity, None
    try:
        return entity, uuid.UUID(found.group("key"))
    except ValueError:
        raise BadQuery(f"'{found.group('key')[:40]}' is not a GUID.") from None


async def json_body(request: Request) -> Any:
    """The request's JSON body; another content type is a 415, malformed JSON a 400."""
    release_request_transaction(request)
    raw = await request.body()
    if not raw:
        return {}
    if "json" not in request.headers.get("content-type", "application/json"):
        raise UnsupportedMediaType("Send the body as Content-Type: application/json.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadQuery("The body is not valid JSON.") from None


@router.get("/{path}")
async def read(
    request: Request, path: str, session: SessionDep, actor: ActorDep, prefer: PreferHeader = None
) -> Any:
    """A collection (``$select``, ``$filter``, ``$orderby``, ``$top``, ``$count``, ``$expand``,
    paged by ``Prefer: odata.maxpagesize``) or one record by its key."""
    entity, key = resource(path)
    options = dict(request.query_params)
    base = base_url(request)
    if key is not None:
        body, version = service.get_record(
            session, actor=actor, entity=entity, key=key, options=options
        )
        if version is not None and _none_match(request, version):
            return Response(status_code=304, headers={"ETag": etag(version)})
        context = f"{base}$metadata#{entity.name}/$entity"
        headers = {"ETag": etag(version)} if version is not None else {}
        return odata({"@odata.context": context, **body}, headers=headers)
    found = service.list_records(
        session, actor=actor, entity=entity, options=options, page_size=page_size(prefer)
    )
    return odata(_collection_body(request, base, entity, found), headers=_applied(prefer, found))


def _none_match(request: Request, version: int) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and (wanted.strip() == "*" or etag(version) in wanted)


def _collection_body(
    request: Request, base: str, entity: EntitySet, found: service.Collection
) -> dict[str, Any]:
    selected = f"({','.join(found.selected)})" if found.selected else ""
    body: dict[str, Any] = {"@odata.context": f"{base}$metadata#{entity.name}{selected}"}
    if found.count is not None:
        body["@odata.count"] = found.count
    body["value"] = found.records
    if found.next_skip is not None:
        query = request.url.include_query_params(**{"$skiptoken": str(found.next_skip)}).query
        body["@odata.nextLink"] = f"{base}{entity.name}?{query}"
    return body


def _applied(prefer: str | None, found: service.Collection) -> dict[str, str]:
    """``Preference-Applied`` names the page size used, wherever ``odata.maxpagesize`` stands
    among the preferences."""
    if prefer and "odata.maxpagesize" in prefer:
        return {"Preference-Applied": f"odata.maxpagesize={page_size(prefer)}"}
    return {}


@router.post("/{path}")
async def create(
    request: Request, path: str, session: SessionDep, actor: ActorDep, prefer: PreferHeader = None
) -> Any:
    """Create a record: 201 with it under ``Prefer: return=representation``, else 204 with
    ``OData-EntityId``."""
    entity, key = resource(path)
    if key is not None:
        raise BadQuery("POST creates in a collection: send it to the entity set.")
    record = service.create_record(
        session, actor=actor, entity=entity, body=await json_body(request)
    )
    return _written(request, entity, record, prefer, created=True)


def _written(
    request: Request, entity: EntitySet, record: Any, prefer: str | None, *, created: bool
) -> Any:
    location = f"{base_url(request)}{entity.name}({record.id})"
    headers = {"OData-EntityId": location, "ETag": etag(record.version)}
    if prefer and "return=representation" in prefer:
        body = {"@odata.context": f"{base_url(request)}$metadata#{entity.name}/$entity"}
        body.update(record_json(entity, record, None))
        return odata(body, 201 if created else 200, {**headers, "Location": location})
    return Response(status_code=204, headers={**ODATA_HEADERS, **headers})


@router.patch("/{path}")
async def update(
    request: Request,
    path: str,
    session: SessionDep,
    actor: ActorDep,
    if_match: IfMatchDep,
    prefer: PreferHeader = None,
) -> Any:
    """Change a record; ``If-Match`` with a stale ETag is a 412, and PATCH never creates
    (a missing record is a 404, with or without ``If-Match: *``)."""
    entity, key = resource(path)
    if key is None:
        raise BadQuery("PATCH changes one record: name it by its key.")
    if request.headers.get("if-none-match", "").strip() == "*":
        raise PreconditionFailed("The record exists; If-None-Match: * only creates.")
    record = service.update_record(
        session,
        actor=actor,
        entity=entity,
        key=key,
        body=await json_body(request),
        version=if_match,
    )
    return _written(request, entity, record, prefer, created=False)


@router.delete("/{path}", status_code=204)
async def delete(path: str, session: SessionDep, actor: ActorDep, if_match: IfMatchDep) -> Response:
    """Delete a record (the same rules as ``/api/v1``: an opportunity must be open)."""
    entity, key = resource(path)
    if key is None:
        raise BadQuery("DELETE removes one record: name it by its key.")
    service.delete_record(session, actor=actor, entity=entity, key=key, version=if_match)
    return Response(status_code=204, headers=ODATA_HEADERS)


@actions_router.get("/processstages")
async def process_stages(request: Request, session: SessionDep, actor: ActorDep) -> Any:
    """Every stage of every process (their ids are what ``activestageid`` binds to)."""
    rows = processes.process_stages(session)
    wanted = request.query_params.get("$filter")
    if wanted:
        rows = [row for row in rows if matches(odata_filter.parse(wanted), row)]
    context = f"{base_url(request)}$metadata#processstages"
    return odata({"@odata.context": context, "value": rows})


@actions_router.post("/WinOpportunity", status_code=204)
async def win_opportunity(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Close an opportunity as won (``OpportunityClose``, ``Status`` 3)."""
    actions.win_opportunity(session, actor=actor, body=await json_body(request))
    return Response(status_code=204, headers=ODATA_HEADERS)


@actions_router.post("/LoseOpportunity", status_code=204)
async def lose_opportunity(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Close an opportunity as lost (``OpportunityClose``, ``Status`` 4 or 5)."""
    actions.lose_opportunity(session, actor=actor, body=await json_body(request))
    return Response(status_code=204, headers=ODATA_HEADERS)


@actions_router.post("/{path}/Microsoft.Dynamics.CRM.QualifyLead")
async def qualify_lead(request: Request, path: str, session: SessionDep, actor: ActorDep) -> Any:
    """Qualify a lead; answers the created (or linked) account, contact and opportunity."""
    entity, key = resource(path)
    if entity.name != "leads" or key is None:
        raise BadQuery("QualifyLead is bound to one lead: leads(<id>).")
    made = actions.qualify_lead(session, actor=actor, lead_id=key, body=await json_body(request))
    base = base_url(request)
    value = [
        {"@odata.type": f"#Microsoft.Dynamics.CRM.{resolve_entity(name).logical_name}",
         resolve_entity(name).key: str(made_id)}
        for name, made_id in made
    ]  # fmt: skip
    return odata({"@odata.context": f"{base}$metadata#crmbaseentity", "value": value})
