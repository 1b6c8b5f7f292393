"""Errors on web pages: the product's error hierarchy as a message on the page, never a 500.

A refused form goes back where it came from (303, Post/Redirect/Get) with the message, after the
unit of work has rolled back; a page that cannot be shown answers an error page with the status
of the error. Script requests (``X-Oppflow-Fetch``) get the same as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from oppflow.db import is_busy
from oppflow.errors import (
    Conflict,
    MoveRefused,
    NotFound,
    OppflowError,
    PermissionDenied,
    PreconditionFailed,
    RecordClosed,
    StageGateRefused,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from oppflow.web.i18n import N_, I18n


class LoginRequired(Exception):
    """No live session: the browser goes to the log-in page."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


class GoBack(Exception):
    """A refused form: back to ``url`` with ``message``; ``missing`` names required steps."""

    def __init__(
        self, url: str, message: str, status: int, missing: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.url, self.message, self.status = url, message, status
        self.missing = missing or []


# Database races and refusals the services do not name themselves.
RACES = (StaleDataError, IntegrityError, DataError, OperationalError)


def is_refusal(error: BaseException) -> bool:
    """What the user is told was refused: a service's refusal or a race. A database that
    fails (an OperationalError other than a lock not granted in time) is not one."""
    if isinstance(error, OperationalError):
        return is_busy(error)
    return isinstance(error, (OppflowError, *RACES))


@contextmanager
def refusals(i18n: I18n, back: str) -> Iterator[None]:
    """Turn what a service refuses into :class:`GoBack` (the unit of work then rolls back)."""
    try:
        yield
    except (OppflowError, *RACES) as error:
        if not is_refusal(error):
            raise
        missing = missing_steps(error)
        url = with_query(back, missing=[step["field"] for step in missing]) if missing else back
        raise GoBack(url, describe(error, i18n), status_of(error), missing) from error


def missing_steps(error: Exception) -> list[dict[str, str]]:
    if isinstance(error, StageGateRefused):
        steps: list[dict[str, str]] = error.extra.get("missing_steps", [])
        return steps
    return []


def status_of(error: Exception) -> int:
    if isinstance(error, OppflowError):
        return error.status
    if isinstance(error, DataError):
        return 422
    return 409


def with_query(url: str, **params: Any) -> str:
    """``url`` with ``params`` added to its query (lists become repeated parameters)."""
    pairs = [(key, item) for key, value in params.items() for item in _as_list(value)]
    if not pairs:
        return url
    separator = "&" if urlsplit(url).query else "?"
    path, _, fragment = url.partition("#")
    return path + separator + urlencode(pairs) + (f"#{fragment}" if fragment else "")


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


MESSAGES: dict[type[Exception], str] = {
    PreconditionFailed: N_(
        "Someone changed this record since you opened it. The page now shows the latest "
        "version; make your change again."
    ),
    RecordClosed: N_("The opportunity is closed; reopen it before changing it."),
    NotFound: N_("This record does not exist, or you may not see it."),
    PermissionDenied: N_("Your roles do not allow this."),
    TooManyRequests: N_("Too many failed log-ins; wait a few minutes and try again."),
    Unauthorized: N_("Unknown user name or wrong password."),
    StaleDataError: N_("Someone else changed this record at the same time; try again."),
    IntegrityError: N_("The change conflicts with existing records."),
    DataError: N_("A value cannot be stored; check what you typed."),
    OperationalError: N_("The database is busy; try again."),
}
PROCESS_STATUS = {
    "finished": N_("The process is finished; reactivate it first."),
    "aborted": N_("The process is abandoned; reactivate it first."),
}


SOMETHING_WENT_WRONG = N_("Something went wrong; try again.")


def describe(error: Exception, i18n: I18n) -> str:
    """The message a user reads for ``error``, in their language where we know it."""
    if not is_refusal(error):
        return i18n.gettext(SOMETHING_WENT_WRONG)
    if isinstance(error, StageGateRefused):
        labels = ", ".join(step["label"] for step in error.extra.get("missing_steps", []))
        return i18n.gettext("Complete the required steps first: %(steps)s.") % {"steps": labels}
    if isinstance(error, MoveRefused) and error.extra.get("process_status") in PROCESS_STATUS:
        return i18n.gettext(PROCESS_STATUS[error.extra["process_status"]])
    for kind, message in MESSAGES.items():
        if isinstance(error, kind):
            return i18n.gettext(message)
    if isinstance(error, ValidationFailed | Conflict | OppflowError):
        return error.detail
    return i18n.gettext(SOMETHING_WENT_WRONG)
