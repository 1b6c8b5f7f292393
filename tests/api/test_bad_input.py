"""Every endpoint of the OpenAPI document, fed bad input, answers a 4xx problem and changes nothing.

The endpoints come from ``create_app(...).openapi()``, so an endpoint added later is swept too. For
each one the bad requests are derived from its OpenAPI description: the body schema (wrong JSON
types, unknown enum values, oversized strings, out-of-range numbers, nulls where none is allowed,
unknown fields), malformed and non-JSON bodies, unknown and malformed ids in the path, bad query
parameters, bad ``If-Match`` values and bad tokens; plus refusals that need the records' state
(an unknown stage or process, a move the process does not allow, a closed opportunity, a record
still referenced). Every answer must be a 4xx ``application/problem+json`` with ``type``,
``title``, ``status`` and ``detail``, and the database must be exactly as before the request.

The caller is a system administrator, so permissions never mask a validation error, and the
records of the world exist (one of every collection the API can create), so ids in the path reach
the body validation and the services. Since no bad request may change anything, the module shares
one database of each kind, and one world, across its tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.app import create_app
from oppflow.models import Base
from tests.client import AppClient
from tests.helpers import create, create_opportunity, openapi, signed_in

Json = Any
Schema = dict[str, Any]

OPENAPI: dict[str, Any] = openapi()
METHODS = ("get", "post", "put", "patch", "delete")
HUGE = "x" * 100_001
PROBLEM_FIELDS = ("type", "title", "status", "detail")
BUILTIN_PROCESS = "opportunity-sales-process"
LEAD_PROCESS = "lead-to-opportunity-sales-process"

ENDPOINTS = [
    pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
    for path, operations in OPENAPI["paths"].items()
    for method in operations
    if method in METHODS
]


# --- The database snapshot -----------------------------------------------------------------------

ROW_CHECKSUM = (
    "SELECT '{0}', count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') "
    'FROM "{0}" r'
)


def db_snapshot(
    factory: sessionmaker[Session], tables: Collection[str] | None = None
) -> dict[str, tuple[int, str]]:
    """Every table of the schema (or those named) → (row count, checksum of its rows as text).

    The checksum covers every column, so it changes with any row's ``version`` or
    ``modified_at`` as well as with any other value. Each database computes it in one round
    trip: PostgreSQL the ``md5`` of the rows as text, SQLite their ``quote``d columns joined
    (hashed here), so a sweep of thousands of requests is not spent reading rows in Python.
    """
    chosen = [t for t in Base.metadata.sorted_tables if tables is None or t.name in tables]
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            query = " UNION ALL ".join(ROW_CHECKSUM.format(table.name) for table in chosen)
            return {name: (count, digest) for name, count, digest in session.execute(text(query))}
        query = " UNION ALL ".join(_sqlite_rows_as_text(table) for table in chosen)
        return {
            name: (count, hashlib.sha256(rows.encode()).hexdigest())
            for name, count, rows in session.execute(text(query))
        }


def _sqlite_rows_as_text(table: Table) -> str:
    row = " || ',' || ".join(f'quote("{column.name}")' for column in table.columns)
    return (
        f"SELECT * FROM (SELECT '{table.name}', count(*), coalesce(group_concat(r, '|'), '')"
        f' FROM (SELECT {row} AS r FROM "{table.name}" ORDER BY r))'
    )


def snapshot_changes(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    """The tables whose rows differ, with their row counts before → after."""
    return [
        f"{name} ({before.get(name, (0, ''))[0]} → {after.get(name, (0, ''))[0]} rows)"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


# A snapshot reads every row of every table: after each of the sweep's 8,000 requests, 70 of
# its 120 s. So a request is followed by one only when something was committed since the last.
COUNT_WRITES = """
CREATE TABLE bad_input_writes (n bigint NOT NULL);
INSERT INTO bad_input_writes VALUES (0);
CREATE FUNCTION bad_input_count_write() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN UPDATE bad_input_writes SET n = n + 1; RETURN NULL; END $$;
"""
COUNT_WRITES_TO = (
    'CREATE TRIGGER bad_input_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{0}"'
    " FOR EACH STATEMENT EXECUTE FUNCTION bad_input_count_write()"
)
STOP_COUNTING = "DROP FUNCTION bad_input_count_write() CASCADE; DROP TABLE bad_input_writes"


@contextmanager
def commits_seen(engine: Engine) -> Iterator[Callable[[], int]]:
    """A number that changes whenever a write is committed to ``engine``'s database, and
    only then (a write rolled back leaves it be): SQLite's ``data_version`` as a connection of
    its own sees it; on PostgreSQL, a count kept by a trigger on every table, in the writing
    transaction. The triggers go with the context."""
    watch = _sqlite_commits if engine.dialect.name == "sqlite" else _postgres_commits
    with watch(engine) as commits:
        yield commits


@contextmanager
def _sqlite_commits(engine: Engine) -> Iterator[Callable[[], int]]:
    with closing(sqlite3.connect(str(engine.url.database))) as watcher:
        yield lambda: int(watcher.execute("PRAGMA data_version").fetchone()[0])


@contextmanager
def _postgres_commits(engine: Engine) -> Iterator[Callable[[], int]]:
    with engine.begin() as connection:
        connection.exec_driver_sql(COUNT_WRITES)
        for table in Base.metadata.sorted_tables:
            connection.exec_driver_sql(COUNT_WRITES_TO.format(table.name))
    try:
        with engine.connect() as watcher:

            def count() -> int:
                seen = watcher.exec_driver_sql("SELECT n FROM bad_input_writes").scalar_one()
                watcher.rollback()  # the next look sees the writes committed after this one
                return int(seen)

            yield count
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(STOP_COUNTING)


def problem_issues(answer: Response) -> list[str]:
    """What keeps an answer from being an RFC 9457 problem matching its status code."""
    content_type = answer.headers.get("content-type", "")
    if not content_type.startswith("application/problem+json"):
        return [f"content-type {content_type!r}, body {answer.text[:200]!r}"]
    try:
        body = answer.json()
    except ValueError:
        return [f"problem body is not JSON: {answer.text[:200]!r}"]
    if not isinstance(body, dict):
        return [f"problem body is not an object: {body!r:.200}"]
    issues = [f"problem without {name!r}" for name in PROBLEM_FIELDS if name not in body]
    if body.get("status") != answer.status_code:
        issues.append(f"problem status {body.get('status')!r} ≠ {answer.status_code}")
    return issues


# --- One database of each kind, and the world the bad requests are aimed at ----------------------


@dataclass
class World:
    """A system administrator, records of every kind, and an open and a closed opportunity.

    ``ids`` maps a collection (``accounts``…) to one of its records; records of the other
    collections the API can create are created on first use, from their schema.
    """

    client: TestClient
    factory: sessionmaker[Session]
    commits: Callable[[], int]
    headers: dict[str, str]
    ids: dict[str, str]
    existing: set[str] = field(default_factory=set)

    def record_id(self, collection: str) -> str:
        """An existing record of ``collection``, created when needed; else a random id."""
        if collection not in self.ids:
            self.ids[collection] = self._create(collection) or str(uuid.uuid4())
        return self.ids[collection]

    def _create(self, collection: str) -> str | None:
        operation = OPENAPI["paths"].get(f"/api/v1/{collection}", {}).get("post")
        content = (operation or {}).get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return None
        body = valid_body(self, resolve(content["application/json"]["schema"]))
        answer = self.client.post(f"/api/v1/{collection}", json=body, headers=self.headers)
        if answer.status_code != 201:
            return None
        record = answer.json()
        made = record.get("id") or record.get("key")
        if made:
            self.existing.add(str(made))
        return str(made) if made else None

    def path_value(self, path: str, param: str) -> str:
        """An existing record for ``{param}`` of ``path`` (a random id when there is none)."""
        collection = path.removeprefix("/api/v1/").split("/")[0]
        if path.startswith(f"/api/v1/{collection}/{{{param}}}"):
            return self.record_id(collection)
        # A nested id (…/{id}/stakeholders/{contact_id}): a record of that name, if any.
        return self.field_value(param) if param in self.ID_FIELDS else str(uuid.uuid4())

    ID_FIELDS = ("account_id", "contact_id", "competitor_id", "opportunity_id", "user_id")

    def field_value(self, name: str) -> str:
        """An existing id for a body field named ``name`` (``account_id``, ``owner_id``…)."""
        if name == "business_unit_id":
            return self.ids["business_unit"]
        collection = name.removesuffix("_id") + "s"
        if collection in ("accounts", "contacts", "competitors", "opportunities", "leads"):
            return self.record_id(collection)
        return self.ids["users"]  # owner_id, user_id, manager_id, principal_id…


@pytest.fixture(scope="module")
def world(module_engine: Engine, module_factory: sessionmaker[Session]) -> Iterator[World]:
    """One database of each kind for the module: bad requests leave it as it was."""
    factory = module_factory
    # raise_server_exceptions=False: a 500 is an answer the sweep reports, not a crash of the test.
    with (
        AppClient(create_app(factory), raise_server_exceptions=False) as client,
        commits_seen(module_engine) as commits,
    ):
        headers = signed_in(client, factory, "admin", roles=["system-administrator"])
        admin = client.get("/api/v1/auth/me", headers=headers).json()
        account = create(client, headers, "accounts", name="Contoso")
        contact = create(client, headers, "contacts", last_name="Doe", account_id=account["id"])
        competitor = create(client, headers, "competitors", name="Fabrikam")
        # Open, on Qualify, with its contact missing: "next" is refused with missing_steps.
        opportunity = create_opportunity(client, headers, account_id=account["id"])
        closed = create_opportunity(
            client, headers, name="Lost deal", account_id=account["id"], contact_id=contact["id"]
        )
        lost = client.post(
            f"/api/v1/opportunities/{closed['id']}/lose",
            json={"status_reason": "out_sold", "competitor_id": competitor["id"]},
            headers=headers,
        )
        assert lost.status_code == 200, lost.text
        ids = {
            "users": admin["id"],
            "business_unit": admin["business_unit_id"],
            "accounts": account["id"],
            "contacts": contact["id"],
            "competitors": competitor["id"],
            "opportunities": opportunity["id"],
            "closed": closed["id"],
            "processes": BUILTIN_PROCESS,
        }
        yield World(client, factory, commits, headers, ids, existing=set(ids.values()))


# --- Bad requests --------------------------------------------------------------------------------


@dataclass
class Bad:
    """One bad request and the status it must answer (any 4xx when ``expect`` is None).

    ``harmless``: the request may also succeed, as long as it changes nothing (a search for
    text no record holds). ``audited``: a refusal the audit log records (a failed log-in).
    """

    name: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Json = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    params: dict[str, str] | None = None
    expect: int | None = None
    auth: bool = True
    harmless: bool = False
    audited: bool = False

    def send(self, world: World) -> Response:
        headers = {**(world.headers if self.auth else {}), **self.headers}
        if self.json is not None:
            content: bytes | None = json.dumps(self.json).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            content = self.content
        request: Callable[..., Response] = world.client.request
        return request(
            self.method,
            self.url,
            headers=headers,
            content=content,
            data=self.data,
            params=self.params,
        )


@dataclass
class Endpoint:
    method: str
    path: str
    operation: dict[str, Any]

    @property
    def body(self) -> tuple[str, Schema] | None:
        """The media type and the resolved schema of the request body, if there is one."""
        content = self.operation.get("requestBody", {}).get("content", {})
        for media_type, spec in content.items():
            return media_type, resolve(spec.get("schema", {}))
        return None

    def valid_json(self, world: World) -> dict[str, Json] | None:
        """The smallest valid JSON body of the endpoint (None when it takes no JSON)."""
        body = self.body
        return valid_body(world, body[1]) if body and body[0] == "application/json" else None

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.operation.get("parameters", []) if p["in"] == where]

    def url(self, world: World, **overrides: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return overrides.get(name, world.path_value(self.path, name))

        return re.sub(r"\{([^}]+)\}", fill, self.path)

    def on_existing_records(self, world: World) -> bool:
        """Whether every id in the endpoint's path names an existing record."""
        names = re.findall(r"\{([^}]+)\}", self.path)
        return all(world.path_value(self.path, name) in world.existing for name in names)


def resolve(schema: Schema) -> Schema:
    """``schema`` with its ``$ref`` followed."""
    while "$ref" in schema:
        schema = OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def branches(schema: Schema) -> list[Schema]:
    """The alternatives a value may take (``anyOf``/``oneOf`` flattened), ``$ref`` resolved."""
    schema = resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [b for option in schema[key] for b in branches(option)]
    return [schema]


def accepted_types(schema: Schema) -> set[str]:
    types: set[str] = set()
    for branch in branches(schema):
        kind = branch.get("type")
        if kind is None and "enum" in branch:
            kind = "string"
        types.add(kind or "any")
    return types


def sample(world: World, name: str, schema: Schema) -> Json:
    """A valid value for a field (existing ids for id fields)."""
    options = [b for b in branches(schema) if b.get("type") != "null"] or [{}]
    branch = options[0]
    if "enum" in branch:
        return branch["enum"][0]
    if "const" in branch:
        return branch["const"]
    kind, form = branch.get("type"), branch.get("format")
    if form == "uuid":
        return world.field_value(name)
    if form == "date":
        return "2025-06-30"
    if form == "date-time":
        return "2025-06-30T12:00:00Z"
    if form == "email":
        return "someone@example.com"
    if kind == "integer":
        return max(int(branch.get("minimum", 1)), 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(branch.get("minItems", 0), 1 if "enum" in resolve(branch["items"]) else 0)
        return [sample(world, name, branch.get("items", {})) for _ in range(count)]
    if kind == "object":
        return {}
    return "sample"


def valid_body(world: World, schema: Schema) -> dict[str, Json]:
    """The smallest valid body: the required fields, with plausible values."""
    properties = schema.get("properties", {})
    return {name: sample(world, name, properties[name]) for name in schema.get("required", [])}


# Strings of these formats are checked as such; text of any length is refused by the format.
FORMATS = ("uuid", "date", "date-time", "email", "binary")


def field_mutations(name: str, schema: Schema, required: bool) -> Iterator[tuple[str, Json]]:
    """Bad values for one body field, derived from its schema (``...`` means: leave it out)."""
    types = accepted_types(schema)
    options = [b for b in branches(schema) if b.get("type") != "null"]
    if required:
        yield "missing", ...
    if "null" not in types and "any" not in types:
        yield "null", None
    if "any" in types:
        return
    if "object" not in types:
        yield "object", {"nested": {"deep": 1}}
    if "array" not in types:
        yield "list", [1, "two"]
    if types & {"integer", "number"}:
        yield "text for a number", "not-a-number"
    if "boolean" in types:
        yield "text for a boolean", "maybe"
    if "array" in types:
        yield "text for a list", "not-a-list"
    if "string" in types and not types & {"integer", "number"}:
        yield "number for a string", 12345.5
    for option in options:
        kind, form = option.get("type"), option.get("format")
        if "enum" in option:
            yield "unknown enum value", "nope-not-a-choice"
        if kind == "array" and "enum" in resolve(option.get("items", {})):
            yield "unknown enum item", ["nope-not-a-choice"]
        if kind == "array" and "maxItems" in option:
            item = resolve(option.get("items", {}))
            yield "too many items", [item.get("enum", ["x"])[0]] * (option["maxItems"] + 1)
        if kind == "string" and "enum" not in option and form not in FORMATS:
            yield "oversized string", HUGE
            yield "NUL character", "bad\x00value"
        if kind == "string":
            if form == "uuid":
                yield "malformed uuid", "not-a-uuid"
            if form == "date":
                yield "impossible date", "2025-02-30"
            if form == "email":
                yield "malformed email", "not an email"
            if "pattern" in option:
                # Some value the pattern refuses: punctuation for a key, blanks for a name.
                candidates = ("!! no match !!", "   ", "bad\x00value")
                yield (
                    "pattern mismatch",
                    next(value for value in candidates if not re.search(option["pattern"], value)),
                )
        if kind in ("integer", "number"):
            if "minimum" in option:
                yield "below minimum", option["minimum"] - 1
            if "maximum" in option:
                yield "above maximum", option["maximum"] + 1
            else:
                yield "huge number", 10**40


def body_cases(world: World, endpoint: Endpoint, url: str) -> Iterator[Bad]:
    body = endpoint.body
    if body is None:
        return
    media_type, schema = body
    method = endpoint.method
    if media_type != "application/json":
        # Forms and uploads: a JSON body instead, nothing at all, fields missing or oversized.
        fields = {n: str(sample(world, n, s)) for n, s in schema.get("properties", {}).items()}
        yield Bad("JSON instead of a form", method, url, json=fields)
        yield Bad("empty form", method, url, content=b"", headers={"Content-Type": media_type})
        for name in schema.get("required", []):
            rest = {k: v for k, v in fields.items() if k != name}
            yield Bad(f"form without {name}", method, url, data=rest)
        for name, spec in schema.get("properties", {}).items():
            if "string" in accepted_types(spec) and spec.get("format") != "binary":
                yield Bad(f"oversized {name}", method, url, data={**fields, name: HUGE})
        return
    base = valid_body(world, schema)
    as_json = {"Content-Type": "application/json"}
    raw = {
        "malformed JSON": b'{"name": ',
        "trailing garbage": json.dumps(base).encode() + b"}}",
        "deeply nested JSON": b"[" * 100_000,
        "invalid UTF-8": b'{"name": "\xff\xfe"}',
        "empty body": b"",
        "JSON array body": b"[]",
        "JSON null body": b"null",
    }
    for label, content in raw.items():
        yield Bad(label, method, url, content=content, headers=as_json)
    yield Bad(
        "text/plain body",
        method,
        url,
        content=json.dumps(base).encode(),
        headers={"Content-Type": "text/plain"},
    )
    yield Bad("form body", method, url, data={k: str(v) for k, v in base.items()})
    yield Bad("unknown field", method, url, json={**base, "no_such_field": 1})
    for name, spec in schema.get("properties", {}).items():
        for label, value in field_mutations(name, spec, name in schema.get("required", [])):
            changed = {k: v for k, v in base.items() if k != name}
            if value is not ...:
                changed[name] = value
            yield Bad(f"{name}: {label}", method, url, json=changed)


def cursor_of(value: Json) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def bad_cursors() -> list[tuple[str, str]]:
    some_id = str(uuid.uuid4())
    return [
        ("garbage cursor", "garbage"),
        ("not base64", "%%%%"),
        ("cursor of a list of three", cursor_of([1, 2, 3])),
        ("cursor of nulls", cursor_of([None, None])),
        ("cursor with a bad uuid", cursor_of(["2025-01-01T00:00:00+00:00", "x"])),
        ("cursor with a naive time", cursor_of(["2025-01-01T00:00:00", some_id])),
        ("cursor out of range", cursor_of(["9999-12-31T23:59:59-14:00", some_id])),
        ("cursor not UTF-8", base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()),
    ]


def query_cases(endpoint: Endpoint, url: str) -> Iterator[Bad]:
    for parameter in endpoint.parameters("query"):
        name, schema = parameter["name"], parameter.get("schema", {})
        values: list[tuple[str, str]] = []
        for option in branches(schema):
            kind, form = option.get("type"), option.get("format")
            if "enum" in option:
                values.append(("unknown enum value", "bogus"))
            if kind in ("integer", "number"):
                values.append(("text for a number", "abc"))
                if "minimum" in option:
                    values.append(("below minimum", str(int(option["minimum"]) - 1)))
                if "maximum" in option:
                    values.append(("above maximum", str(int(option["maximum"]) + 1)))
                else:
                    values.append(("huge number", "9" * 30))
            if kind == "boolean":
                values.append(("text for a boolean", "maybe"))
            if form == "uuid":
                values.append(("malformed uuid", "not-a-uuid"))
            if form == "date":
                values.append(("malformed date", "2025-13-45"))
            if kind == "string" and "maxLength" in option:
                values.append(("oversized", "x" * (option["maxLength"] + 1)))
            if kind == "string" and name == "cursor":
                values += bad_cursors()
        for label, value in values:
            yield Bad(f"?{name}={value[:30]} ({label})", endpoint.method, url, params={name: value})
        if "string" in accepted_types(schema):
            # Refused, or a search that finds nothing: never a 500, never a change.
            yield Bad(
                f"?{name}= with a NUL character",
                endpoint.method,
                url,
                params={name: "bad\x00value"},
                harmless=True,
            )


BAD_IF_MATCH = ("abc", "", '"1", "2"', "9" * 19, 'W/"999"')


def header_cases(world: World, endpoint: Endpoint, url: str) -> Iterator[Bad]:
    names = {p["name"].lower() for p in endpoint.parameters("header")}
    if "if-match" not in names:
        return
    # 412 on an existing record; a path naming none answers 404 first.
    expect = 412 if endpoint.on_existing_records(world) else None
    for value in BAD_IF_MATCH:
        yield Bad(
            f"If-Match {value[:20]!r}",
            endpoint.method,
            url,
            headers={"If-Match": value},
            json=endpoint.valid_json(world),
            expect=expect,
        )


MALFORMED_IDS = ("not-a-uuid", "../../etc/passwd", "%00")


def path_cases(world: World, endpoint: Endpoint) -> Iterator[Bad]:
    payload = endpoint.valid_json(world)
    for parameter in endpoint.parameters("path"):
        name = parameter["name"]
        for value in (str(uuid.uuid4()), *MALFORMED_IDS):
            yield Bad(
                f"{{{name}}} = {value[:30]}",
                endpoint.method,
                endpoint.url(world, **{name: value}),
                json=payload,
            )


def auth_cases(endpoint: Endpoint, url: str) -> Iterator[Bad]:
    if not endpoint.operation.get("security"):
        return
    yield Bad("no token", endpoint.method, url, auth=False, expect=401)
    yield Bad(
        "unknown token",
        endpoint.method,
        url,
        auth=False,
        expect=401,
        headers={"Authorization": "Bearer not-a-token"},
    )


def method_cases(endpoint: Endpoint, url: str) -> Iterator[Bad]:
    operations = OPENAPI["paths"][endpoint.path]
    if endpoint.method.lower() != next(m for m in operations if m in METHODS):
        return  # once per path
    unsupported = [m for m in METHODS if m not in operations]
    if unsupported:
        # 405, or 404 where another route matches the path (GET /processes/validate)
        yield Bad(f"method {unsupported[0].upper()}", unsupported[0].upper(), url)


OPPORTUNITY = "/api/v1/opportunities/{opportunity_id}"


def closed_record_cases(world: World, endpoint: Endpoint) -> Iterator[Bad]:
    """A closed opportunity is read-only: changes, moves and closing again answer 409."""
    path, method = endpoint.path, endpoint.method
    changes = method in ("PATCH", "DELETE") and path == OPPORTUNITY
    # Only the opportunity's own: a quote's /win is refused by the quote's state.
    closing = method == "POST" and path.startswith(f"{OPPORTUNITY}/")
    closing = closing and ("/process/" in path or path.endswith(("/win", "/lose")))
    if not (changes or closing):
        return
    payload = endpoint.valid_json(world)
    if path.endswith("/set-active"):
        payload = {"stage": "qualify"}
    if path.endswith("/switch"):
        payload = {"process": "custom-process"}
    closed = endpoint.url(world, opportunity_id=world.ids["closed"])
    yield Bad("on a closed opportunity", method, closed, json=payload, expect=409)


def state_cases(world: World, endpoint: Endpoint, url: str) -> Iterator[Bad]:
    """Refusals that depend on the records: unknown stages and processes, refused moves…"""
    method, path = endpoint.method, endpoint.path
    random_id = str(uuid.uuid4())
    cases: dict[tuple[str, str], list[tuple[str, Json, int | None]]] = {
        ("POST", f"{OPPORTUNITY}/process/set-active"): [
            ("unknown stage", {"stage": "nope"}, 409),
            ("stage not on the path", {"stage": "close"}, 409),
            ("the active stage", {"stage": "qualify"}, 409),
            ("blank stage", {"stage": "   "}, None),
        ],
        ("POST", f"{OPPORTUNITY}/process/switch"): [
            ("unknown process", {"process": "nope"}, 404),
            ("the current process", {"process": BUILTIN_PROCESS}, 409),
            ("a process that starts on the lead", {"process": LEAD_PROCESS}, 409),
        ],
        ("POST", f"{OPPORTUNITY}/process/next"): [("required steps missing", None, 409)],
        ("POST", f"{OPPORTUNITY}/process/previous"): [("on the first stage", None, 409)],
        ("POST", f"{OPPORTUNITY}/process/finish"): [("not on the last stage", None, 409)],
        ("POST", f"{OPPORTUNITY}/process/reactivate"): [("already active", None, 409)],
        ("POST", f"{OPPORTUNITY}/reopen"): [("already open", None, 409)],
        ("POST", f"{OPPORTUNITY}/lose"): [
            ("unknown competitor", {"competitor_id": random_id}, 422),
        ],
        ("PATCH", OPPORTUNITY): [
            ("unknown account", {"account_id": random_id}, 422),
            ("unknown contact", {"contact_id": random_id}, 422),
            ("name cleared", {"name": None}, 422),
            ("state is not editable", {"state": "won"}, 422),
            ("version is not editable", {"version": 99}, 422),
        ],
        ("POST", "/api/v1/opportunities"): [
            ("unknown process", {"name": "x", "process_key": "nope"}, None),
            ("a process that starts on the lead", {"name": "x", "process_key": LEAD_PROCESS}, None),
            ("unknown owner", {"name": "x", "owner_id": random_id}, 422),
            ("unknown account", {"name": "x", "account_id": random_id}, 422),
        ],
        ("POST", "/api/v1/contacts"): [
            ("unknown account", {"last_name": "x", "account_id": random_id}, 422),
        ],
        ("DELETE", "/api/v1/accounts/{record_id}"): [("still referenced", None, 409)],
        ("DELETE", "/api/v1/contacts/{record_id}"): [("still referenced", None, 409)],
        ("DELETE", "/api/v1/competitors/{record_id}"): [("still referenced", None, 409)],
        ("POST", "/api/v1/users"): [
            ("user name taken", {"username": "admin", "full_name": "Again"}, 409),
            (
                "unknown business unit",
                {"username": "newbie", "full_name": "N", "business_unit_id": random_id},
                None,
            ),
            (
                "unknown manager",
                {"username": "newbie", "full_name": "N", "manager_id": random_id},
                None,
            ),
        ],
        ("PATCH", "/api/v1/processes/{key}"): [
            ("deactivate the default process", {"is_active": False}, 409),
        ],
        ("POST", "/api/v1/processes"): [
            ("not YAML", {"yaml": "key: [unclosed"}, 422),
            ("not a mapping", {"yaml": "- a\n- b"}, 422),
            ("invalid definition", {"yaml": "key: x\nname: y\ntable: nope\nstages: []"}, 422),
            ("python tag", {"yaml": "!!python/object/apply:os.system ['true']"}, 422),
        ],
        ("POST", "/api/v1/processes/validate"): [
            ("not YAML", {"yaml": "key: [unclosed"}, 422),
        ],
    }
    for label, payload, expect in cases.get((method, path), []):
        yield Bad(label, method, url, json=payload, expect=expect)
    if (method, path) == ("POST", "/api/v1/auth/token"):
        yield Bad(
            "wrong password",
            method,
            url,
            auth=False,
            expect=401,
            audited=True,
            data={"username": "admin", "password": "wrong"},
        )
        yield Bad(
            "unknown user",
            method,
            url,
            auth=False,
            expect=401,
            audited=True,
            data={"username": "nobody", "password": "wrong"},
        )


def bad_requests(world: World, method: str, path: str) -> list[Bad]:
    endpoint = Endpoint(method, path, OPENAPI["paths"][path][method.lower()])
    url = endpoint.url(world)
    makers: list[Callable[[], Iterator[Bad]]] = [
        lambda: auth_cases(endpoint, url),
        lambda: method_cases(endpoint, url),
        lambda: path_cases(world, endpoint),
        lambda: query_cases(endpoint, url),
        lambda: header_cases(world, endpoint, url),
        lambda: body_cases(world, endpoint, url),
        lambda: state_cases(world, endpoint, url),
        lambda: closed_record_cases(world, endpoint),
    ]
    return [bad for make in makers for bad in make()]


@dataclass(frozen=True)
class Seen:
    """The database as a snapshot showed it, and the count of commits read just before."""

    commits: int
    rows: dict[str, tuple[int, str]]


def seen(world: World) -> Seen:
    # The count first: a commit between the two is in the rows and, counted next time, only
    # costs one more snapshot.
    return Seen(world.commits(), db_snapshot(world.factory))


def check(world: World, bad: Bad, before: Seen | None = None) -> tuple[list[str], Seen]:
    """Send one bad request: what went wrong (nothing when it was refused cleanly), and the
    database as seen after it (the next request's ``before``)."""
    before = before or seen(world)
    answer = bad.send(world)
    after = before if world.commits() == before.commits else seen(world)
    issues: list[str] = []
    if bad.harmless and answer.is_success:
        pass
    elif not 400 <= answer.status_code < 500:
        issues.append(f"status {answer.status_code}: {answer.text[:300]!r}")
    elif bad.expect is not None and answer.status_code != bad.expect:
        issues.append(f"status {answer.status_code}, expected {bad.expect}: {answer.text[:200]!r}")
    else:
        issues += problem_issues(answer)
    changed = snapshot_changes(before.rows, after.rows)
    if bad.audited:
        changed = [change for change in changed if not change.startswith("audit_log ")]
    if changed:
        issues.append(f"changed {', '.join(changed)}")
    return [f"{bad.name} [{bad.method} {bad.url[:80]}]: {issue}" for issue in issues], after


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_bad_input_is_refused_with_a_problem_and_changes_nothing(
    world: World, method: str, path: str
) -> None:
    cases = bad_requests(world, method, path)
    assert cases, "every endpoint gets bad requests"
    failures: list[str] = []
    snapshot = None
    for bad in cases:
        issues, snapshot = check(world, bad, snapshot)
        failures += issues
    assert not failures, f"{len(failures)} of {len(cases)} bad requests:\n" + "\n".join(failures)


def test_every_endpoint_is_swept() -> None:
    """The sweep reads the endpoints from the OpenAPI document of the whole app."""
    paths = {param.values[1] for param in ENDPOINTS}
    assert "/api/v1/opportunities/{opportunity_id}/process/set-active" in paths
    assert len(ENDPOINTS) >= 40
