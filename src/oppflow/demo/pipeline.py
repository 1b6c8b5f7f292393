"""Demo data: a year of a small sales team's work, written through the services.

Every record goes through the services the API uses (users, competitors, accounts, contacts,
opportunities, stage moves, win, lose, reopen), each call under
:func:`oppflow.clock.simulated_time`, so every rule runs and the stage history reads like twelve
real months. The data is first planned from ``random.Random(seed)`` as a script of dated events
(pure and deterministic), then played against the database.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

from oppflow.clock import simulated_time, utcnow
from oppflow.demo import related as demo_related
from oppflow.errors import Conflict
from oppflow.install import ensure_builtin_data
from oppflow.process import service as process_service
from oppflow.process.catalog import list_processes
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import (
    AccountCreate,
    CompetitorCreate,
    ContactCreate,
    LoseRequest,
    OpportunityCreate,
    OpportunityUpdate,
    WinRequest,
)
from oppflow.security import service as security_service
from oppflow.security.actor import Actor
from oppflow.security.repository import UserRepository
from oppflow.security.schemas import RoleKey, UserCreate

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoUser:
    """A demo log-in: user name, password and role keys."""

    username: str
    full_name: str
    password: str
    roles: tuple[RoleKey, ...]


@dataclass(frozen=True)
class DemoCredentials:
    """The users the demo created, with the passwords to log in with."""

    users: tuple[DemoUser, ...]

    def password(self, username: str) -> str:
        """The demo password of ``username`` (KeyError when the demo has no such user)."""
        for user in self.users:
            if user.username == username:
                return user.password
        raise KeyError(username)


# Known on purpose: `make run` prints them so anyone can try the product.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Dana Okafor", "oppflow-admin-1", ("system-administrator",)),
    DemoUser("maya", "Maya Chen", "oppflow-maya-1", ("sales-manager",)),
    DemoUser("alice", "Alice Martin", "oppflow-alice-1", ("salesperson",)),
    DemoUser("carlos", "Carlos Rivera", "oppflow-carlos-1", ("salesperson",)),
)
SALESPEOPLE = ("alice", "carlos")
MANAGER = "maya"

ACCOUNT_COUNT = 50
OPPORTUNITY_COUNT = 300
HISTORY_DAYS = 365


@dataclass(frozen=True)
class _Product:
    label: str  # "{n} laptops" when priced per unit
    low: int
    high: int
    unit_price: int  # 0: low..high bound the deal's value rather than a quantity
    need: str
    solution: str

    def draw(self, rng: random.Random) -> tuple[str, Decimal]:
        if self.unit_price:
            quantity = rng.randint(self.low, self.high)
            return self.label.format(n=quantity), Decimal(quantity * self.unit_price)
        return self.label, Decimal(rng.randint(self.low, self.high) // 500 * 500)


# Vocabulary of the generated records (kept compact: the formatter would give each word a line).
# fmt: off
COMPANY_WORDS = (
    "Northwind", "Bluewater", "Ironbridge", "Silverline", "Redwood", "Evergreen", "Harborview",
    "Summit", "Granite Peak", "Clearwater", "Pioneer", "Cobalt", "Beacon", "Sterling", "Aurora",
    "Falcon", "Orchard", "Riverside", "Lakeshore", "Maple Leaf", "Cedar Grove", "Atlas", "Vertex",
    "Nimbus", "Kestrel", "Halcyon", "Meridian", "Brightwater", "Oakridge", "Starling", "Bayside",
    "Highland", "Copperfield", "Westbrook", "Eastgate", "Northstar", "Suncrest", "Bluebird",
    "Tidewater", "Windmill", "Keystone", "Trailhead", "Lighthouse", "Crescent", "Juniper",
    "Sequoia", "Willow Creek", "Foxglove", "Marigold", "Ashford", "Greenfield", "Stonebridge",
    "Fairhaven", "Pinecrest", "Quarry Hill", "Larkspur", "Hawthorne", "Driftwood", "Alder",
    "Silver Birch",
)
INDUSTRIES = (
    ("Manufacturing", ("Industries", "Manufacturing", "Components")),
    ("Healthcare", ("Health", "Medical Group", "Clinics")),
    ("Retail", ("Retail", "Outfitters", "Markets")),
    ("Financial Services", ("Capital", "Financial", "Insurance")),
    ("Technology", ("Software", "Systems", "Labs")),
    ("Logistics", ("Logistics", "Freight", "Shipping")),
    ("Education", ("Academy", "College", "Learning")),
    ("Energy", ("Energy", "Power", "Renewables")),
    ("Hospitality", ("Hotels", "Resorts", "Hospitality")),
    ("Construction", ("Builders", "Construction", "Engineering")),
    ("Food & Beverage", ("Foods", "Brewing", "Farms")),
    ("Media", ("Media", "Publishing", "Studios")),
)
CITIES = (
    ("Seattle", "United States"), ("Chicago", "United States"), ("Austin", "United States"),
    ("Boston", "United States"), ("Denver", "United States"), ("Atlanta", "United States"),
    ("San Diego", "United States"), ("Toronto", "Canada"), ("Montréal", "Canada"),
    ("London", "United Kingdom"), ("Manchester", "United Kingdom"), ("Dublin", "Ireland"),
    ("Paris", "France"), ("Lyon", "France"), ("Berlin", "Germany"), ("Munich", "Germany"),
    ("Amsterdam", "Netherlands"), ("Madrid", "Spain"), ("Zurich", "Switzerland"),
)
FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Sofia", "Lucas", "Amara", "Mateo", "Chloé", "Hugo",
    "Priya", "Arjun", "Mei", "Kenji", "Fatima", "Omar", "Ingrid", "Lars", "Elena", "Marco",
    "Grace", "Daniel", "Zoe", "Samuel", "Aisha", "Tomás", "Hannah", "Felix", "Nora", "Julien",
    "Yuki", "Rafael", "Leah", "Ethan", "Camille", "Jonas", "Isabel", "Victor", "Ava", "Malik",
)
LAST_NAMES = (
    "Smith", "Johnson", "Nguyen", "Garcia", "Müller", "Dubois", "Rossi", "Kowalski", "Patel",
    "Kim", "Okafor", "Andersen", "Silva", "Haddad", "Tanaka", "O'Brien", "Schmidt", "Moreau",
    "Fischer", "López", "Walker", "Bennett", "Novak", "Costa", "Ibrahim", "Larsen", "Murphy",
    "Bernard", "Weber", "Santos", "Hughes", "Jansen", "Petrov", "Rahman", "Ferreira", "Cohen",
)
JOB_TITLES = (
    "Chief Financial Officer", "IT Director", "Procurement Manager", "VP Operations",
    "Head of Sales", "Chief Technology Officer", "Purchasing Agent", "Operations Manager",
    "Chief Executive Officer", "Facilities Manager", "Head of Digital", "Finance Controller",
)
COMPETITORS = (
    ("Apex Solutions", "Aggressive pricing; large partner network.",
     "Slow implementations; weak support outside business hours."),
    ("BrightPath Consulting", "Strong references in healthcare and education.",
     "Small team; little capacity for large rollouts."),
    ("Corebyte Systems", "Broad range; bundles hardware, software and services.",
     "Complex contracts; steep renewal prices."),
    ("Datastream Partners", "Deep data and analytics expertise.",
     "Expensive day rates; no hardware offering."),
    ("Everline Technologies", "Fast delivery; local offices in most regions.",
     "Ageing product line; few cloud skills."),
    ("Fortis Digital", "Well-known brand with executive relationships.",
     "Rigid processes; little flexibility on terms."),
    ("Gridwise Networks", "Networking specialists with certified engineers.",
     "Narrow portfolio; no managed services."),
    ("Helio Software", "Modern SaaS products that users like.",
     "Young company; few enterprise references."),
)
# Some competitors win far more often than others, as in real markets.
COMPETITOR_WEIGHTS = (6, 4, 4, 3, 2, 2, 1, 1)
OPENING_NOTES = (
    "Inbound request from the website.", "Referral from an existing customer.",
    "Met at a trade show.", "Follow-up to last year's project.", "Reply to the spring campaign.",
)
WON_NOTES = (
    "Signed after the final presentation.", "Won on references and the delivery plan.",
    "Customer accepted the revised proposal.", "Multi-year agreement signed.",
)
OUT_SOLD_NOTES = (
    "Competitor came in about 15% cheaper.", "Customer kept its existing supplier relationship.",
    "Competitor promised faster delivery.", "Lost on features in the final evaluation.",
)
CANCELED_NOTES = (
    "Budget frozen for this fiscal year.", "Project on hold after a reorganisation.",
    "Customer decided to keep the current solution.", "The decision maker left the company.",
)
PRODUCTS = (
    _Product("{n} laptops", 20, 250, 1_150,
             "Replace ageing laptops before their support contract ends.",
             "Business laptops with a three-year on-site warranty and imaging."),
    _Product("{n} CRM licences", 25, 400, 540,
             "The sales team works from spreadsheets with no shared view of the pipeline.",
             "Annual CRM subscriptions with onboarding workshops."),
    _Product("Cloud migration", 80_000, 450_000, 0,
             "The data centre lease ends next year; workloads must move.",
             "Phased migration of the core workloads onto a designed landing zone."),
    _Product("Annual support renewal", 12_000, 90_000, 0,
             "Keep round-the-clock support on production systems.",
             "Premium support tier with a named engineer."),
    _Product("Data warehouse modernisation", 120_000, 600_000, 0,
             "Reports take days; finance wants daily figures.",
             "Cloud data warehouse with automated pipelines and dashboards."),
    _Product("Network refresh", 30_000, 220_000, 0,
             "Frequent outages at the branch sites.",
             "New switches and Wi-Fi at every site, managed centrally."),
    _Product("Security assessment", 18_000, 75_000, 0,
             "Auditors asked for a penetration test and a risk review.",
             "Two-week assessment with a remediation roadmap."),
    _Product("{n} point-of-sale terminals", 10, 180, 2_300,
             "Checkout queues and an unsupported till system.",
             "Touch terminals with payment integration and a store-by-store rollout."),
    _Product("Managed services contract", 60_000, 380_000, 0,
             "The IT team is stretched and wants monitoring outsourced.",
             "Three-year managed services with a 99.9% availability commitment."),
    _Product("Staff training programme", 8_000, 45_000, 0,
             "New tools were bought but few people use them well.",
             "Role-based training days and e-learning licences."),
    _Product("ERP integration", 90_000, 480_000, 0,
             "Orders are re-keyed between the web shop and the ERP.",
             "Integration platform linking the ERP, the web shop and the warehouse."),
    _Product("{n} IoT sensors", 100, 2_000, 85,
             "No view of equipment health on the shop floor.",
             "Wireless sensors with a monitoring dashboard and alerts."),
)
# fmt: on


# How deals move: per stage of the built-in process (qualify, develop, propose, close).
STAGE_DAYS = ((5, 30), (7, 35), (7, 28), (5, 21))
PROBABILITY = ((10, 20), (25, 40), (45, 65), (70, 90))
FORECAST = (("pipeline",), ("pipeline", "best_case"), ("best_case",), ("committed", "best_case"))
RATING_WEIGHTS = ((3, 4, 2), (2, 4, 3), (1, 4, 4), (1, 3, 5))  # cold, warm, hot
LOSS_CHANCE = (0.08, 0.10, 0.12, 0.28)
STALL_CHANCE = (0.18, 0.14, 0.12, 0.10)
REQUIRED = (
    ("contact_id", "account_id"),
    ("customer_need", "proposed_solution"),
    ("proposal_presented",),
    ("final_decision_date",),
)
CLOSE_STAGE = len(STAGE_DAYS) - 1
MOVE_BACK_CHANCE = 0.08
REOPEN_CHANCE = 0.15
ABANDON_CHANCE = 0.15
OUT_SOLD_CHANCE = 0.65


# The plan: what to create, and each opportunity's life as dated events.
Action = Literal["create", "update", "move", "win", "lose", "reopen"]


@dataclass(frozen=True)
class _Event:
    at: datetime
    action: Action
    data: dict[str, Any]


@dataclass(frozen=True)
class _AccountPlan:
    owner: str
    at: datetime
    short_name: str
    weight: int  # how many opportunities this customer tends to bring
    fields: dict[str, Any]
    contacts: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class _OpportunityPlan:
    owner: str
    account: int
    contact: int  # index among the account's contacts
    events: tuple[_Event, ...]


@dataclass(frozen=True)
class _Plan:
    accounts: tuple[_AccountPlan, ...]
    opportunities: tuple[_OpportunityPlan, ...]

    @property
    def steps(self) -> int:
        contacts = sum(len(account.contacts) for account in self.accounts)
        return (
            len(DEMO_USERS)
            + len(COMPETITORS)
            + len(self.accounts)
            + contacts
            + len(self.opportunities)
            + demo_related.OTHER_LEADS
        )


def _working_moment(rng: random.Random, day: date) -> datetime:
    """A time during office hours on ``day``, or on the Monday after it for a weekend day."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=UTC)


def _slug(name: str) -> str:
    """``"Müller & O'Brien"`` → ``"muller-obrien"``: for e-mail addresses and domains."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower().replace("'", "")).strip("-")


def _plan(rng: random.Random, cutoff: datetime) -> _Plan:
    accounts = tuple(
        _plan_account(rng, word, cutoff) for word in rng.sample(COMPANY_WORDS, ACCOUNT_COUNT)
    )
    opportunities = tuple(
        _plan_opportunity(rng, accounts, cutoff) for _ in range(OPPORTUNITY_COUNT)
    )
    return _Plan(accounts, opportunities)


def _plan_account(rng: random.Random, word: str, cutoff: datetime) -> _AccountPlan:
    industry, suffixes = rng.choice(INDUSTRIES)
    name = f"{word} {rng.choice(suffixes)}"
    domain = f"{_slug(name)}.example"
    city, country = rng.choice(CITIES)
    fields = {
        "name": name,
        "industry": industry,
        "city": city,
        "country": country,
        "website": f"https://www.{domain}",
        "email": f"info@{domain}",
        "phone": _phone(rng),
    }
    days_ago = rng.randint(HISTORY_DAYS + 5, HISTORY_DAYS + 30)
    return _AccountPlan(
        owner=rng.choice(SALESPEOPLE),
        at=_working_moment(rng, cutoff.date() - timedelta(days=days_ago)),
        short_name=word,
        weight=rng.randint(1, 6),
        fields=fields,
        contacts=tuple(_plan_contact(rng, domain) for _ in range(rng.choice((1, 2, 2, 3, 3)))),
    )


def _plan_contact(rng: random.Random, domain: str) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "first_name": first,
        "last_name": last,
        "job_title": rng.choice(JOB_TITLES),
        "email": f"{_slug(first)}.{_slug(last)}@{domain}",
        "phone": _phone(rng),
    }


def _scaled(value: Decimal, factor: float) -> Decimal:
    """``value`` times ``factor``, in whole hundreds (as people quote deal sizes)."""
    return Decimal(round(value * Decimal(factor) / 100) * 100)


def _phone(rng: random.Random) -> str:
    return f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


class _Story:
    """One opportunity's life, written as dated events that all fall before the cutoff."""

    def __init__(
        self, rng: random.Random, product: _Product, start: datetime, cutoff: datetime
    ) -> None:
        self.rng, self.product, self.now, self.cutoff = rng, product, start, cutoff
        self.events: list[_Event] = []
        self.value = Decimal(0)
        self.close_date = start.date()
        self.moved_back = self.reopened = False

    def wait(self, low: int, high: int) -> bool:
        """Move on ``low``..``high`` days; False (and no move) when that passes the cutoff."""
        if high < low:
            return False
        day = self.now.date() + timedelta(days=self.rng.randint(low, high))
        moment = _working_moment(self.rng, day)
        if moment >= self.cutoff:
            return False
        self.now = moment
        return True

    def room(self) -> int:
        """Whole days left between now and the cutoff."""
        return (self.cutoff.date() - self.now.date()).days - 1

    def add(self, action: Action, **data: Any) -> None:
        self.events.append(_Event(self.now, action, data))
        # The next event of the same sitting comes a few minutes later.
        self.now += timedelta(minutes=self.rng.randint(1, 15))


def _plan_opportunity(
    rng: random.Random, accounts: tuple[_AccountPlan, ...], cutoff: datetime
) -> _OpportunityPlan:
    index = rng.choices(range(len(accounts)), weights=[a.weight for a in accounts])[0]
    account = accounts[index]
    start = _working_moment(rng, cutoff.date() - timedelta(days=rng.randint(4, HISTORY_DAYS)))
    story = _Story(rng, rng.choice(PRODUCTS), start, cutoff)
    story.add("create", **_opening(story, account))
    _live(story)
    contact = rng.randrange(len(account.contacts))
    return _OpportunityPlan(account.owner, index, contact, tuple(story.events))


def _opening(story: _Story, account: _AccountPlan) -> dict[str, Any]:
    rng = story.rng
    label, story.value = story.product.draw(rng)
    story.close_date = story.now.date() + timedelta(days=rng.randint(45, 150))
    return {
        "name": f"{label} for {account.short_name}",
        "estimated_value": story.value,
        "estimated_close_date": story.close_date,
        "description": rng.choice(OPENING_NOTES),
        **_header(story, 0),
    }


def _header(story: _Story, stage: int) -> dict[str, Any]:
    """Probability, forecast category and rating that suit a deal at ``stage``."""
    rng = story.rng
    return {
        "probability": rng.randint(*PROBABILITY[stage]),
        "forecast_category": rng.choice(FORECAST[stage]),
        "rating": rng.choices(("cold", "warm", "hot"), weights=RATING_WEIGHTS[stage])[0],
    }


def _live(story: _Story) -> None:
    """Walk the stages until the deal is won, lost or stalls, or the cutoff comes."""
    stage = 0
    while True:
        if not story.wait(*STAGE_DAYS[stage]):
            if story.wait(1, min(story.room(), 10)):
                _stall(story, stage, may_abandon=False)
            return
        roll = story.rng.random()
        if roll < LOSS_CHANCE[stage]:
            if not _lose(story, stage):
                return
        elif roll < LOSS_CHANCE[stage] + STALL_CHANCE[stage]:
            _stall(story, stage, may_abandon=True)
            return
        elif stage == CLOSE_STAGE:
            _win(story)
            return
        else:
            stage = _advance(story, stage)


def _advance(story: _Story, stage: int) -> int:
    """Complete the stage's steps and move to the next stage; returns the stage reached."""
    rng = story.rng
    fields = {**_steps(story, stage, complete=True), **_header(story, stage + 1)}
    if rng.random() < 0.3:
        story.value = _scaled(story.value, rng.uniform(0.85, 1.15))
        fields["estimated_value"] = story.value
    if stage + 1 == CLOSE_STAGE:
        story.close_date = story.now.date() + timedelta(days=rng.randint(7, 30))
        fields["final_decision_date"] = fields["estimated_close_date"] = story.close_date
    story.add("update", **fields)
    story.add("move", kind="next")
    return _maybe_move_back(story, stage + 1)


def _maybe_move_back(story: _Story, stage: int) -> int:
    """Now and then the customer changes the scope and the deal goes back one stage."""
    if stage < 2 or story.moved_back or story.rng.random() >= MOVE_BACK_CHANCE:
        return stage
    if not story.wait(2, 10):
        return stage
    story.moved_back = True
    story.add("move", kind="previous")
    story.add("update", **_header(story, stage - 1))
    return stage - 1


def _qualify_steps(story: _Story) -> dict[str, Any]:
    rng = story.rng
    return {
        "purchase_timeframe": rng.choice(
            ("immediate", "this_quarter", "next_quarter", "this_year", "unknown")
        ),
        "budget_amount": _scaled(story.value, rng.uniform(0.9, 1.3)),
        "purchase_process": rng.choice(("individual", "committee", "committee", "unknown")),
        "decision_maker_identified": True,
    }


def _develop_steps(story: _Story) -> dict[str, Any]:
    return {
        "customer_need": story.product.need,
        "proposed_solution": story.product.solution,
        "stakeholders_identified": True,
        "competitors_identified": True,
    }


def _propose_steps(story: _Story) -> dict[str, Any]:
    del story
    return {
        "sales_team_identified": True,
        "proposal_developed": True,
        "internal_review_completed": True,
        "proposal_presented": True,
    }


def _close_steps(story: _Story) -> dict[str, Any]:
    del story
    return {
        "final_proposal_completed": True,
        "final_proposal_presented": True,
        "thank_you_note_sent": True,
        "debrief_filed": True,
    }


STEP_VALUES: tuple[Callable[[_Story], dict[str, Any]], ...] = (
    _qualify_steps,
    _develop_steps,
    _propose_steps,
    _close_steps,
)


def _steps(story: _Story, stage: int, *, complete: bool) -> dict[str, Any]:
    """Values of the stage's steps: every required one when ``complete``, else about half."""
    share = 0.85 if complete else 0.5
    return {
        key: value
        for key, value in STEP_VALUES[stage](story).items()
        if (complete and key in REQUIRED[stage]) or story.rng.random() < share
    }


def _stall(story: _Story, stage: int, *, may_abandon: bool) -> None:
    """The deal stays open on ``stage`` with part of its steps done; some are abandoned."""
    fields = _steps(story, stage, complete=False)
    if story.close_date < story.cutoff.date() + timedelta(days=7):
        story.close_date = story.cutoff.date() + timedelta(days=story.rng.randint(14, 120))
        fields["estimated_close_date"] = story.close_date
    if fields:
        story.add("update", **fields)
    if may_abandon and story.rng.random() < ABANDON_CHANCE:
        story.add("update", forecast_category="omitted", rating="cold")
        story.add("move", kind="abandon")


def _win(story: _Story) -> None:
    rng = story.rng
    story.add("update", **_steps(story, CLOSE_STAGE, complete=True))
    story.add("move", kind="finish")
    revenue = _scaled(story.value, rng.uniform(0.9, 1.05))
    story.add("win", actual_revenue=revenue, description=rng.choice(WON_NOTES))


def _lose(story: _Story, stage: int) -> bool:
    """Close as lost; True when the deal is reopened later and its story goes on."""
    rng = story.rng
    if rng.random() < OUT_SOLD_CHANCE:
        competitor = rng.choices(range(len(COMPETITORS)), weights=COMPETITOR_WEIGHTS)[0]
        story.add(
            "lose",
            status_reason="out_sold",
            competitor=competitor,
            description=rng.choice(OUT_SOLD_NOTES),
        )
    else:
        story.add("lose", status_reason="canceled", description=rng.choice(CANCELED_NOTES))
    if story.reopened or rng.random() >= REOPEN_CHANCE or not story.wait(14, 45):
        return False
    story.reopened = True
    story.add("reopen")
    story.add("update", **_header(story, stage))
    return True


# Playing the plan through the services.
@dataclass
class _Refs:
    actors: dict[str, Actor] = field(default_factory=dict)
    competitors: list[uuid.UUID] = field(default_factory=list)
    accounts: list[uuid.UUID] = field(default_factory=list)
    contacts: list[list[uuid.UUID]] = field(default_factory=list)
    # The session's identity map holds objects weakly; keeping the users and processes alive
    # lets the services' lookups by primary key answer from memory instead of the database.
    loaded: list[object] = field(default_factory=list)
    # Leads and the records around opportunities draw from their own generator, so the
    # opportunities' plan is the same with or without them.
    extras: random.Random = field(default_factory=random.Random)


class _Ticker:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, label: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(label, self.done, self.total)


def is_empty(session: Session) -> bool:
    """True when the database has no users yet (the only state the demo loads into)."""
    return not UserRepository(session).has_any()


def load_demo(
    session: Session, *, seed: int = 7, progress: Progress | None = None
) -> DemoCredentials:
    """Fill an empty database with a year of demo sales data; the caller commits.

    Creates the users of :data:`DEMO_USERS`, competitors, accounts, contacts and opportunities
    that went through the built-in process over the last twelve months (won, lost, reopened,
    moved back, abandoned or still open). The same ``seed`` gives the same names and values.
    ``progress(label, done, total)`` is called after each record. Raises Conflict when the
    database already has users.
    """
    if not is_empty(session):
        raise Conflict("The database already has users; the demo loads only into an empty one.")
    ensure_builtin_data(session)
    now = utcnow()
    cutoff = datetime.combine(now.date(), time(), tzinfo=UTC)
    plan = _plan(random.Random(seed), cutoff)
    tick = _Ticker(progress, plan.steps)
    refs = _Refs(loaded=[*list_processes(session)], extras=random.Random(seed + 1))
    _create_users(session, refs, cutoff, tick)
    _create_competitors(session, refs, cutoff, tick)
    _create_accounts(session, refs, plan.accounts, tick)
    for opportunity in plan.opportunities:
        _play(session, refs, opportunity)
        tick("Opportunities")
    demo_related.other_leads(
        session,
        owners=[refs.actors[name] for name in SALESPEOPLE],
        companies=[account.fields["name"] for account in plan.accounts],
        people=(FIRST_NAMES, LAST_NAMES),
        cutoff=cutoff,
        rng=refs.extras,
        tick=tick,
    )
    return DemoCredentials(users=DEMO_USERS)


def _create_users(session: Session, refs: _Refs, cutoff: datetime, tick: _Ticker) -> None:
    start = cutoff - timedelta(days=HISTORY_DAYS + 45)
    admin: Actor | None = None
    for number, user in enumerate(DEMO_USERS):
        manager = refs.actors[MANAGER].user_id if user.roles == ("salesperson",) else None
        data = UserCreate(
            username=user.username,
            full_name=user.full_name,
            password=user.password,
            email=f"{user.username}@oppflow.example",
            manager_id=manager,
            roles=list(user.roles),
        )
        with simulated_time(start + timedelta(hours=number)):
            created = security_service.create_user(session, actor=admin, data=data)
        refs.actors[user.username] = security_service.actor_for(created)
        refs.loaded.append(created)
        admin = admin or refs.actors[user.username]
        tick("Users")


def _create_competitors(session: Session, refs: _Refs, cutoff: datetime, tick: _Ticker) -> None:
    start = cutoff - timedelta(days=HISTORY_DAYS + 40)
    for number, (name, strengths, weaknesses) in enumerate(COMPETITORS):
        data = CompetitorCreate(
            name=name,
            website=f"https://www.{_slug(name)}.example",
            strengths=strengths,
            weaknesses=weaknesses,
        )
        with simulated_time(start + timedelta(minutes=10 * number)):
            competitor = sales_service.create_competitor(
                session, actor=refs.actors[MANAGER], data=data
            )
        refs.competitors.append(competitor.id)
        tick("Competitors")


def _create_accounts(
    session: Session, refs: _Refs, accounts: tuple[_AccountPlan, ...], tick: _Ticker
) -> None:
    for plan in accounts:
        actor = refs.actors[plan.owner]
        with simulated_time(plan.at):
            account = sales_service.create_account(
                session, actor=actor, data=AccountCreate(**plan.fields)
            )
        tick("Accounts")
        contacts = []
        for number, fields in enumerate(plan.contacts, start=1):
            data = ContactCreate(**fields, account_id=account.id)
            with simulated_time(plan.at + timedelta(minutes=5 * number)):
                contacts.append(sales_service.create_contact(session, actor=actor, data=data).id)
            tick("Contacts")
        refs.accounts.append(account.id)
        refs.contacts.append(contacts)


def _play(session: Session, refs: _Refs, plan: _OpportunityPlan) -> None:
    """Run one opportunity's events, each at its moment, as its owner."""
    actor = refs.actors[plan.owner]
    opportunity_id: uuid.UUID | None = None
    qualified_lead = False
    for event in plan.events:
        with simulated_time(event.at):
            if opportunity_id is None:
                opportunity_id, qualified_lead = _open(session, refs, plan, event.data, actor)
            elif qualified_lead and event.action == "move" and event.data["kind"] == "next":
                qualified_lead = False  # qualifying the lead has moved it to Develop already
            else:
                _act(session, actor, opportunity_id, event, refs)


def _open(
    session: Session, refs: _Refs, plan: _OpportunityPlan, fields: dict[str, Any], actor: Actor
) -> tuple[uuid.UUID, bool]:
    """Create a planned opportunity, directly or by qualifying a lead (then True), and the
    records around it: stakeholders, sales team, competitors (the one it is lost to, if any)."""
    contacts = refs.contacts[plan.account]
    contact_id = contacts[plan.contact]
    moves = [event.data["kind"] for event in plan.events if event.action == "move"]
    from_lead = demo_related.began_as_a_lead(refs.extras, moves)
    if from_lead:
        opportunity_id = demo_related.qualified_opportunity(
            session,
            actor=actor,
            fields=fields,
            account_id=refs.accounts[plan.account],
            contact_id=contact_id,
            rng=refs.extras,
        )
    else:
        data = OpportunityCreate(
            **fields, account_id=refs.accounts[plan.account], contact_id=contact_id
        )
        opportunity_id = sales_service.create_opportunity(session, actor=actor, data=data).id
    rivals = [
        refs.competitors[event.data["competitor"]]
        for event in plan.events
        if event.action == "lose" and event.data.get("competitor") is not None
    ]
    if refs.extras.random() < 0.4:
        rivals.append(refs.extras.choice(refs.competitors))
    with simulated_time(utcnow() + timedelta(hours=2)):
        demo_related.decorate(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            name=fields["name"],
            contacts=[contact_id, *(c for c in contacts if c != contact_id)],
            competitors=list(dict.fromkeys(rivals)),
            colleagues=[
                a
                for name, a in refs.actors.items()
                if name in (*SALESPEOPLE, MANAGER) and name != plan.owner
            ],
            rng=refs.extras,
        )
    return opportunity_id, from_lead


def _act(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, event: _Event, refs: _Refs
) -> None:
    data = dict(event.data)
    match event.action:
        case "update":
            sales_service.update_opportunity(
                session,
                actor=actor,
                opportunity_id=opportunity_id,
                data=OpportunityUpdate.model_validate(data),
            )
        case "move":
            process_service.move(session, actor=actor, opportunity_id=opportunity_id, **data)
        case "win":
            sales_service.win(
                session,
                actor=actor,
                opportunity_id=opportunity_id,
                data=WinRequest.model_validate(data),
            )
        case "lose":
            competitor = data.pop("competitor", None)
            if competitor is not None:
                data["competitor_id"] = refs.competitors[competitor]
            sales_service.lose(
                session,
                actor=actor,
                opportunity_id=opportunity_id,
                data=LoseRequest.model_validate(data),
            )
        case "reopen":
            sales_service.reopen(session, actor=actor, opportunity_id=opportunity_id)
        case _:
            raise ValueError(f"Unknown demo event {event.action!r}.")
