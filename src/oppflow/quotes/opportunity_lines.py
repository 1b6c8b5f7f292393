"""Rules on an opportunity's product lines (opportunityproduct).

Reading needs a readable opportunity; changing a line needs write on it, and an open one.
Every change prices the lines again and, when the revenue is system-calculated, sets the
opportunity's estimated value to their sum in the same transaction.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from oppflow.errors import ValidationFailed
from oppflow.models import Opportunity, OpportunityLine
from oppflow.quotes import lines as lines_module
from oppflow.quotes import revenue
from oppflow.quotes.lines import LinePricer, as_create
from oppflow.quotes.repository import LineRepository
from oppflow.quotes.schemas import MAX_LINES, LineCreate, LinesReplace, LineUpdate
from oppflow.records import check_version, stamp_new
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.service import ensure_open
from oppflow.security.actor import Actor
from oppflow.security.scope import require


def list_lines(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[OpportunityLine]:
    """The lines of a readable opportunity, in order."""
    OpportunityRepository(session, actor).get(opportunity_id)
    return LineRepository(session, OpportunityLine).lines_of(opportunity_id)


def add_line(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, data: LineCreate
) -> OpportunityLine:
    """Add a line at the end (at most ``MAX_LINES`` per opportunity)."""
    opportunity = _changeable(session, actor, opportunity_id, None)
    repository = LineRepository(session, OpportunityLine)
    if repository.count(opportunity.id) >= MAX_LINES:
        raise ValidationFailed(
            f"lines: an opportunity has at most {MAX_LINES} lines.", field="lines"
        )
    line = OpportunityLine(
        opportunity_id=opportunity.id,
        line_number=repository.next_line_number(opportunity.id),
        **_pricer(session, actor, opportunity, [data]).values(data),
    )
    stamp_new(line, actor)
    repository.add_all([line])
    revenue.recalculate(session, actor, opportunity)
    return line


def replace_lines(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    data: LinesReplace,
    if_match: int | None = None,
) -> list[OpportunityLine]:
    """Every line at once (the grid); ``if_match`` is the opportunity's version. Nothing
    changes unless every line is valid."""
    opportunity = _changeable(session, actor, opportunity_id, if_match)
    pricer = _pricer(session, actor, opportunity, data.lines)
    priced = [pricer.values(line, f"lines[{n}]") for n, line in enumerate(data.lines)]
    parent = {"opportunity_id": opportunity.id}
    lines = lines_module.replace_lines(session, actor, OpportunityLine, parent, priced)
    revenue.recalculate(session, actor, opportunity, lines)
    return lines


def update_line(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    line_id: uuid.UUID,
    data: LineUpdate,
    if_match: int | None = None,
) -> OpportunityLine:
    """Change a line (``if_match`` is the line's version); it is priced again."""
    opportunity = _changeable(session, actor, opportunity_id, None)
    line: OpportunityLine = LineRepository(session, OpportunityLine).get(opportunity.id, line_id)
    check_version(line, if_match)
    wanted = as_create(line, data)
    values = _pricer(session, actor, opportunity, [wanted]).values(wanted)
    for column, value in values.items():
        setattr(line, column, value)
    line.modified_by_id = actor.user_id
    session.flush()
    revenue.recalculate(session, actor, opportunity)
    return line


def delete_line(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    opportunity = _changeable(session, actor, opportunity_id, None)
    repository = LineRepository(session, OpportunityLine)
    line = repository.get(opportunity.id, line_id)
    check_version(line, if_match)
    repository.delete(line)
    revenue.recalculate(session, actor, opportunity)


def _changeable(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, if_match: int | None
) -> Opportunity:
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    check_version(opportunity, if_match)
    require(session, actor, "write", opportunity)
    ensure_open(opportunity)
    return opportunity


def _pricer(
    session: Session, actor: Actor, opportunity: Opportunity, lines: list[LineCreate]
) -> LinePricer:
    return LinePricer(
        session,
        actor,
        currency=opportunity.currency,
        price_list_id=opportunity.price_list_id,
        lines=lines,
    )
