"""Changes shared by several pages: saving a stage panel's fields, and the board's moves.

A board move names a pipeline phase; the engine knows stages. :func:`move_to_phase` picks the
move that brings the card there (next, previous or set active) and lets the process service
decide, exactly as the opportunity page's buttons do.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import FormData

from oppflow.errors import MoveRefused
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.fields import CATEGORIES, pipeline_phase
from oppflow.process.schemas import InstanceView
from oppflow.sales import service as sales_service
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.schemas import OpportunityUpdate
from oppflow.web import forms, process_bar
from oppflow.web.context import Page
from oppflow.web.lookups import phase_label


def save_panel(page: Page, record_id: uuid.UUID, form: FormData) -> int | None:
    """Save the step fields a form carries (``panel`` names the stage, ``fields`` the fields
    shown); the record's version after it (the form's own when there is nothing to save)."""
    panel = forms.text(form, "panel")
    if panel is None:
        return forms.version(form)
    view = process_service.view(
        page.session, actor=page.actor, opportunity_id=record_id, language=page.i18n.language
    )
    shown = set(form.getlist("fields"))
    fields = [pair for pair in process_bar.stage_fields(view, panel) if pair[0] in shown]
    if not fields:
        return forms.version(form)
    labels = {step.field: step.label for stage in view.stages for step in stage.steps}
    data = forms.validated(OpportunityUpdate, forms.field_values(form, fields), page.i18n, labels)
    updated = sales_service.update_opportunity(
        page.session,
        actor=page.actor,
        opportunity_id=record_id,
        data=data,
        if_match=forms.version(form),
    )
    return updated.version


def move_to_phase(
    page: Page, record_id: uuid.UUID, phase: str, if_match: int | None
) -> InstanceView:
    """Move the opportunity's current process so that it lands in ``phase``."""
    language = page.i18n.language
    view = process_service.view(
        page.session, actor=page.actor, opportunity_id=record_id, language=language
    )
    opportunity = OpportunityRepository(page.session, page.actor).get(record_id)
    kind, stage = _move_for(page, view, opportunity, _category(phase))
    return process_service.move(
        page.session,
        actor=page.actor,
        opportunity_id=record_id,
        kind=kind,
        stage=stage,
        if_match=if_match,
        language=language,
    )


def _category(phase: str) -> str:
    head = phase.partition("-")[0]
    if not head.isdigit() or not 1 <= int(head) <= len(CATEGORIES):
        raise MoveRefused(f"Unknown pipeline phase {phase[:40]!r}.")
    return CATEGORIES[int(head) - 1]


def _move_for(
    page: Page, view: InstanceView, opportunity: Opportunity, target: str
) -> tuple[str, str | None]:
    categories = {stage.key: stage.category for stage in view.stages}
    active, path = view.active_stage.key, view.traversed_path
    _ = page.i18n.gettext
    if categories[active] == target:
        raise MoveRefused(_("The opportunity is already in that phase."))
    for key in reversed(path[:-1]):
        if categories.get(key) == target:
            return ("previous", None) if len(path) > 1 and key == path[-2] else ("set_active", key)
    following = _successor(page, view, opportunity)
    if following is not None and categories[following] == target:
        return "next", None
    if following is None:
        raise MoveRefused(_("The opportunity is on the last stage of its process."))
    message = _("One stage at a time: from %(stage)s the next phase is %(next)s.")
    next_phase = phase_label(pipeline_phase(categories[following]), page.i18n)
    raise MoveRefused(message % {"stage": view.active_stage.name, "next": next_phase})


def _successor(page: Page, view: InstanceView, opportunity: Opportunity) -> str | None:
    process = catalog.get(page.session, view.process.key)
    definition = catalog.definition_of(page.session, process.id, view.process.version)
    return definition.successor(view.active_stage.key, process_service.record_values(opportunity))
