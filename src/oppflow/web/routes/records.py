"""Accounts, contacts and competitors: list, page (with its edit form) and new."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.repository import contains
from oppflow.web import access, forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.listing import url_builder
from oppflow.web.records import KINDS, Kind
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

PAGE_SIZE = 25


def _values(page: Page, kind: Kind, form: FormData, fields: list[Any]) -> dict[str, Any]:
    names = [(field.name, "text") for field in fields if field.name in form]
    return forms.field_values(form, names)


def _search(kind: Kind, text: str | None) -> list[ColumnElement[bool]]:
    if not text:
        return []
    return [contains(getattr(kind.repository.model, kind.search), text[:100])]


def _context(page: Page, kind: Kind) -> dict[str, Any]:
    return {
        "kind": kind,
        "section": kind.path,
        "fields": kind.form_fields(page.i18n.gettext),
        "accounts": [],
        "contacts": [],
    }


def record_router(kind: Kind) -> APIRouter:
    """The pages of one kind of record."""
    router = web_router()
    base = f"/{kind.path}"

    @router.get(base, name=f"{kind.path}_list")
    async def record_list(page: PageDep) -> Response:
        query = page.request.query_params
        q, cursor = (query.get("q") or "")[:100] or None, query.get("cursor") or None
        repository = kind.repository(page.session, page.actor)
        with refusals(page.i18n, base):
            rows, next_cursor = repository.page(_search(kind, q), limit=PAGE_SIZE, cursor=cursor)
        return render(
            page,
            "records.html",
            rows=rows,
            q=q,
            next_cursor=next_cursor,
            url=url_builder(base, {"q": q}),
            **_context(page, kind),
        )

    @router.get(f"{base}/new", name=f"{kind.path}_new")
    async def record_new(page: PageDep) -> Response:
        return render(page, "record.html", record=None, **_context(page, kind))

    @router.post(f"{base}/new", name=f"{kind.path}_create")
    async def record_create(page: PageDep, form: FormDep) -> Response:
        context = _context(page, kind)
        labels = {field.name: field.label for field in context["fields"]}
        with refusals(page.i18n, f"{base}/new"):
            values = _values(page, kind, form, context["fields"])
            data = forms.validated(kind.schemas[0], values, page.i18n, labels)
            created = kind.create(page.session, actor=page.actor, data=data)
        return redirect(page, f"{base}/{created.id}", page.i18n.gettext("Created."))

    @router.get(f"{base}/{{record_id}}", name=f"{kind.path}_page")
    async def record_page(page: PageDep, record_id: str) -> Response:
        record = kind.repository(page.session, page.actor).get(parse_id(record_id))
        panel = access.panel(page, kind.path, record) if kind.path in access.PAGES else None
        return render(page, "record.html", record=record, access=panel, **_context(page, kind))

    @router.post(f"{base}/{{record_id}}", name=f"{kind.path}_update")
    async def record_update(page: PageDep, record_id: str, form: FormDep) -> Response:
        found = parse_id(record_id)
        context = _context(page, kind)
        labels = {field.name: field.label for field in context["fields"]}
        with refusals(page.i18n, f"{base}/{found}"):
            values = _values(page, kind, form, context["fields"])
            data = forms.validated(kind.schemas[1], values, page.i18n, labels)
            kind.update(
                page.session,
                actor=page.actor,
                record_id=found,
                data=data,
                if_match=forms.version(form),
            )
        return redirect(page, f"{base}/{found}", page.i18n.gettext("Saved."))

    return router


ROUTERS = [record_router(kind) for kind in KINDS.values()]
