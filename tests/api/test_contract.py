"""The OpenAPI document is a contract: schemathesis holds the application to it.

Every operation under ``/api/v1`` is fed requests generated from the document (its examples,
the coverage phase's boundary and invalid values, and Hypothesis fuzzing, positive and
negative), as a system administrator with a bearer token, on a database holding a record of
every kind. Generated record ids are swapped, half of the time, for those of real records, so
that requests reach the services rather than stop at 404. Every schemathesis check runs: no 5xx,
no answer outside its declared statuses, content types, headers and schema, no invalid request
accepted and no valid request refused, except for the rules below.

Refusals of a schema-valid request that remain: rules the document cannot express, because they
depend on the stored records or on content a JSON schema cannot describe (``RULES``):

- 412: ``If-Match`` names a version other than the record's current one, or no version at all.
- 422 with ``field``: a record the request names (owner, account, contact, user, manager,
  team member, competitor, role) does not exist, cannot be read, or is disabled; with ``stage``
  or ``process``: the stage or process named is not in the definitions. (A business unit or a
  process key that names nothing is a declared 404.)
- 422 on ``cursor``: a page cursor must be one the API gave out.
- 422 on an e-mail address on a special-use domain (RFC 6761: ``.test``, ``.invalid``…).
- 422 on a password of letters only or digits only (Unicode classes a pattern would not match
  alike in every regular expression engine).
- 422 on ``POST /processes`` and ``/processes/validate``: the YAML text must be a valid process.
- 415 and 422 on uploads: the file's name, size and bytes are checked against its type.
- 422 on an export's filters and names: the table must have the field (``state``,
  ``owner_id``, ``filter=field=value``) and the value must be of the field's type; Dataverse
  names exist only for the Dataverse face's tables.

Also accepted: ``Allow`` on ``/processes/validate`` names GET and PATCH, which
``/processes/{key}`` serves there (with ``validate`` as the key); schemathesis expects POST only.

Operations left out, because they would end the run's session: ``POST /auth/revoke`` (it revokes
the token the run authenticates with; ``tests/api/test_auth.py`` covers it). Operations that
delete get spare records (a second token of the caller's for ``DELETE /auth/tokens/{id}``), and
``PATCH /users/{id}`` another user than the caller.

Bounded: five fuzzed examples per operation beside the examples and coverage phases, Hypothesis
derandomized and schemathesis seeded, so a run is reproducible. The stateful phase does not run:
the document declares no links between operations. Each operation is a pytest item of its
own, so ``pytest -n auto`` spreads them. Each case goes first to the world on SQLite or to the
one on PostgreSQL, chosen by a stable hash of the case; unless that world refuses it with a 4xx,
it goes to the other too. So every case that reaches the stored records (an answer, or a crash
such as a value one database stores and the other refuses) is checked on both databases, and
the many refusals of the coverage phase (most of its 8,500 cases) once. The bad-input sweep
sends each of its bad requests to both.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.core.transport import Response
from schemathesis.openapi.checks import AllowHeaderMismatch, RejectedPositiveData
from schemathesis.python import asgi
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.app import create_app
from tests.client import AppClient
from tests.conftest import POSTGRES_UP, empty_database, with_builtin_data
from tests.helpers import PASSWORD, create, create_lead, create_user, signed_in

BUILTIN_PROCESS = "opportunity-sales-process"
TEXT_FILE = ("notes.txt", b"Call back on Monday.\n", "text/plain")


@dataclass
class World:
    """The records of the run, by kind; ``spare`` ones are for the operations that delete."""

    token: str
    ids: dict[str, str] = field(default_factory=dict)
    database: str = ""
    app: Any = None
    session: asgi.ASGIClient | None = None
    spare: dict[str, str] = field(default_factory=dict)


def _upload(client: TestClient, headers: dict[str, str], opportunity_id: str) -> str:
    path = f"/api/v1/opportunities/{opportunity_id}/files"
    answer = client.post(path, files={"file": TEXT_FILE}, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _records(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> None:
    """An account, a contact, a competitor and an opportunity linking them."""
    ids["account"] = create(client, headers, "accounts", name="Contoso")["id"]
    ids["contact"] = create(
        client, headers, "contacts", last_name="Doe", account_id=ids["account"]
    )["id"]
    ids["competitor"] = create(client, headers, "competitors", name="Fabrikam")["id"]
    ids["opportunity"] = create(
        client,
        headers,
        "opportunities",
        name="50 laptops",
        account_id=ids["account"],
        contact_id=ids["contact"],
        estimated_value=48000,
    )["id"]
    ids["lead"] = create_lead(client, headers, company_name="Northwind")["id"]


def _around(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> None:
    """What hangs off the opportunity and the lead: team, competitor, notes, file, share."""
    opportunity = f"/api/v1/opportunities/{ids['opportunity']}"
    for path, body in (
        ("sales-team", {"user_id": ids["member"]}),
        ("competitors", {"competitor_id": ids["competitor"]}),
    ):
        assert client.post(f"{opportunity}/{path}", json=body, headers=headers).status_code == 201
    ids["note"] = create(client, headers, f"opportunities/{ids['opportunity']}/notes", text="Hi")[
        "id"
    ]
    ids["lead_note"] = create(client, headers, f"leads/{ids['lead']}/notes", text="Hello")["id"]
    ids["file"] = _upload(client, headers, ids["opportunity"])
    share = {"principal_type": "user", "principal_id": ids["member"], "actions": ["read"]}
    shares = create(client, headers, f"accounts/{ids['account']}/shares", **share)["items"]
    ids["share"] = shares[0]["id"]


def _organisation(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> None:
    ids["unit"] = create(client, headers, "business-units", name="West")["id"]
    ids["team"] = create(client, headers, "teams", name="Key accounts", member_ids=[ids["member"]])[
        "id"
    ]
    ids["role"] = create(client, headers, "roles", key="auditor", name="Auditor")["key"]
    ids["process"] = BUILTIN_PROCESS


def _catalogue(client: TestClient, headers: dict[str, str], world: World) -> None:
    """A unit group, a product on a price list, lines on the opportunity, a draft quote; and a
    spare item and spare lines for the operations that delete."""
    ids, spare = world.ids, world.spare
    group = create(client, headers, "unit-groups", name="Hardware")["id"]
    ids["uom"] = client.get("/api/v1/units", headers=headers).json()["items"][0]["id"]
    body = {"unit_group_id": group, "default_unit_id": ids["uom"], "list_price": 10}
    ids["product"] = create(client, headers, "products", name="Dock", product_number="D1", **body)[
        "id"
    ]
    ids["price_list"] = create(client, headers, "price-lists", name="US", currency="USD")["id"]
    items = f"price-lists/{ids['price_list']}/items"
    ids["price_list_item"] = create(client, headers, items, product_id=ids["product"], amount=9)[
        "id"
    ]
    body = {"product_id": ids["product"], "pricing_method": "percent_of_list", "percentage": 90}
    spare["price_list_item"] = create(
        client, headers, items, **body, unit_id=_box(client, headers, group)
    )["id"]
    opportunity = f"opportunities/{ids['opportunity']}"
    patch = {"price_list_id": ids["price_list"]}
    assert client.patch(f"/api/v1/{opportunity}", json=patch, headers=headers).status_code == 200
    line = {"product_id": ids["product"], "quantity": 2}
    for store in (ids, spare):
        store["opportunity_line"] = create(client, headers, f"{opportunity}/lines", **line)["id"]
    ids["quote"] = create(client, headers, f"{opportunity}/quotes")["id"]
    quote_lines = client.get(f"/api/v1/quotes/{ids['quote']}/lines", headers=headers).json()
    ids["quote_line"], spare["quote_line"] = (row["id"] for row in quote_lines["items"])


def _box(client: TestClient, headers: dict[str, str], group: str) -> str:
    return str(create(client, headers, "units", group_id=group, name="Box", quantity=10)["id"])


def _spares(client: TestClient, headers: dict[str, str], world: World) -> None:
    """One more of each thing an operation deletes, so that deleting spares the others."""
    spare = world.spare
    spare["account"] = create(client, headers, "accounts", name="Spare")["id"]
    spare["contact"] = create(client, headers, "contacts", last_name="Spare")["id"]
    spare["competitor"] = create(client, headers, "competitors", name="Spare")["id"]
    spare["opportunity"] = create(client, headers, "opportunities", name="Spare")["id"]
    spare["lead"] = create_lead(client, headers, topic="Spare")["id"]
    opportunity, lead = world.ids["opportunity"], world.ids["lead"]
    spare["note"] = create(client, headers, f"opportunities/{opportunity}/notes", text="x")["id"]
    spare["lead_note"] = create(client, headers, f"leads/{lead}/notes", text="x")["id"]
    spare["file"] = _upload(client, headers, opportunity)
    # A second token of the caller's: revoking it leaves the run's own.
    second = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert second.status_code == 200
    tokens = client.get("/api/v1/auth/tokens", headers=headers).json()["items"]
    spare["token"] = str(max(tokens, key=lambda token: str(token["created_at"]))["id"])


def build_world(client: TestClient, factory: sessionmaker[Session]) -> World:
    headers = signed_in(client, factory, "admin", roles=["system-administrator"])
    world = World(token=headers["Authorization"].removeprefix("Bearer "))
    world.ids["victim"] = create_user(factory, "victor")
    world.ids["member"] = create_user(factory, "mia")
    _records(client, headers, world.ids)
    _around(client, headers, world.ids)
    _organisation(client, headers, world.ids)
    _spares(client, headers, world)
    _catalogue(client, headers, world)
    return world


# Which record a path parameter names, by parameter; a few depend on the path too.
KINDS = {
    "contact_id": "contact",
    "competitor_id": "competitor",
    "file_id": "file",
    "unit_id": "unit",
    "team_id": "team",
    "token_id": "token",
    "share_id": "share",
    "uom_id": "uom",
    "product_id": "product",
    "price_list_id": "price_list",
    "item_id": "price_list_item",
    "quote_id": "quote",
}
TABLES = {
    "accounts": "account",
    "contacts": "contact",
    "competitors": "competitor",
    "opportunities": "opportunity",
    "leads": "lead",
}


def _kind(path: str, parameter: str) -> str | None:
    collection = path.split("/")[3]
    if parameter in ("record_id", "opportunity_id", "lead_id"):
        return TABLES.get(collection)
    if parameter == "user_id":
        return "victim" if collection == "users" else "member"
    if parameter == "note_id":
        return "lead_note" if collection == "leads" else "note"
    if parameter == "key":
        return "role" if collection == "roles" else "process"
    if parameter == "line_id":
        return "quote_line" if collection == "quotes" else "opportunity_line"
    return KINDS.get(parameter)


def _well_formed(parameter: str, value: Any) -> bool:
    """Whether the generated value is valid, so that a real id in its place stays valid:
    a case meant to be invalid must stay invalid."""
    if parameter == "key":
        return isinstance(value, str)
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def real_ids(world: World, method: str, path: str, generated: dict[str, Any]) -> dict[str, str]:
    """Ids of real records for the path parameters; an operation that deletes gets a spare
    record for its last one."""
    names = re.findall(r"{(\w+)}", path)
    found: dict[str, str] = {}
    for name in names:
        kind = _kind(path, name)
        if kind is None or not _well_formed(name, generated.get(name)):
            continue
        spare = method.upper() == "DELETE" and name == names[-1]
        chosen = (world.spare if spare else world.ids).get(kind)
        if chosen is not None:
            found[name] = chosen
    return found


def aim_at_real_records(case: Case, world: World) -> None:
    """Half of the generated ids become those of real records, chosen by a bit of the
    generated value, so that a run is reproducible."""
    generated = case.path_parameters or {}
    real = real_ids(world, case.method, case.operation.path, generated)
    for name, record_id in real.items():
        if zlib.crc32(str(generated[name]).encode()) % 2:
            generated[name] = record_id


class Current:
    """The application of the database being tested. The schema is loaded once, when the
    module is imported, so that its operations are pytest items of their own; the requests that
    the checks send of their own go to the application of the world being checked."""

    app: Any = create_app(sessionmaker())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


CURRENT = Current()
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 8,
        "checks": {
            # 412 is a refusal too: If-Match is checked before the body is read.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 409, 412, 415, 422, 429]
            },
        },
    }
)
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", CURRENT, config=CONFIG)
    .include(path_regex=r"^/api/v1/")
    .exclude(method="POST", path="/api/v1/auth/revoke")
)


@pytest.fixture(scope="module")
def worlds(request: pytest.FixtureRequest) -> Iterator[list[World]]:
    """A world on each database, built once per module (the cases share them out)."""
    kinds = ["sqlite", "postgresql"] if POSTGRES_UP else ["sqlite"]
    with ExitStack() as stack:
        made = []
        for kind in kinds:
            engine = stack.enter_context(empty_database(request, kind))
            factory = with_builtin_data(engine)
            client = stack.enter_context(AppClient(create_app(factory)))
            world = build_world(client, factory)
            world.database, world.app = kind, client.app
            # One client for the run: schemathesis would otherwise make a requests session
            # per call and read the environment's proxies each time.
            world.session = stack.enter_context(asgi.get_client(client.app))
            world.session.trust_env = False
            made.append(world)
        yield made


Rule = Callable[[Case, dict[str, Any]], bool]


def _stale_version(case: Case, body: dict[str, Any]) -> bool:
    """412: If-Match names another version than the current one, or none at all."""
    return body.get("status") == 412


def _unknown_reference(case: Case, body: dict[str, Any]) -> bool:
    """422 with ``field``, ``stage`` or ``process``: a record, or a stage or process of a
    definition, that the request names does not exist or cannot be used."""
    return body.get("status") == 422 and bool({"field", "stage", "process"} & body.keys())


def _foreign_cursor(case: Case, body: dict[str, Any]) -> bool:
    """422: a page cursor must be one the API gave out."""
    return body.get("detail") == "The cursor is not one this API gave out."


def _special_use_email(case: Case, body: dict[str, Any]) -> bool:
    """422: an e-mail address on a special-use domain (RFC 6761: ``.test``, ``.invalid``…)."""
    errors = body.get("errors") or []
    return any("special-use or reserved" in str(error.get("msg")) for error in errors)


def _password_letters(case: Case, body: dict[str, Any]) -> bool:
    """422: a password needs letters and at least one digit or symbol."""
    return body.get("detail") == "A password needs letters and at least one digit or symbol."


def _process_definition(case: Case, body: dict[str, Any]) -> bool:
    """422: the YAML text of a process must be a valid definition."""
    imports = case.method.upper() == "POST" and case.operation.path.startswith("/api/v1/processes")
    return imports and body.get("status") == 422


def _file_content(case: Case, body: dict[str, Any]) -> bool:
    """415 and 422: a file's name, size and bytes are checked against its type."""
    return case.operation.path.endswith("/files") and body.get("status") in (415, 422)


def _report_instants(case: Case, body: dict[str, Any]) -> bool:
    """422: a report's instants must be real (no 30 February) and in order (``from`` before
    ``to``, at most 30 years apart; ``start`` not after ``as_of``), in a time zone that exists."""
    reasons = (
        "not a real date",
        "must come before",
        "at most 30 years",
        "must not come after",
        "not a time zone",
    )
    said = str(body.get("detail")) + " ".join(str(e.get("msg")) for e in body.get("errors") or [])
    report = case.operation.path.startswith("/api/v1/analytics/")
    return report and body.get("status") == 422 and any(reason in said for reason in reasons)


def _export_filter(case: Case, body: dict[str, Any]) -> bool:
    """422: an export's filter names a field of the table, with a value of its type; Dataverse
    names exist for the Dataverse face's tables only."""
    exports = case.operation.path == "/api/v1/exports/{table}"
    errors = body.get("errors") or []
    where = {"filter", "state", "owner_id", "names"}
    return exports and any(set(error.get("loc") or []) & where for error in errors)


def _no_mail_server(case: Case, response: Response) -> bool:
    """503: sending a quote needs an e-mail server (OPPFLOW_SMTP_URL), and the contract's
    world has none; tests/quotes/test_sending.py sends to a real one."""
    sending = case.operation.path == "/api/v1/quotes/{quote_id}/send"
    return sending and response.status_code == 503


RULES: tuple[Rule, ...] = (
    _stale_version,
    _unknown_reference,
    _foreign_cursor,
    _special_use_email,
    _password_letters,
    _process_definition,
    _file_content,
    _report_instants,
    _export_filter,
)


def documented(failure: Exception, case: Case, response: Response) -> bool:
    """A refusal of a schema-valid request that one of ``RULES`` explains, or the methods of
    ``/processes/validate``, which ``/processes/{key}`` serves too (GET and PATCH, with
    ``validate`` as the key): its Allow header names them, and schemathesis expects POST only."""
    if isinstance(failure, AllowHeaderMismatch):
        return case.operation.path == "/api/v1/processes/validate"
    if isinstance(failure, ServerError):
        return _no_mail_server(case, response)
    if not isinstance(failure, RejectedPositiveData):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and any(rule(case, body) for rule in RULES)


@schema.parametrize()
@hypothesis.settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_keeps_the_contract(case: Case, worlds: list[World]) -> None:
    generated = dict(case.path_parameters or {})
    first = database_of(case) % len(worlds)
    for world in worlds[first:] + worlds[:first]:
        if case.path_parameters is not None:
            case.path_parameters = dict(generated)
        if 400 <= keeps_the_contract(case, world) < 500:
            return  # refused by the rules, which are the same on both databases


def database_of(case: Case) -> int:
    """The case's world, by a hash of what the case sends (stable from run to run)."""
    body = None if isinstance(case.body, NotSet) else case.body  # its repr holds an address
    sent = (case.method, case.path, case.path_parameters, case.query, case.headers, body)
    return zlib.crc32(repr(sent).encode())


def keeps_the_contract(case: Case, world: World) -> int:
    """Send ``case`` to ``world`` and check the answer against the document; its status."""
    headers = {"Authorization": f"Bearer {world.token}"}
    aim_at_real_records(case, world)
    CURRENT.app = world.app  # for the checks that send requests of their own
    response = case.call(session=world.session, headers=headers)
    try:
        case.validate_response(response, headers=headers)
    except FailureGroup as group:
        remaining = [f for f in group.exceptions if not documented(f, case, response)]
        if remaining:
            raise FailureGroup(remaining, f"on {world.database}: {group.message}") from None
    return int(response.status_code)
