"""The user's own profile: time zone and language of the pages."""

from __future__ import annotations

from starlette.responses import Response

from oppflow.clock import utcnow
from oppflow.security import preferences
from oppflow.web import forms, security
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from oppflow.web.render import redirect, render

router = web_router()
YEAR = 365 * 24 * 3600


@router.get("/profile")
async def profile(page: PageDep) -> Response:
    user = page.user
    return render(
        page,
        "profile.html",
        person=user,
        zones=preferences.time_zones(),
        languages=list(LANGUAGES.items()),
        now=utcnow(),
    )


@router.post("/profile")
async def save_profile(page: PageDep, form: FormDep) -> Response:
    """Save the time zone and language; an empty choice means "as my browser says"."""
    values = {"time_zone": forms.text(form, "time_zone"), "language": forms.text(form, "language")}
    with refusals(page.i18n, "/profile"):
        data = forms.validated(preferences.PreferencesUpdate, values, page.i18n, {})
        preferences.set_preferences(
            page.session, actor=page.actor, user_id=page.actor.user_id, data=data
        )
    response = redirect(page, "/profile", page.i18n.gettext("Saved."))
    if data.language:
        # The language menu's cookie wins over the profile; it follows the profile's choice.
        security.set_cookie(response, page.request, LANGUAGE_COOKIE, data.language, max_age=YEAR)
    return response
