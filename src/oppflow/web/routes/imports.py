"""The import pages: upload a file, map its columns on the mapping screen (pre-filled from the
headers, or from a saved mapping; optionally saved by name), start it, then follow its progress
and download its report. On the same services as ``/api/v1/imports``; the worker runs the jobs.

Without scripts the job page refreshes itself (``<noscript>`` meta refresh); with them,
``imports.js`` polls the job's progress and reloads the page when it has finished.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.api.imports import report_response
from oppflow.api.uploads import receive_upload
from oppflow.imports import jobs
from oppflow.imports.schemas import JobRead, MappingCreate
from oppflow.models import ImportJob
from oppflow.related.storage import FileStore, default_store
from oppflow.web import forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import N_
from oppflow.web.import_fields import FIELD_LABELS
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
StoreDep = Annotated[FileStore, Depends(default_store)]
TABLES = {
    "accounts": N_("Accounts"),
    "contacts": N_("Contacts"),
    "leads": N_("Leads"),
    "opportunities": N_("Opportunities"),
    "history": N_("Stage history"),
}
STATUSES = {
    "draft": N_("Waiting for its mapping"),
    "queued": N_("Waiting for the worker"),
    "running": N_("Importing"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}
LABELS = {"name": "Name", "columns": "Columns"}


def _common(page: Page) -> dict[str, Any]:
    offered = jobs.tables_for(page.actor)
    tables = [(table, page.i18n.gettext(TABLES.get(table, table))) for table in offered]
    return {"section": "imports", "tables": tables, "statuses": STATUSES}


@router.get("/imports")
async def import_home(page: PageDep) -> Response:
    """The upload form and the user's latest imports."""
    found = jobs.list_jobs(page.session, actor=page.actor, limit=20)
    return render(page, "imports/home.html", jobs=found, **_common(page))


@router.post("/imports")
async def upload(request: Request, page: PageDep, store: StoreDep) -> Response:
    """Keep the file as a draft job, then show its mapping screen."""
    with refusals(page.i18n, "/imports"):
        received = await receive_upload(
            request, store, {"table": 40}, limit=jobs.max_upload_bytes()
        )
        try:
            job = jobs.create_job(
                page.session,
                actor=page.actor,
                request=jobs.JobRequest(table=received.fields.get("table", "")),
                blob=received.blob,
                file_name=received.filename,
                store=store,
                queue=False,
            )
        finally:
            received.blob.path.unlink(missing_ok=True)
    return redirect(page, f"/imports/{job.id}/mapping")


@router.get("/imports/{job_id}/mapping")
async def mapping_screen(page: PageDep, job_id: str, use: str | None = None) -> Response:
    """Each column of the file with a select of the table's fields, pre-filled from the
    headers, or from the saved mapping ``use``."""
    job = jobs.get_job(page.session, actor=page.actor, job_id=parse_id(job_id))
    if job.status != "draft":
        return redirect(page, f"/imports/{job.id}")
    saved = jobs.list_mappings(page.session, actor=page.actor, table=job.table)
    chosen = _saved_columns(page, saved, use) or job.mapping
    return render(
        page,
        "imports/mapping.html",
        job=job,
        fields=_fields(page, job.table),
        chosen=chosen,
        saved=saved,
        used=use,
        **_common(page),
    )


def _fields(page: Page, table: str) -> list[tuple[str, str]]:
    """Each field of ``table`` with its label in the page's language."""
    return [
        (field, page.i18n.gettext(FIELD_LABELS.get(field, field)))
        for field in jobs.fields_of(table)
    ]


def _saved_columns(page: Page, saved: list[Any], use: str | None) -> dict[str, str] | None:
    wanted = forms.record_id(use) if use else None
    found = next((one for one in saved if one.id == wanted), None)
    return dict(found.columns) if found is not None else None


@router.post("/imports/{job_id}/start")
async def start(page: PageDep, job_id: str, form: FormDep) -> Response:
    """Queue the import with the columns chosen; save them by name first if asked."""
    record_id = parse_id(job_id)
    with refusals(page.i18n, f"/imports/{record_id}/mapping"):
        job = jobs.get_job(page.session, actor=page.actor, job_id=record_id)
        columns = _columns(job, form)
        name = forms.text(form, "save_as")
        if name:
            values = {"name": name, "table": job.table, "columns": columns}
            data = forms.validated(MappingCreate, values, page.i18n, LABELS)
            jobs.save_mapping(page.session, actor=page.actor, data=data)
        dry_run = forms.flag(form, "dry_run")
        jobs.start_job(
            page.session, actor=page.actor, job_id=record_id, columns=columns, dry_run=dry_run
        )
    return redirect(page, f"/imports/{record_id}", page.i18n.gettext("The import has started."))


def _columns(job: ImportJob, form: FormData) -> dict[str, str]:
    """The field chosen for each column, by the column's position (headers may be anything)."""
    chosen = {
        header: forms.text(form, f"field-{index}") for index, header in enumerate(job.headers)
    }
    return {header: field for header, field in chosen.items() if field}


@router.get("/imports/{job_id}")
async def job_page(page: PageDep, job_id: str) -> Response:
    """The job's status and progress bar; its counts and report once done."""
    job = jobs.get_job(page.session, actor=page.actor, job_id=parse_id(job_id))
    if job.status == "draft":
        return redirect(page, f"/imports/{job.id}/mapping")
    busy = job.status in ("queued", "running")
    return render(page, "imports/job.html", job=job, busy=busy, **_common(page))


@router.get("/imports/{job_id}/progress")
async def job_progress(page: PageDep, job_id: str) -> Response:
    """The job as the API shows it, for the page's script (signed in by the session cookie)."""
    job = jobs.get_job(page.session, actor=page.actor, job_id=parse_id(job_id))
    body = JobRead.model_validate(job).model_dump(mode="json")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/imports/{job_id}/report")
async def report(page: PageDep, job_id: str, store: StoreDep) -> Response:
    """The refused rows as CSV (row, column, value, why), formula cells neutralised."""
    record_id: uuid.UUID = parse_id(job_id)
    path = jobs.report_path(page.session, actor=page.actor, job_id=record_id, store=store)
    return report_response(path, record_id)
