"""The opportunity's tabs: stakeholders, sales team, competitors, notes and files."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import FileResponse
from starlette.responses import Response

from oppflow.api.files import content_disposition
from oppflow.api.uploads import receive_upload
from oppflow.related import files
from oppflow.related import service as related
from oppflow.related.schemas import (
    CompetitorLinkCreate,
    NoteCreate,
    SalesTeamCreate,
    StakeholderCreate,
)
from oppflow.related.storage import FileStore, default_store
from oppflow.web import forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect
from oppflow.web.routes.opportunity import parse_id

router = web_router()
StoreDep = Annotated[FileStore, Depends(default_store)]


def _tab(record_id: uuid.UUID, tab: str) -> str:
    return f"/opportunities/{record_id}?tab={tab}#tabs-title"


def _done(page: Page, record_id: uuid.UUID, tab: str) -> Response:
    return redirect(page, _tab(record_id, tab), page.i18n.gettext("Saved."))


@router.post("/opportunities/{opportunity_id}/stakeholders")
async def add_stakeholder(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Add a contact as a stakeholder with a role."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "stakeholders")):
        values = {"contact_id": forms.text(form, "contact_id"), "role": forms.text(form, "role")}
        data = forms.validated(StakeholderCreate, values, page.i18n, {})
        related.add_stakeholder(page.session, actor=page.actor, opportunity_id=record_id, data=data)
    return _done(page, record_id, "stakeholders")


@router.post("/opportunities/{opportunity_id}/stakeholders/{contact_id}/remove")
async def remove_stakeholder(page: PageDep, opportunity_id: str, contact_id: str) -> Response:
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "stakeholders")):
        related.remove_stakeholder(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            contact_id=parse_id(contact_id),
        )
    return _done(page, record_id, "stakeholders")


@router.post("/opportunities/{opportunity_id}/sales-team")
async def add_member(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Add a user to the sales team with a role."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "sales-team")):
        values = {"user_id": forms.text(form, "user_id"), "role": forms.text(form, "role")}
        data = forms.validated(SalesTeamCreate, values, page.i18n, {})
        related.add_sales_team_member(
            page.session, actor=page.actor, opportunity_id=record_id, data=data
        )
    return _done(page, record_id, "sales-team")


@router.post("/opportunities/{opportunity_id}/sales-team/{user_id}/remove")
async def remove_member(page: PageDep, opportunity_id: str, user_id: str) -> Response:
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "sales-team")):
        related.remove_sales_team_member(
            page.session, actor=page.actor, opportunity_id=record_id, user_id=parse_id(user_id)
        )
    return _done(page, record_id, "sales-team")


@router.post("/opportunities/{opportunity_id}/competitors")
async def add_competitor(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Name a competitor in the race."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "competitors")):
        values = {"competitor_id": forms.text(form, "competitor_id")}
        data = forms.validated(CompetitorLinkCreate, values, page.i18n, {})
        related.add_competitor(page.session, actor=page.actor, opportunity_id=record_id, data=data)
    return _done(page, record_id, "competitors")


@router.post("/opportunities/{opportunity_id}/competitors/{competitor_id}/remove")
async def remove_competitor(page: PageDep, opportunity_id: str, competitor_id: str) -> Response:
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "competitors")):
        related.remove_competitor(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            competitor_id=parse_id(competitor_id),
        )
    return _done(page, record_id, "competitors")


@router.post("/opportunities/{opportunity_id}/notes")
async def add_note(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Add a note (closed opportunities take notes too)."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "notes")):
        data = forms.validated(NoteCreate, {"text": forms.text(form, "text")}, page.i18n, {})
        related.add_note(page.session, actor=page.actor, data=data, opportunity_id=record_id)
    return _done(page, record_id, "notes")


@router.post("/opportunities/{opportunity_id}/notes/{note_id}/delete")
async def delete_note(page: PageDep, opportunity_id: str, note_id: str) -> Response:
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "notes")):
        related.delete_note(
            page.session, actor=page.actor, note_id=parse_id(note_id), opportunity_id=record_id
        )
    return _done(page, record_id, "notes")


@router.post("/opportunities/{opportunity_id}/files")
async def upload(request: Request, page: PageDep, opportunity_id: str, store: StoreDep) -> Response:
    """Attach a file; the bytes stream to the file store as they arrive."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "files")):
        files.check_upload(page.session, actor=page.actor, opportunity_id=record_id)
        received = await receive_upload(request, store)
        try:
            files.add_file(
                page.session,
                actor=page.actor,
                opportunity_id=record_id,
                blob=received.blob,
                name=received.filename,
                declared_type=received.content_type,
                store=store,
            )
        finally:
            received.blob.path.unlink(missing_ok=True)
    return redirect(page, _tab(record_id, "files"), page.i18n.gettext("File attached."))


@router.get("/files/{file_id}")
async def download(page: PageDep, file_id: str, store: StoreDep) -> Response:
    """Download a file of an opportunity the user may read."""
    record, path = files.file_content(
        page.session, actor=page.actor, file_id=parse_id(file_id), store=store
    )
    return FileResponse(
        path,
        media_type=record.content_type,
        headers={
            "Content-Disposition": content_disposition(record.name),
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
        },
    )


@router.post("/files/{file_id}/delete")
async def delete_file(page: PageDep, file_id: str, store: StoreDep) -> Response:
    record = files.get_file(page.session, actor=page.actor, file_id=parse_id(file_id))
    back = _tab(record.opportunity_id, "files")
    with refusals(page.i18n, back):
        files.delete_file(page.session, actor=page.actor, file_id=record.id, store=store)
    return redirect(page, back, page.i18n.gettext("File deleted."))
