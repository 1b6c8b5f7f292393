"""The quote pages: an opportunity's product lines saved as a grid, a quote created from the
opportunity, its page with the lifecycle (activate, revise, win, close), its document
(preview, download) and sending. Every change calls the service the API calls."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.api.files import content_disposition
from oppflow.quotes import opportunity_lines, sending
from oppflow.quotes import service as quote_service
from oppflow.quotes.document import render_preview
from oppflow.quotes.schemas import (
    CloseQuoteRequest,
    LinesReplace,
    QuoteCreate,
    QuoteUpdate,
    WinQuoteRequest,
)
from oppflow.related.storage import FileStore, default_store
from oppflow.web import forms, quotes_page
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
StoreDep = Annotated[FileStore, Depends(default_store)]
LINE_FIELDS = (
    "product_id",
    "write_in_name",
    "quantity",
    "price_per_unit",
    "manual_discount",
    "tax",
    "unit_id",
    "description",
)


def _tab(opportunity_id: uuid.UUID, tab: str) -> str:
    return f"/opportunities/{opportunity_id}?tab={tab}#tabs-title"


def _quote_url(quote_id: uuid.UUID) -> str:
    return f"/quotes/{quote_id}"


@router.post("/opportunities/{opportunity_id}/lines")
async def save_lines(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """The *Products* grid: every line at once; empty rows are left out."""
    record_id = parse_id(opportunity_id)
    back = _tab(record_id, "products")
    with refusals(page.i18n, back):
        data = _grid(page, form)
        opportunity_lines.replace_lines(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


def _grid(page: Page, form: FormData) -> LinesReplace:
    """The Products grid's lines (an opportunity's or a draft quote's), validated."""
    return forms.validated(LinesReplace, {"lines": grid_rows(form)}, page.i18n, _labels(page))


def grid_rows(form: FormData) -> list[dict[str, Any]]:
    """The grid's rows from its repeated fields; a row without product or name is blank."""
    names = (*LINE_FIELDS, "line_product")
    columns = {name: [str(v).strip() for v in form.getlist(name)] for name in names}
    count = max(len(values) for values in columns.values())
    rows = []
    for n in range(count):
        row = {name: (values[n] if n < len(values) else "") for name, values in columns.items()}
        # A line keeps its unit while it keeps its product; another product takes its own.
        if row.pop("line_product") != row["product_id"]:
            row["unit_id"] = ""
        if row["product_id"] or row["write_in_name"]:
            rows.append({name: value for name, value in row.items() if value != ""})
    return rows


def _labels(page: Page) -> dict[str, str]:
    return {"lines": page.i18n.gettext("Products")}


@router.post("/opportunities/{opportunity_id}/quotes")
async def create_quote(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """*Create quote*: a draft with the opportunity's customer, price list and lines."""
    record_id = parse_id(opportunity_id)
    with refusals(page.i18n, _tab(record_id, "quotes")):
        values = {"language": forms.text(form, "language") or page.i18n.language}
        data = forms.validated(QuoteCreate, values, page.i18n, {})
        quote = quote_service.create_from_opportunity(
            page.session, actor=page.actor, opportunity_id=record_id, data=data
        )
    return redirect(page, _quote_url(quote.id), page.i18n.gettext("Quote created."))


@router.get("/quotes/{quote_id}")
async def quote_page(page: PageDep, quote_id: str) -> Response:
    """One quote: header, lines, totals, lifecycle buttons and a preview of its document."""
    found = quotes_page.quote_context(page, parse_id(quote_id))
    return render(page, "quotes/quote.html", section="opportunities", **found)


@router.get("/quotes/{quote_id}/pdf")
async def download_pdf(page: PageDep, quote_id: str) -> Response:
    """The quote's PDF, as an attachment named after its number and revision."""
    document, pdf = sending.quote_pdf(page.session, actor=page.actor, quote_id=parse_id(quote_id))
    headers = {
        "Content-Disposition": content_disposition(document.file_name),
        "Cache-Control": "private, no-cache",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/quotes/{quote_id}/preview.png")
async def preview(page: PageDep, quote_id: str) -> Response:
    """The document as one image, for the quote's page."""
    document = sending.quote_document(page.session, actor=page.actor, quote_id=parse_id(quote_id))
    headers = {"Cache-Control": "private, no-cache"}
    return Response(render_preview(document), media_type="image/png", headers=headers)


@router.post("/quotes/{quote_id}/lines")
async def save_quote_lines(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """A draft's grid, every line at once, as ``PUT /api/v1/quotes/{id}/lines`` does; an
    active or closed quote is refused by the service (409) and the message shown."""
    record_id = parse_id(quote_id)
    back = f"{_quote_url(record_id)}#lines-title"
    with refusals(page.i18n, back):
        data = _grid(page, form)
        quote_service.replace_quote_lines(
            page.session,
            actor=page.actor,
            quote_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/quotes/{quote_id}/details")
async def save_details(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """A draft's name, language, validity and terms."""
    record_id = parse_id(quote_id)
    back = _quote_url(record_id)
    with refusals(page.i18n, back):
        names = ("name", "contact_id", "language", "effective_from", "effective_to", "terms")
        values = {name: forms.text(form, name) for name in names if name in form}
        data = forms.validated(QuoteUpdate, values, page.i18n, _detail_labels(page))
        quote_service.update_quote(
            page.session,
            actor=page.actor,
            quote_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


def _detail_labels(page: Page) -> dict[str, str]:
    _ = page.i18n.gettext
    return {
        "name": _("Name"),
        "language": _("Language"),
        "effective_from": _("Valid from"),
        "effective_to": _("Valid until"),
        "terms": _("Terms"),
        "contact_id": _("Contact"),
    }


@router.post("/quotes/{quote_id}/activate")
async def activate(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """Draft → Active: it can now be sent, won, revised or closed."""
    record_id = parse_id(quote_id)
    with refusals(page.i18n, _quote_url(record_id)):
        quote_service.activate(
            page.session, actor=page.actor, quote_id=record_id, if_match=forms.version(form)
        )
    return redirect(page, _quote_url(record_id), page.i18n.gettext("Quote activated."))


@router.post("/quotes/{quote_id}/revise")
async def revise(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """Close an active quote as revised and open the next revision as a draft."""
    record_id = parse_id(quote_id)
    with refusals(page.i18n, _quote_url(record_id)):
        draft = quote_service.revise(
            page.session, actor=page.actor, quote_id=record_id, if_match=forms.version(form)
        )
    return redirect(page, _quote_url(draft.id), page.i18n.gettext("New revision created."))


@router.post("/quotes/{quote_id}/win")
async def win(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """Won; the opportunity closes as won for the quote's total when the box is ticked."""
    record_id = parse_id(quote_id)
    with refusals(page.i18n, _quote_url(record_id)):
        values = {
            "close_opportunity": forms.flag(form, "close_opportunity"),
            "close_date": forms.text(form, "close_date"),
        }
        data = forms.validated(WinQuoteRequest, values, page.i18n, {})
        quote_service.win(
            page.session,
            actor=page.actor,
            quote_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, _quote_url(record_id), page.i18n.gettext("Quote won."))


@router.post("/quotes/{quote_id}/close")
async def close(page: PageDep, quote_id: str, form: FormDep) -> Response:
    """Close a draft or active quote as lost or canceled."""
    record_id = parse_id(quote_id)
    with refusals(page.i18n, _quote_url(record_id)):
        values = {"status_reason": forms.text(form, "status_reason") or "canceled"}
        data = forms.validated(CloseQuoteRequest, values, page.i18n, {})
        quote_service.close(
            page.session,
            actor=page.actor,
            quote_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, _quote_url(record_id), page.i18n.gettext("Quote closed."))


@router.post("/quotes/{quote_id}/send")
async def send(page: PageDep, quote_id: str, store: StoreDep) -> Response:
    """E-mail the PDF to the quote's contact; a failing server is a message, nothing sent."""
    record_id = parse_id(quote_id)
    with refusals(page.i18n, _quote_url(record_id)):
        quote = sending.send_quote(page.session, actor=page.actor, quote_id=record_id, store=store)
    message = page.i18n.gettext("Sent to %(address)s.") % {"address": quote.sent_to}
    return redirect(page, _quote_url(record_id), message)
