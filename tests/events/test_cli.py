"""``oppflow webhooks …``: the same service as the API, one line and exit 1 when refused."""

from __future__ import annotations

import json
import re
import uuid

from typer.testing import CliRunner

from oppflow.cli import app
from tests.leads.test_cli import database  # noqa: F401 (the fixture: a migrated SQLite file)

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["webhooks", *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_list_disable_and_delete(database: None) -> None:  # noqa: F811
    code, output, _ = run(
        "create",
        "https://erp.example.com/hooks",
        "--event",
        "opportunity.won",
        "--phase",
        "3-Propose",
    )
    assert code == 0
    secret = re.search(r"whsec_\S+", output)
    assert secret is not None
    found = re.search(r"Subscription ([0-9a-f-]{36})", output)
    assert found is not None
    subscription_id = found.group(1)
    code, output, _ = run("list", "--json")
    listed = json.loads(output)["items"]
    assert [item["id"] for item in listed] == [subscription_id]
    assert listed[0]["pipeline_phases"] == ["3-Propose"]
    assert secret.group(0) not in output
    code, output, _ = run("update", subscription_id, "--disable", "--json")
    assert code == 0
    assert json.loads(output)["enabled"] is False
    code, output, _ = run("deliveries", subscription_id, "--json")
    assert json.loads(output) == {"items": []}
    assert run("delete", subscription_id)[0] == 0
    assert json.loads(run("list", "--json")[1]) == {"items": []}


def test_refusals_are_one_line_and_change_nothing(database: None) -> None:  # noqa: F811
    for args, said in (
        (("create", "http://erp.example.com/hooks"), "https"),
        (("create", "https://10.0.0.1/hooks"), "private"),
        (("create", "https://169.254.169.254/latest"), "private"),
        (("create", "https://erp.example.com/x", "--event", "deal.*"), "events"),
        (("delete", str(uuid.uuid4())), "No such webhook"),
        (("resend", str(uuid.uuid4()), str(uuid.uuid4())), "No such delivery"),
    ):
        code, _, err = run(*args)
        assert code == 1, args
        assert said in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert json.loads(run("list", "--json")[1]) == {"items": []}
