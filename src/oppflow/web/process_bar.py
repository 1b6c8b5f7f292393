"""The process bar of DESIGN §6, built from the engine's :class:`InstanceView`.

Chevrons per stage (done, active with its time in stage, not reached), the selected stage's panel
with its steps as fields, and which moves the bar offers. Nothing here decides whether a move is
allowed: the buttons post to the same service as the API, which decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oppflow.models import Opportunity
from oppflow.process.fields import STEP_FIELDS, pipeline_phase
from oppflow.process.schemas import InstanceView, StageView
from oppflow.web.i18n import I18n
from oppflow.web.lookups import CHOICES, options, phase_number

LONG_TEXT_FIELDS = frozenset({"customer_need", "proposed_solution", "description"})


@dataclass(frozen=True)
class StepField:
    """One step as a form field: its kind picks the control (select, date, toggle, …)."""

    field: str
    label: str
    required: bool
    complete: bool
    kind: str
    value: Any
    missing: bool
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def multiline(self) -> bool:
        return self.field in LONG_TEXT_FIELDS


@dataclass(frozen=True)
class Chevron:
    key: str
    name: str
    state: str  # done | active | finished | aborted | todo
    selected: bool
    phase: int
    days: str = ""


@dataclass(frozen=True)
class Panel:
    key: str
    name: str
    steps: list[StepField]
    editable: bool
    is_active: bool
    can_next: bool
    can_finish: bool
    can_set_active: bool


@dataclass(frozen=True)
class ProcessBar:
    view: InstanceView
    chevrons: list[Chevron]
    panel: Panel
    can_previous: bool
    is_open: bool


def build(
    view: InstanceView,
    opportunity: Opportunity,
    i18n: I18n,
    *,
    selected: str | None,
    missing: list[str],
    can_write: bool,
) -> ProcessBar:
    """The bar for ``view``; ``selected`` is the stage whose panel is open (the active one by
    default) and ``missing`` the steps a refused move named."""
    keys = [stage.key for stage in view.stages]
    chosen = selected if selected in keys else view.active_stage.key
    movable = can_write and opportunity.state == "open" and view.status == "active"
    chevrons = [_chevron(view, stage, chosen, i18n) for stage in view.stages]
    stage = next(stage for stage in view.stages if stage.key == chosen)
    panel = _panel(view, stage, opportunity, i18n, set(missing), movable=movable)
    can_previous = movable and len(view.traversed_path) >= 2
    return ProcessBar(view, chevrons, panel, can_previous, opportunity.state == "open")


def _chevron(view: InstanceView, stage: StageView, chosen: str, i18n: I18n) -> Chevron:
    active = stage.key == view.active_stage.key
    state: str
    if active and view.status != "active":
        state = view.status
    elif active:
        state = "active"
    elif stage.key in view.traversed_path:
        state = "done"
    else:
        state = "todo"
    days = i18n.days_since(view.active_stage.started_at) if state == "active" else ""
    phase = phase_number(pipeline_phase(stage.category))
    return Chevron(stage.key, stage.name, state, stage.key == chosen, phase, days)


def _panel(
    view: InstanceView,
    stage: StageView,
    opportunity: Opportunity,
    i18n: I18n,
    missing: set[str],
    *,
    movable: bool,
) -> Panel:
    is_active = stage.key == view.active_stage.key
    last = view.stages[-1].key == stage.key
    on_record = stage.table == "opportunity"
    steps = [_step(step, stage.table, opportunity, i18n, missing) for step in stage.steps]
    return Panel(
        key=stage.key,
        name=stage.name,
        steps=steps,
        editable=movable and on_record,
        is_active=is_active,
        can_next=movable and is_active and not last,
        can_finish=movable and is_active and last,
        can_set_active=movable and not is_active and stage.key in view.traversed_path and on_record,
    )


def _step(
    step: Any, table: str, opportunity: Opportunity, i18n: I18n, missing: set[str]
) -> StepField:
    spec = STEP_FIELDS[table].get(step.field)
    kind = spec.kind if spec else "text"
    value = getattr(opportunity, step.field, None) if table == "opportunity" else None
    return StepField(
        field=step.field,
        label=step.label,
        required=step.required,
        complete=step.complete,
        kind=kind,
        value=value,
        missing=step.field in missing and not step.complete,
        choices=tuple(options(CHOICES.get(step.field, spec.choices if spec else ()), i18n)),
    )


def stage_fields(view: InstanceView, stage_key: str) -> list[tuple[str, str]]:
    """(field, kind) of the opportunity steps of one stage of ``view``; empty when unknown."""
    for stage in view.stages:
        if stage.key == stage_key and stage.table == "opportunity":
            specs = STEP_FIELDS["opportunity"]
            return [(s.field, specs[s.field].kind) for s in stage.steps if s.field in specs]
    return []
