"""The bulk demo generator: N opportunities with three years of realistic history, loaded at
bulk speed, for trying and measuring the product at size (``oppflow demo --opportunities N``).

The few records people log in as or pick from (business units, users, competitors) go through
the services. The rest (accounts, contacts, opportunities, leads, process instances, stage
history, close records, the change log) is told by :mod:`oppflow.demo.stories` and loaded by
:mod:`oppflow.demo.loader`, in chunks of :data:`CHUNK` opportunities, each chunk its own
transaction so memory and the SQLite journal stay bounded whatever N. The maintained totals
are rebuilt from the loaded rows at the end. The same seed and N give the same data set
(relative to the moment it is generated).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import (
    closed_deals,
    phase_moves,
    spans,
    stage_entries,
    stage_stints,
    totals,
)
from oppflow.clock import utcnow
from oppflow.db import unit_of_work
from oppflow.demo.loader import Row, load
from oppflow.demo.pipeline import (
    COMPANY_WORDS,
    COMPETITORS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    DemoCredentials,
    DemoUser,
    is_empty,
)
from oppflow.demo.stories import (
    Cast,
    Customer,
    Owner,
    ProcessPlan,
    Story,
    account_row,
    contact_row,
    creation_moments,
    seeded_id,
    tell,
)
from oppflow.errors import Conflict
from oppflow.kit import collector
from oppflow.models import (
    Account,
    Contact,
    Lead,
    Opportunity,
    OpportunityChange,
    OpportunityClose,
    OpportunitySpan,
    PhaseMove,
    ProcessInstance,
    StageHistory,
    StageStint,
    Stakeholder,
)
from oppflow.process import catalog
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import CompetitorCreate
from oppflow.security import organization
from oppflow.security import service as security_service
from oppflow.security.actor import Actor
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, RoleKey, UserCreate

Progress = Callable[[str, int, int], None]
CHUNK = 5_000
UNITS = ("Northern Europe", "Southern Europe", "North America", "Asia Pacific")
SALESPEOPLE_PER_UNIT = 6
OPPORTUNITIES_PER_ACCOUNT = 20
ADMIN = "admin"
# Names the data sets: bumped whenever the same seed and N give another set, so that a set
# kept by a benchmark is made again (2: time-ordered ids, stories in creation order).
GENERATION = 2


@dataclass(frozen=True)
class Generated:
    """What the generator made: counts, and the log-ins (known demo passwords)."""

    opportunities: int
    changes: int
    credentials: DemoCredentials


def generate(
    factory: sessionmaker[Session],
    *,
    count: int,
    seed: int = 7,
    progress: Progress | None = None,
) -> Generated:
    """Fill an empty database with ``count`` opportunities and their histories.

    Raises Conflict (and changes nothing) when the database already has users. Commits once
    for the people, once per chunk and once for the totals: it is an edge, like a CLI command.
    """
    rng = random.Random(seed)
    with unit_of_work(factory) as session:
        if not is_empty(session):
            raise Conflict("The database already has users; bulk demo data is loaded only once.")
        credentials, cast = _prepare(session, rng, count)
    changes = 0
    moments = creation_moments(rng, cast.now, count)
    for done, size in _chunks(count):
        with collector.paused(), unit_of_work(factory) as session:
            told = [tell(rng, cast, next(moments)) for _ in range(size)]
            changes += load_stories(session, told)
        if progress is not None:
            progress("Opportunities", done, count)
    with unit_of_work(factory) as session:
        totals.rebuild(session)
    return Generated(count, changes, credentials)


def _chunks(count: int) -> Iterator[tuple[int, int]]:
    """(done after this chunk, chunk size) for ``count`` opportunities."""
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        yield start + size, size


def _prepare(session: Session, rng: random.Random, count: int) -> tuple[DemoCredentials, Cast]:
    credentials, owners = _people(session, rng)
    now = utcnow()
    cast = Cast(
        processes=_processes(session),
        owners=owners,
        customers=_customers(session, rng, count, owners, now),
        competitors=_competitors(session),
        now=now,
    )
    return credentials, cast


def _people(session: Session, rng: random.Random) -> tuple[DemoCredentials, tuple[Owner, ...]]:
    """An administrator; per business unit a sales manager and their salespeople (the
    owners of the deals)."""
    users = [_user(session, ADMIN, ("system-administrator",), None, rng)]
    owners: list[Owner] = []
    for number, name in enumerate(UNITS, start=1):
        unit = organization.create_business_unit(
            session, actor=None, data=BusinessUnitCreate(name=name)
        )
        manager = _user(session, f"manager-{number}", ("sales-manager",), unit.id, rng)
        users.append(manager)
        for seat in range(1, SALESPEOPLE_PER_UNIT + 1):
            username = f"sales-{number}-{seat}"
            person = _user(session, username, ("salesperson",), unit.id, rng)
            users.append(person)
            owners.append(Owner(_user_id(session, username), unit.id))
    return DemoCredentials(users=tuple(users)), tuple(owners)


def _user(
    session: Session,
    username: str,
    roles: tuple[RoleKey, ...],
    unit_id: uuid.UUID | None,
    rng: random.Random,
) -> DemoUser:
    full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    password = password_of(username)
    data = UserCreate(
        username=username,
        full_name=full_name,
        password=password,
        business_unit_id=unit_id or BusinessUnitRepository(session).root().id,
        roles=list(roles),
    )
    security_service.create_user(session, actor=None, data=data)
    return DemoUser(username, full_name, password, roles)


def password_of(username: str) -> str:
    """The known password of a generated user (printed by ``oppflow demo``, like the demo's)."""
    return f"oppflow-{username}-1"


def _user_id(session: Session, username: str) -> uuid.UUID:
    return security_service.actor_by_username(session, username).user_id


def _processes(session: Session) -> dict[str, ProcessPlan]:
    plans = {}
    for process in catalog.list_processes(session):
        definition = catalog.current_definition(session, process)
        plans[process.key] = ProcessPlan.of(definition, process.id, process.current_version)
    return plans


def _competitors(session: Session) -> tuple[uuid.UUID, ...]:
    admin = _admin(session)
    made = [
        sales_service.create_competitor(
            session,
            actor=admin,
            data=CompetitorCreate(name=name, strengths=strengths, weaknesses=weaknesses),
        )
        for name, strengths, weaknesses in COMPETITORS
    ]
    return tuple(competitor.id for competitor in made)


def _admin(session: Session) -> Actor:
    return security_service.actor_by_username(session, ADMIN)


def _customers(
    session: Session, rng: random.Random, count: int, owners: tuple[Owner, ...], now: datetime
) -> tuple[Customer, ...]:
    """One account (with one contact) per :data:`OPPORTUNITIES_PER_ACCOUNT` deals, created
    before the history begins, loaded a chunk at a time."""
    customers: list[Customer] = []
    opened = now - timedelta(days=3 * 365 + 60)
    total = max(1, count // OPPORTUNITIES_PER_ACCOUNT)
    for start in range(0, total, CHUNK):
        accounts: list[Row] = []
        contacts: list[Row] = []
        for number in range(start + 1, min(start + CHUNK, total) + 1):
            industry, suffixes = rng.choice(INDUSTRIES)
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(suffixes)} {number}"
            customer = Customer(seeded_id(rng, opened), name, seeded_id(rng, opened))
            owner = rng.choice(owners)
            accounts.append(account_row(customer, industry, owner, opened))
            contacts.append(contact_row(rng, customer, owner, opened))
            customers.append(customer)
        _load(session, Account, accounts)
        _load(session, Contact, contacts)
    return tuple(customers)


def load_stories(session: Session, stories: list[Story]) -> int:
    """Load the rows of ``stories`` in foreign-key order; the number of change-log rows."""
    changes = [c for s in stories for c in s.changes]
    _load(session, Opportunity, stage_entries.stamped([s.opportunity for s in stories], changes))
    _load(session, Lead, [s.lead for s in stories if s.lead is not None])
    _load(session, ProcessInstance, [s.instance for s in stories])
    history = [h for s in stories for h in ([s.lead_history] if s.lead_history else [])]
    _load(session, StageHistory, history + [h for s in stories for h in s.history])
    _load(session, OpportunityChange, changes)
    _load(session, OpportunityClose, [c for s in stories for c in s.closes])
    # As the change log's hook would, around the ORM.
    _load(session, StageStint, stage_stints.rows_of_changes(changes))
    _load(session, PhaseMove, phase_moves.rows_of_changes(changes))
    _load(session, OpportunitySpan, spans.rows_of_changes(changes))
    # Open now or not: a deal closed, then reopened, stood closed for a while.
    closed_deals.refresh(session, closed_deals.closed_by(changes))
    _load(session, Stakeholder, [s.stakeholder for s in stories if s.stakeholder is not None])
    return len(changes)


def _load(session: Session, model: type[object], rows: list[Row]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    load(session, table, rows)
