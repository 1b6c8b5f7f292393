"""The board: drag a card to another phase, or pick the phase in the card's own form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from oppflow.analytics.schemas import OpportunitySearch
from oppflow.errors import StageGateRefused
from oppflow.web import actions, board, forms, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals, with_query
from oppflow.web.forms import FormDep
from oppflow.web.listing import lenient
from oppflow.web.render import redirect, refused, render, safe_next
from oppflow.web.routes.opportunity import parse_id

router = web_router()


@router.get("/board")
async def board_page(
    page: PageDep,
    fix: Annotated[str | None, Query(max_length=64)] = None,
    show: Annotated[str | None, Query(max_length=40)] = None,
    count: Annotated[int, Query(ge=1, le=board.MAX_CARDS)] = board.CARDS_PER_COLUMN,
    to: Annotated[str | None, Query(max_length=40)] = None,
    missing: Annotated[list[str] | None, Query(max_length=40)] = None,
) -> Response:
    """A column per pipeline phase, with totals; a refused card's missing steps on top."""
    search, dropped = lenient(OpportunitySearch, dict(page.request.query_params))
    refused_card = forms.record_id(fix)
    here = with_query(
        "/board",
        owner_id=search.owner_id,
        process_key=search.process_key,
        business_unit_id=search.business_unit_id,
    )
    columns = board.columns(page, search, {show: count} if show else None)
    account_ids = [card.account_id for column in columns for card in column.cards]
    return render(
        page,
        "board.html",
        section="board",
        search=search,
        dropped=dropped,
        here=here,
        page_size=board.CARDS_PER_COLUMN,
        max_cards=board.MAX_CARDS,
        columns=columns,
        fix=board.fix(page, refused_card, to or "", missing or []) if refused_card else None,
        owners=lookups.active_users(page.session),
        processes=lookups.opportunity_processes(page.session, page.i18n),
        accounts=lookups.accounts(page.session, page.actor, account_ids),
        contacts=[],
        names=lookups.user_names(page.session),
    )


@router.post("/board/move")
async def move_card(page: PageDep, form: FormDep) -> Response:
    """Move a card to a phase; steps sent with it (the refused card's form) are saved first."""
    record_id = parse_id(forms.text(form, "opportunity") or "")
    phase = forms.text(form, "to_phase") or ""
    back = safe_next(forms.text(form, "back"), "/board")
    with refusals(page.i18n, back):
        version = actions.save_panel(page, record_id, form)
        try:
            view = actions.move_to_phase(page, record_id, phase, version)
        except StageGateRefused as error:
            return refused(page, with_query(back, fix=record_id, to=phase), error)
    message = page.i18n.gettext("Moved to %(stage)s.") % {"stage": view.active_stage.name}
    return redirect(page, back, message)
