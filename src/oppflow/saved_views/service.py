"""Save, list and delete one's views of the opportunity list.

A view keeps only what the list understands: the search's own parameters (never the page) and
columns among :data:`COLUMNS`; saving under an existing name replaces that view.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from oppflow.analytics.schemas import OpportunitySearch
from oppflow.errors import ValidationFailed
from oppflow.models import SavedView
from oppflow.saved_views.repository import SavedViewRepository
from oppflow.security.actor import Actor

COLUMNS = (
    "pipeline_phase",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "forecast_category",
    "rating",
    "owner",
    "state",
)
DEFAULT_COLUMNS = (
    "pipeline_phase",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "owner",
    "state",
)
MAX_VIEWS = 50
MAX_NAME = 80
KEPT = frozenset(OpportunitySearch.model_fields) - {"page"}


def chosen_columns(columns: Sequence[str]) -> list[str]:
    """The known columns among ``columns``, in the list's order; the defaults when none."""
    known = [column for column in COLUMNS if column in set(columns)]
    return known or list(DEFAULT_COLUMNS)


def list_views(session: Session, *, actor: Actor) -> list[SavedView]:
    return SavedViewRepository(session, actor.user_id).list()


def save_view(
    session: Session,
    *,
    actor: Actor,
    name: str,
    query: Mapping[str, str],
    columns: Sequence[str],
) -> SavedView:
    """Save (or replace) the view ``name`` of the actor."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"name: 1 to {MAX_NAME} characters.", field="name")
    kept = {key: str(value)[:200] for key, value in query.items() if key in KEPT and value}
    repository = SavedViewRepository(session, actor.user_id)
    found = repository.find_by_name(name)
    if found is None and repository.count() >= MAX_VIEWS:
        raise ValidationFailed(f"name: at most {MAX_VIEWS} saved views each.", field="name")
    if found is not None:
        found.query, found.columns = kept, chosen_columns(columns)
        session.flush()
        return found
    view = SavedView(user_id=actor.user_id, name=name, query=kept, columns=chosen_columns(columns))
    return repository.add(view)


def delete_view(session: Session, *, actor: Actor, view_id: uuid.UUID) -> None:
    repository = SavedViewRepository(session, actor.user_id)
    repository.delete(repository.get(view_id))
