"""The board: a column per pipeline phase with its totals, and the card that needs steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from oppflow.analytics import service as analytics
from oppflow.analytics.schemas import FunnelFilters, OpportunitySearch
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.fields import pipeline_phase
from oppflow.sales.repository import OpportunityRepository
from oppflow.web import process_bar
from oppflow.web.context import Page
from oppflow.web.lookups import phase_label, phase_number

CARDS_PER_COLUMN = 40
MAX_CARDS = 1000


@dataclass
class Column:
    phase: str
    label: str
    number: int
    count: int = 0
    value: Decimal = Decimal(0)
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def columns(
    page: Page, search: OpportunitySearch, shown: dict[str, int] | None = None
) -> list[Column]:
    """The phases of the active processes (and any phase a card is in), with totals and cards:
    the first 40 of each, or as many as ``shown`` asks for a phase (up to 1,000; the cards come
    from one index range, so a phase of 100,000 costs what its shown cards cost)."""
    filters = FunnelFilters(
        owner_id=search.owner_id,
        business_unit_id=search.business_unit_id,
        process_key=search.process_key,
    )
    found = {phase: _column(page, phase) for phase in _process_phases(page)}
    for total in analytics.funnel(page.session, actor=page.actor, filters=filters).phases:
        column = found.setdefault(total.pipeline_phase, _column(page, total.pipeline_phase))
        column.count, column.value = total.count, Decimal(total.estimated_value)
    for phase, column in found.items():
        if column.count:
            column.cards = analytics.board_cards(
                page.session,
                actor=page.actor,
                filters=filters,
                phase=phase,
                limit=min(MAX_CARDS, (shown or {}).get(phase, CARDS_PER_COLUMN)),
            )
    return sorted(found.values(), key=lambda column: (column.number, column.phase))


def _column(page: Page, phase: str) -> Column:
    return Column(phase=phase, label=phase_label(phase, page.i18n), number=phase_number(phase))


def _process_phases(page: Page) -> set[str]:
    phases = set()
    for process in catalog.list_processes(page.session, table="opportunity"):
        if process.is_active:
            definition = catalog.current_definition(page.session, process)
            phases |= {pipeline_phase(stage.category) for stage in definition.stages}
    return phases


@dataclass(frozen=True)
class Fix:
    """A refused card: its missing steps as a small form, and where it was going."""

    opportunity: Opportunity
    to_phase: str
    stage: str
    stage_name: str
    steps: list[process_bar.StepField]


def fix(page: Page, record_id: uuid.UUID, to_phase: str, missing: list[str]) -> Fix | None:
    """The form for the card whose move the engine refused; None when it cannot be shown."""
    opportunity = OpportunityRepository(page.session, page.actor).get(record_id)
    if opportunity.state != "open":
        return None
    view = process_service.view(
        page.session, actor=page.actor, opportunity_id=record_id, language=page.i18n.language
    )
    bar = process_bar.build(
        view, opportunity, page.i18n, selected=None, missing=missing, can_write=True
    )
    wanted = set(missing) or {step.field for step in bar.panel.steps if step.required}
    steps = [step for step in bar.panel.steps if step.field in wanted and not step.complete]
    if not steps:
        return None
    return Fix(opportunity, to_phase, bar.panel.key, bar.panel.name, steps)
