"""Opportunity lines and quotes at their largest (500 lines), through the services, on SQLite and
PostgreSQL: the median time of each operation in its own unit of work, beside a plain field
change of an opportunity measured in the same run (the ratio column). Prints numbers; asserts
nothing.

A line change reprices the line and, for a system-calculated opportunity, sums every line
again; a quote copies every line. This shows what that costs as an opportunity grows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from common import USERNAME, console, migrate_and_seed, postgres_url
from oppflow.catalog import service as catalog
from oppflow.catalog.repository import UnitRepository
from oppflow.catalog.schemas import (
    PriceListCreate,
    PriceListItemCreate,
    ProductCreate,
    UnitGroupCreate,
)
from oppflow.db import unit_of_work
from oppflow.models import Unit
from oppflow.quotes import opportunity_lines
from oppflow.quotes import service as quotes
from oppflow.quotes.schemas import MAX_LINES, LineCreate, LinesReplace, QuoteCreate
from oppflow.sales import service as sales
from oppflow.sales.schemas import OpportunityCreate, OpportunityUpdate
from oppflow.security import service as security_service
from oppflow.security.actor import Actor

SCHEMA = "oppflow_bench_quotes"
Work = Callable[[Session, Actor], object]


def _actor(session: Session) -> Actor:
    return security_service.actor_by_username(session, USERNAME)


def _catalogue(factory: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID]:
    """A product priced at 12.34 € with a quantity break; (product id, price list id)."""
    with unit_of_work(factory) as session:
        actor = _actor(session)
        group = catalog.create_unit_group(session, actor=actor, data=UnitGroupCreate(name="Units"))
        units, _ = UnitRepository(session, actor).page(
            [Unit.group_id == group.id], limit=1, cursor=None
        )
        data = ProductCreate(
            name="Widget", product_number="W-1", unit_group_id=group.id, default_unit_id=units[0].id
        )
        product = catalog.create_product(session, actor=actor, data=data)
        price_list = catalog.create_price_list(
            session, actor=actor, data=PriceListCreate(name="Euros", currency="EUR")
        )
        item = PriceListItemCreate.model_validate(
            {
                "product_id": product.id,
                "amount": "12.34",
                "volume_discounts": [{"from_quantity": 10, "percentage": 5}],
            }
        )
        catalog.add_price_list_item(session, actor=actor, price_list_id=price_list.id, data=item)
        return product.id, price_list.id


def _opportunity(
    factory: sessionmaker[Session], price_list: uuid.UUID, lines: list[LineCreate]
) -> uuid.UUID:
    with unit_of_work(factory) as session:
        actor = _actor(session)
        data = OpportunityCreate(
            name="Bench",
            currency="EUR",
            price_list_id=price_list,
            is_revenue_system_calculated=True,
        )
        opportunity = sales.create_opportunity(session, actor=actor, data=data)
        if lines:
            replace = LinesReplace(lines=lines)
            opportunity_lines.replace_lines(
                session, actor=actor, opportunity_id=opportunity.id, data=replace
            )
        return opportunity.id


def _median_ms(factory: sessionmaker[Session], work: Work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with unit_of_work(factory) as session:
            actor = _actor(session)
            started = time.perf_counter()
            work(session, actor)
            session.flush()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(factory: sessionmaker[Session], repeat: int) -> list[tuple[str, float]]:
    product, price_list = _catalogue(factory)
    line = LineCreate(product_id=product, quantity=Decimal(12), tax=Decimal("1.5"))
    full = [line] * MAX_LINES
    plain = _opportunity(factory, price_list, [])
    grown = {n: _opportunity(factory, price_list, [line] * n) for n in (0, 100, MAX_LINES - repeat)}
    big = _opportunity(factory, price_list, full)

    def patch(session: Session, actor: Actor) -> object:
        data = OpportunityUpdate(probability=int(time.perf_counter() * 1000) % 100)
        return sales.update_opportunity(session, actor=actor, opportunity_id=plain, data=data)

    def add_to(opportunity: uuid.UUID) -> Work:
        return lambda s, a: opportunity_lines.add_line(
            s, actor=a, opportunity_id=opportunity, data=line
        )

    def replace_with(grid: list[LineCreate]) -> Work:
        data = LinesReplace(lines=grid)
        return lambda s, a: opportunity_lines.replace_lines(
            s, actor=a, opportunity_id=big, data=data
        )

    other = [line.model_copy(update={"quantity": Decimal(13)})] * MAX_LINES

    def quote(session: Session, actor: Actor) -> object:
        return quotes.create_from_opportunity(
            session, actor=actor, opportunity_id=big, data=QuoteCreate()
        )

    rows = [("PATCH a field of the opportunity (baseline)", _median_ms(factory, patch, repeat))]
    for count, opportunity in grown.items():
        label = f"add a line to an opportunity of {count} lines"
        rows.append((label, _median_ms(factory, add_to(opportunity), repeat)))
    # Alternately 13 and 12 of each: every line changes on every run.
    changing = [other, full] * repeat
    rows.append(
        (
            f"save a grid of {MAX_LINES} lines, every line changed",
            _median_ms(factory, lambda s, a: replace_with(changing.pop())(s, a), repeat),
        )
    )
    unchanged = f"save a grid of {MAX_LINES} lines, unchanged"
    rows.append((unchanged, _median_ms(factory, replace_with(full), repeat)))
    rows.append(
        (f"quote from an opportunity of {MAX_LINES} lines", _median_ms(factory, quote, repeat))
    )
    return rows


def report(database: str, rows: list[tuple[str, float]]) -> None:
    baseline = rows[0][1]
    table = Table("operation", "median ms", "× baseline", title=f"Lines and quotes on {database}")
    for label, ms in rows:
        table.add_row(label, f"{ms:.2f}", f"{ms / baseline:.1f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="Runs of each operation.")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            seeded = migrate_and_seed(f"sqlite:///{Path(directory) / 'bench.db'}", 4)
            report("SQLite", measure(seeded[1], args.repeat))
            seeded[1].kw["bind"].dispose()
    url = postgres_url(SCHEMA) if args.database in ("postgresql", "both") else None
    if url is not None:
        _, factory = migrate_and_seed(url, 4)
        report("PostgreSQL", measure(factory, args.repeat))
        factory.kw["bind"].dispose()


if __name__ == "__main__":
    main()
