"""``oppflow report …``: the same reports as the API, as the acting user, in three formats."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.db import unit_of_work
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityCreate
from oppflow.security import service as security_service
from tests.leads.test_cli import database  # noqa: F401 (the fixture: alice on SQLite)

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def _two_deals() -> None:
    with unit_of_work() as session:
        alice = security_service.actor_by_username(session, "alice")
        for name, value in (("Chairs", 1200), ("Desks", 800)):
            data = OpportunityCreate(name=name, estimated_value=value, probability=50)
            sales_service.create_opportunity(session, actor=alice, data=data)


def test_each_report_prints_in_every_format(database: None) -> None:  # noqa: F811
    _two_deals()
    for name in ("funnel", "conversion", "flow", "time-in-stage", "stale", "forecast",
                 "waterfall", "win-loss", "calibration"):  # fmt: skip
        code, table, err = run(name)
        assert code == 0, (name, err)
        assert name in table
        assert "as_of:" in table
        code, text, _ = run(name, "--format", "json")
        assert code == 0
        assert "convention" in json.loads(text)
    code, text, _ = run("funnel", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [
        {"pipeline_phase": "1-Qualify", "count": "2", "estimated_value": "2000.00",
         "weighted_value": "1000.00"}
    ]  # fmt: skip


def test_bad_options_are_one_line_and_exit_one(database: None) -> None:  # noqa: F811
    for args, said in (
        (("flow", "--rollup", "single"), "rollup"),
        (("funnel", "--from", "2026-05-01", "--to", "2026-01-01"), "'from' must come before"),
        (("funnel", "--as-of", "2026-02-30"), "not a real date"),
        (("funnel", "--mode", "sideways"), "mode"),
        (("nonsense",), "nonsense"),
    ):
        code, _, err = run(*args)
        assert code != 0, args
        assert said in err, (args, err)
