"""``oppflow product``, ``oppflow price-list`` and ``oppflow quote`` on an SQLite database: thin
commands on the catalogue and quote services; a refusal is one line and exit status 1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, make_engine, session_factory, unit_of_work
from oppflow.install import prepare_database
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityCreate
from oppflow.security import service as security_service
from tests.helpers import create_user

runner = CliRunner()
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    """The CLI's database: a sales manager, maria, and a salesperson, alice."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    prepare_database(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    create_user(factory, "maria", roles=["sales-manager"])
    create_user(factory, "alice")
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", url)
    monkeypatch.setenv("OPPFLOW_USER", "maria")
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    yield factory
    get_engine().dispose()
    engine.dispose()
    for cache in caches:
        cache.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, output, error = run(*args)
    assert code == 0, output + error
    return output


def test_catalogue_lines_and_a_quote_won_from_the_command_line(
    database: sessionmaker[Session],
) -> None:
    group, each = re.findall(UUID, ok("product", "unit-group", "Hardware", "--base-unit", "Each"))
    made = ok(
        "product", "create", "Laptop", "--number", "LAP-1", "--unit-group", group,
        "--default-unit", each, "--list-price", "1000",
    )  # fmt: skip
    (product,) = re.findall(UUID, made)
    (price_list,) = re.findall(UUID, ok("price-list", "create", "Europe", "--currency", "EUR"))
    ok("price-list", "add-item", price_list, product, "--percent-of-list", "90")
    assert json.loads(ok("price-list", "show", price_list))["items"][0]["percentage"] == 90
    with unit_of_work(database) as session:
        actor = security_service.actor_by_username(session, "maria")
        data = OpportunityCreate(
            name="Laptops", currency="EUR", price_list_id=price_list,
            is_revenue_system_calculated=True,
        )  # fmt: skip
        opportunity = str(sales_service.create_opportunity(session, actor=actor, data=data).id)

    line = ok(
        "quote", "add-line", "--opportunity", opportunity, "--product", product, "--quantity", "3"
    )
    assert "2,700.00" in line
    created = ok("quote", "create", opportunity)
    assert "QUO-000001 rev 0" in created
    quote = re.findall(UUID, created)[0]
    ok("quote", "activate", quote)
    revised = ok("quote", "revise", quote)
    assert "QUO-000001 rev 1" in revised
    draft = re.findall(UUID, revised)[0]
    ok("quote", "activate", draft)
    assert "won (won)" in ok("quote", "win", draft)

    shown = json.loads(ok("opportunity", "show", opportunity))["opportunity"]
    assert (shown["state"], Decimal(str(shown["actual_value"]))) == ("won", Decimal("2700"))
    listed = json.loads(ok("quote", "list", "--opportunity", opportunity, "--json"))
    assert sorted(q["status_reason"] for q in listed) == ["revised", "won"]
    assert len(json.loads(ok("quote", "show", draft))["lines"]) == 1

    code, _, error = run("quote", "activate", quote)
    assert code == 1
    assert error.startswith("error:")
    assert len(error.strip().splitlines()) == 1
    code, _, error = run("product", "retire", product, "--as", "alice")
    assert code == 1
    assert "not allow write on product" in error
    assert "active" in ok("product", "list")
