"""A small pipeline with a history, for the dashboard's tests: opportunities created weeks ago
(as of then, through :func:`oppflow.clock.simulated_time`), moved stage by stage, won and lost,
with close dates overdue, coming and missing. Everything goes through the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import simulated_time, today, utcnow
from oppflow.db import unit_of_work
from oppflow.process import service as process_service
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import LoseRequest, OpportunityCreate, WinRequest
from oppflow.security import service as security_service
from oppflow.web.i18n import I18n
from tests.web.support import make_competitor, make_customer

Factory = sessionmaker[Session]
# Every step the built-in process requires, so that "next" always passes the gate.
STEPS = {
    "customer_need": "A new fleet of laptops.",
    "proposed_solution": "Laptops with a three-year warranty.",
    "proposal_presented": True,
}


@dataclass(frozen=True)
class Deal:
    name: str
    value: int
    created_days_ago: int = 40
    moves: int = 0  # "next" moves, four days apart from the creation
    close_in_days: int | None = 30  # the estimated close date from today; None: no date
    outcome: str | None = None  # "won" or "lost", closed today
    category: str = "pipeline"  # forecast category


ALICE_DEALS = (
    Deal("Laptops for Contoso", 48_000, moves=3, close_in_days=10, category="committed"),
    Deal("Printers for Fabrikam", 12_000, moves=2, close_in_days=40, category="best_case"),
    Deal("Tablets for Litware", 30_000, moves=1, close_in_days=70),
    Deal("Scanners for Tailspin", 9_000, created_days_ago=60, close_in_days=-45),
    Deal("Servers for Northwind", 75_000, moves=2, close_in_days=None),
    Deal("Phones for Adatum", 22_000, moves=3, outcome="won"),
    Deal("Monitors for Proseware", 18_000, moves=2, outcome="won"),
    Deal("Desks for Wingtip", 14_000, moves=1, outcome="lost"),
)
BOB_DEALS = (
    Deal("Routers for Alpine", 5_000, created_days_ago=20, close_in_days=20),
    Deal("Cables for Alpine", 2_000, created_days_ago=10, moves=1, outcome="lost"),
)


def make_pipeline(factory: Factory, username: str, deals: tuple[Deal, ...]) -> dict[str, uuid.UUID]:
    """``deals`` owned by ``username``, with their history; their ids by name."""
    account, contact = make_customer(factory, username, f"{username.title()} Corp", "Ann Lee")
    competitor = make_competitor(factory, username, f"Rival of {username}")
    return {
        deal.name: _make_deal(factory, username, deal, account, contact, competitor)
        for deal in deals
    }


def _make_deal(
    factory: Factory,
    username: str,
    deal: Deal,
    account: uuid.UUID,
    contact: uuid.UUID,
    competitor: uuid.UUID,
) -> uuid.UUID:
    born = utcnow() - timedelta(days=deal.created_days_ago)
    closing = today() + timedelta(days=deal.close_in_days) if deal.close_in_days else None
    with simulated_time(born), unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = OpportunityCreate(
            name=deal.name, estimated_value=deal.value, account_id=account, contact_id=contact,
            estimated_close_date=_iso(closing), forecast_category=deal.category, **STEPS,
        )  # fmt: skip
        opportunity_id = sales_service.create_opportunity(session, actor=actor, data=data).id
    for move in range(deal.moves):
        with (
            simulated_time(born + timedelta(days=4 * (move + 1))),
            unit_of_work(factory) as session,
        ):
            actor = security_service.actor_by_username(session, username)
            process_service.move(session, actor=actor, opportunity_id=opportunity_id, kind="next")
    if deal.outcome:
        _close(factory, username, opportunity_id, deal.outcome, competitor)
    return opportunity_id


def _close(
    factory: Factory, username: str, opportunity_id: uuid.UUID, outcome: str, rival: uuid.UUID
) -> None:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        if outcome == "won":
            sales_service.win(
                session, actor=actor, opportunity_id=opportunity_id, data=WinRequest()
            )
        else:
            data = LoseRequest(status_reason="out_sold", competitor_id=rival)
            sales_service.lose(session, actor=actor, opportunity_id=opportunity_id, data=data)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# What the dashboard's cards say under their charts (the start of it), with today's dates.
REPORTS = ("funnel", "forecast", "conversion", "win-loss", "time-in-stage", "stale")
CONVENTIONS = {
    "en": {
        "funnel": "Open opportunities on {today}, by their phase that day",
        "cohort": "Opportunities created {cohort}, followed to {today}. A phase counts only "
        "when reached in order.",
        "forecast": "Open opportunities by estimated close month, won ones by actual close "
        "month, on {today}",
        "conversion": "Opportunities created {cohort}, followed to {today}.",
        "win-loss": "Opportunities closed {quarter} (by actual close date), on {today}",
        "time-in-stage": "Stays in each stage begun {cohort}, measured to {today}",
        "stale": "Open opportunities on {today} that have been in their stage, or idle",
    },
    "fr": {
        "funnel": "Opportunités ouvertes au {today}, selon leur phase du pipeline ce jour-là",
        "cohort": "Opportunités créées sur la période {cohort}, suivies jusqu’au {today}. Une "
        "phase ne compte que si elle est atteinte dans l’ordre.",
        "forecast": "Opportunités ouvertes par mois de clôture estimée, conclues par mois de "
        "clôture réelle, au {today}",
        "conversion": "Opportunités créées sur la période {cohort}, suivies jusqu’au {today}.",
        "win-loss": "Opportunités fermées sur la période {quarter} (date de clôture réelle), "
        "au {today}",
        "time-in-stage": "Passages dans chaque phase commencés sur la période {cohort}, "
        "mesurés jusqu’au {today}",
        "stale": "Opportunités ouvertes au {today} restées dans leur phase, ou sans activité",
    },
}


def expected_convention(language: str, report: str) -> str:
    """The start of the convention line of ``report`` in ``language``, dated today."""
    i18n, day = I18n(language), today()
    quarter_start = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    quarter_end = (quarter_start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    return CONVENTIONS[language][report].format(
        today=i18n.date(day),
        cohort=i18n.date_range(day - timedelta(days=90), day),
        quarter=i18n.date_range(quarter_start, quarter_end),
    )
