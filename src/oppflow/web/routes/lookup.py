"""Type-ahead pickers: the search the pickers' script asks as the user types (JSON), and the
search-and-choose page that stands in for it without JavaScript."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import Query
from fastapi.responses import JSONResponse
from starlette.responses import Response

from oppflow.errors import NotFound
from oppflow.lookup import service as lookup_service
from oppflow.lookup.schemas import Choice, LookupKind
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import with_query
from oppflow.web.i18n import N_
from oppflow.web.render import is_fetch, render, safe_next

router = web_router()

FIELD_PATTERN = r"^[a-z][a-z_]{0,39}$"
KIND_TITLES = {
    "account": N_("Choose an account"),
    "contact": N_("Choose a contact"),
    "competitor": N_("Choose a competitor"),
    "owner": N_("Choose a user"),
}


@router.get("/lookup/{kind}")
async def lookup(
    page: PageDep,
    kind: str,
    q: Annotated[str | None, Query(max_length=200)] = None,
    field: Annotated[str | None, Query(pattern=FIELD_PATTERN)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """The readable records of ``kind`` starting with ``q``: JSON for the pickers' script, or a
    page whose every result goes back to ``back`` with ``field`` set to it."""
    if kind not in get_args(LookupKind):
        raise NotFound(f"No lookup {kind[:20]!r}.")
    found = lookup_service.search(page.session, page.actor, kind, q)  # type: ignore[arg-type]
    if is_fetch(page.request):
        return JSONResponse({"choices": [_as_json(choice) for choice in found]})
    target = safe_next(back)
    return render(
        page,
        "lookup.html",
        kind=kind,
        title=KIND_TITLES[kind],
        q=q or "",
        field=field or f"{kind}_id",
        back=target,
        choices=[
            (choice, with_query(target, **{field or f"{kind}_id": choice.id})) for choice in found
        ],
    )


def _as_json(choice: Choice) -> dict[str, str]:
    return {"id": str(choice.id), "label": choice.label, "detail": choice.detail}
