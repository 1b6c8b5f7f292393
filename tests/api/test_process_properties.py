"""Random sequences of API operations on opportunities keep the process invariants.

Hypothesis draws sequences of operations on one or two opportunities: PATCH a step field (fill
or clear), fill the active stage's required steps, next, previous, set-active (any stage key,
known or not), finish, abandon, reactivate, switch between the built-in process, a custom process
with branches (its stage keys reuse the built-in ones with other categories) and processes that
cannot be switched to, win, lose and reopen; some requests carry a stale If-Match. After every
operation, through the API:

- the current instance's active stage ends its traversed path, which is a forward walk over the
  process's stages; the opportunity's ``process_key``/``active_stage`` follow the current instance;
- the opportunity's ``pipeline_phase`` equals the last history row's and the phase of the active
  stage's category (1-Qualify … 8-Approval);
- a refused request changes nothing: same history, same version, no write committed to any table;
- an accepted move appends exactly one history row of its kind and bumps the version.

At the end, replaying the history of each process with ``engine.replay`` rebuilds the active
stage, path and status of every instance that ``GET …/process`` shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oppflow.process import catalog
from oppflow.process import engine as process_engine
from oppflow.process.repository import ProcessRepository
from tests.api.test_bad_input import commits_seen, problem_issues
from tests.client import AppClient, app_on
from tests.helpers import create, create_opportunity, signed_in

BUILTIN = "opportunity-sales-process"
LEAD = "lead-to-opportunity-sales-process"
CUSTOM = "branching-deal"
PHASES = {
    "qualify": "1-Qualify",
    "develop": "2-Develop",
    "propose": "3-Propose",
    "close": "4-Close",
    "identify": "5-Identify",
    "research": "6-Research",
    "resolve": "7-Resolve",
    "approval": "8-Approval",
}

# Stage keys shared with the built-in process, under other categories: the phase follows the
# category, never the key or the name. Qualify branches to the last stage on a high probability
# or an immediate purchase; research branches to it on an early decision date.
CUSTOM_YAML = f"""\
key: {CUSTOM}
name: {{en: Branching deal, fr: Affaire à embranchements}}
table: opportunity
stages:
  - key: qualify
    name: {{en: Identify, fr: Identifier}}
    category: identify
    steps:
      - {{field: probability, label: {{en: Probability, fr: Probabilité}}, required: true}}
      - {{field: purchase_timeframe, label: {{en: Timeframe, fr: Délai}}}}
    branches:
      - when:
          match: any
          conditions:
            - {{field: probability, op: ge, value: 70}}
            - {{field: purchase_timeframe, op: eq, value: immediate}}
        stage: close
  - key: research
    name: {{en: Research, fr: Recherche}}
    category: research
    steps:
      - {{field: customer_need, label: {{en: Need, fr: Besoin}}, required: true}}
      - {{field: final_decision_date, label: {{en: Decision, fr: Décision}}}}
    branches:
      - when:
          match: all
          conditions:
            - {{field: final_decision_date, op: not_null}}
            - {{field: final_decision_date, op: lt, value: "2025-06-01"}}
        stage: close
  - key: develop
    name: {{en: Resolve, fr: Résoudre}}
    category: resolve
    steps:
      - {{field: proposed_solution, label: {{en: Solution, fr: Solution}}}}
  - key: close
    name: {{en: Approve, fr: Approuver}}
    category: approval
    steps:
      - {{field: proposal_presented, label: {{en: Presented, fr: Présentée}}, required: true}}
"""

# "@path-<k>": the k-th stage back on the traversed path; "@other": the other switchable process.
STAGE_KEYS = ("qualify", "develop", "propose", "close", "research", "nope", "@path-0", "@path-1")
SWITCH_TARGETS = ("@other", "@other", "@other", BUILTIN, CUSTOM, LEAD, "nope")

# Values to fill each step field with ("@account"/"@contact": the ids of the setup's records),
# and what clearing it sends (booleans cannot be null: clearing marks them incomplete).
FILL: dict[str, tuple[Any, ...]] = {
    "contact_id": ("@contact",),
    "account_id": ("@account",),
    "purchase_timeframe": ("immediate", "this_year"),
    "probability": (90, 40, 0),
    "customer_need": ("A CRM", "   "),
    "proposed_solution": ("oppflow",),
    "proposal_presented": (True,),
    "final_decision_date": ("2025-03-01", "2026-09-30"),
    "estimated_value": (1000, 0),
}
CLEAR: dict[str, Any] = {"proposal_presented": False}


class Op(NamedTuple):
    """One operation on opportunity ``target`` (0 or 1); ``Api.resolve`` makes ``arg`` concrete
    (the changes to PATCH, the stage or process to move to)."""

    kind: str
    target: int
    arg: Any = None
    stale: bool = False


# Kinds, weighted towards the moves that make progress ("advance" is fill-stage then next).
KINDS = (
    *["advance"] * 5,
    *["next"] * 3,
    *["fill-stage"] * 2,
    *["patch"] * 3,
    *["previous"] * 2,
    *["set-active"] * 2,
    *["switch"] * 3,
    *["finish"] * 2,
    "abandon",
    "reactivate",
    "win",
    "lose",
    *["reopen"] * 2,
)


def ops() -> st.SearchStrategy[Op]:
    """Operations on one of two opportunities; one in eight carries a stale If-Match."""
    fill = st.sampled_from(sorted(FILL)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from((None, *FILL[name])))
    )
    args: dict[str, st.SearchStrategy[Any]] = {
        "patch": fill,
        "fill-stage": st.integers(0, 2),
        "advance": st.integers(0, 2),
        "set-active": st.sampled_from(STAGE_KEYS),
        "switch": st.sampled_from(SWITCH_TARGETS),
    }
    return st.sampled_from(KINDS).flatmap(
        lambda kind: st.builds(
            Op,
            st.just(kind),
            st.integers(0, 1),
            args.get(kind, st.none()),
            st.sampled_from((False,) * 7 + (True,)),
        )
    )


class Observed(NamedTuple):
    """An opportunity as the API shows it: the record, its process view, its history."""

    record: dict[str, Any]
    view: dict[str, Any]
    history: list[dict[str, Any]]


class Api(NamedTuple):
    """The API as the admin of the setup calls it, and the ids its records refer to."""

    client: TestClient
    headers: dict[str, str]
    factory: sessionmaker[Session]
    commits: Callable[[], int]
    refs: dict[str, str]

    def observe(self, opportunity_id: str) -> Observed:
        base = f"/api/v1/opportunities/{opportunity_id}"
        answers = [
            self.client.get(base + tail, headers=self.headers)
            for tail in ("", "/process", "/history")
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
        record, view, history = (answer.json() for answer in answers)
        return Observed(record, view, history["items"])

    def resolve(self, op: Op, before: Observed) -> Op:
        """``op`` with its argument made concrete for the opportunity as it stands."""
        view = before.view
        if op.kind == "patch":
            name, value = op.arg
            value = CLEAR.get(name) if value is None else self.refs.get(value, value)
            return op._replace(arg={name: value})
        if op.kind in ("fill-stage", "advance"):
            changes: dict[str, Any] = {}
            for missing in view["missing_steps"]:
                choices = FILL[missing["field"]]
                value = choices[op.arg % len(choices)]
                changes[missing["field"]] = self.refs.get(value, value)
            return op._replace(arg=changes)
        if op.kind == "set-active" and op.arg.startswith("@path"):
            earlier = view["traversed_path"][:-1] or view["traversed_path"]
            return op._replace(arg=earlier[-1 - int(op.arg[-1]) % len(earlier)])
        if op.kind == "switch" and op.arg == "@other":
            return op._replace(arg=CUSTOM if view["process"]["key"] == BUILTIN else BUILTIN)
        return op

    def send(self, op: Op, opportunity_id: str, before: Observed) -> Response:
        base = f"/api/v1/opportunities/{opportunity_id}"
        version = before.record["version"]
        headers = {**self.headers, "If-Match": f'"{version - 1 if op.stale else version}"'}
        post: Callable[..., Response] = self.client.post
        patch: Callable[..., Response] = self.client.patch
        if op.kind in ("patch", "fill-stage"):
            return patch(base, json=op.arg, headers=headers)
        if op.kind == "set-active":
            return post(f"{base}/process/set-active", json={"stage": op.arg}, headers=headers)
        if op.kind == "switch":
            return post(f"{base}/process/switch", json={"process": op.arg}, headers=headers)
        if op.kind in ("win", "lose", "reopen"):
            return post(
                f"{base}/{op.kind}", json=None if op.kind == "reopen" else {}, headers=headers
            )
        return post(f"{base}/process/{op.kind}", headers=headers)


MOVE_KINDS = {
    "next": "next",
    "previous": "previous",
    "set-active": "set_active",
    "finish": "finish",
    "abandon": "abandon",
    "reactivate": "reactivate",
    "switch": "switch",
}


def check_invariants(seen: Observed) -> None:
    record, view, history = seen
    path = view["traversed_path"]
    active = view["active_stage"]
    stage_keys = [stage["key"] for stage in view["stages"]]
    assert path, view
    assert active["key"] == path[-1], view
    positions = [stage_keys.index(key) for key in path]
    assert positions == sorted(set(positions)), f"not a forward walk: {path}"
    assert record["process_key"] == view["process"]["key"]
    assert record["active_stage"] == active["key"]
    assert history, "every opportunity has a start row"
    assert record["pipeline_phase"] == history[-1]["pipeline_phase"]
    assert record["pipeline_phase"] == PHASES[active["category"]], (record, active)
    assert history[-1]["process_key"] == view["process"]["key"]
    assert history[-1]["to_stage"] == active["key"]
    assert (view["completed_at"] is None) == (view["status"] == "active"), view
    active_stage = next(stage for stage in view["stages"] if stage["key"] == active["key"])
    missing = [s["field"] for s in active_stage["steps"] if s["required"] and not s["complete"]]
    assert [step["field"] for step in view["missing_steps"]] == missing
    others = [other["process"]["key"] for other in view["instances"]]
    assert len(set(others)) == len(others)
    assert view["process"]["key"] not in others


def check_accepted(op: Op, before: Observed, after: Observed) -> None:
    """What an accepted operation must have changed, and nothing more."""
    grown = after.history[len(before.history) :]
    assert after.history[: len(before.history)] == before.history, "history is append-only"
    old, new = before.view, after.view
    if op.kind not in MOVE_KINDS:
        assert not grown, f"{op.kind} moved the process: {grown}"
        assert (new["process"], new["traversed_path"], new["status"]) == (
            old["process"],
            old["traversed_path"],
            old["status"],
        )
        if op.kind == "win":
            assert after.record["state"] == "won"
        elif op.kind == "lose":
            assert after.record["state"] == "lost"
        elif op.kind == "reopen":
            assert after.record["state"] == "open"
        return
    assert len(grown) == 1, f"{op.kind} appended {grown}"
    assert grown[0]["kind"] == MOVE_KINDS[op.kind]
    assert after.record["version"] > before.record["version"]
    path, new_path = old["traversed_path"], new["traversed_path"]
    if op.kind == "next":
        assert new_path[:-1] == path
        assert len(new_path) == len(path) + 1
    elif op.kind == "previous":
        assert new_path == path[:-1]
    elif op.kind == "set-active":
        assert new_path == path[: path.index(op.arg) + 1]
    elif op.kind == "switch":
        assert new["process"]["key"] == op.arg
        resumed = [o for o in old["instances"] if o["process"]["key"] == op.arg]
        if resumed:
            assert new["active_stage"]["key"] == resumed[0]["active_stage"]["key"]
            assert new["status"] == resumed[0]["status"]
        else:
            assert new_path == [new["stages"][0]["key"]]
            assert new["status"] == "active"
        assert old["process"]["key"] in [o["process"]["key"] for o in new["instances"]]
    else:
        assert new_path == path
        status = {"finish": "finished", "abandon": "aborted", "reactivate": "active"}[op.kind]
        assert new["status"] == status


def expected_refusal(op: Op, before: Observed) -> set[int]:
    """The statuses a request may be refused with when the state makes a refusal certain
    (empty when it may be accepted)."""
    view, closed = before.view, before.record["state"] != "open"
    if op.stale:
        # A stale If-Match is a 412; PATCH checks that the record is open first (409).
        return {412, 409} if closed and op.kind in ("patch", "fill-stage") else {412}
    if op.kind == "reopen":
        return set() if closed else {409}
    if closed:
        return {409}
    if op.kind == "switch" and op.arg == "nope":
        return {404}
    if op.kind == "switch" and op.arg in (LEAD, view["process"]["key"]):
        return {409}
    gated = op.kind in ("next", "previous", "finish", "abandon", "set-active")
    if gated and view["status"] != "active":
        return {409}
    if op.kind == "set-active" and op.arg not in view["traversed_path"][:-1]:
        return {409}
    if op.kind == "reactivate" and view["status"] == "active":
        return {409}
    if op.kind == "next" and view["missing_steps"]:
        return {409}
    return set()


def step(world: Api, op: Op, opportunity_id: str, before: Observed) -> Observed:
    """Send one operation, check what it did, and return the opportunity as it is now."""
    committed = world.commits()
    answer = world.send(op, opportunity_id, before)
    after = world.observe(opportunity_id)
    assert answer.status_code < 500, answer.text
    refusal = expected_refusal(op, before)
    if answer.is_success:
        assert not refusal, f"{op} accepted, expected {refusal}: {answer.text[:300]}"
        check_accepted(op, before, after)
    else:
        assert not problem_issues(answer), problem_issues(answer)
        assert answer.status_code in (refusal or {409}), f"{op}: {answer.text[:300]}"
        assert op.kind != "fill-stage" or refusal, f"{op}: {answer.text[:300]}"
        assert after == before, f"{op} was refused ({answer.status_code}) but changed the record"
        assert world.commits() == committed, f"{op} was refused but committed a write"
    check_invariants(after)
    return after


def check_replay(world: Api, opportunity_id: str) -> None:
    """Replaying each process's history rebuilds every instance the API shows."""
    seen = world.observe(opportunity_id)
    view = seen.view
    instances = [
        (view["process"], view["active_stage"]["key"], view["traversed_path"], view["status"]),
        *[(o["process"], o["active_stage"]["key"], None, o["status"]) for o in view["instances"]],
    ]
    with world.factory() as session:
        for process, active, path, status in instances:
            process_id = ProcessRepository(session).by_key(process["key"]).id
            definition = catalog.definition_of(session, process_id, process["version"])
            rows = [
                (row["kind"], row["from_stage"], row["to_stage"])
                for row in seen.history
                if row["process_key"] == process["key"]
            ]
            replayed = process_engine.replay(definition, rows)
            assert replayed.active_stage == active, (process["key"], rows)
            assert replayed.status == status, (process["key"], rows)
            if path is not None:
                assert list(replayed.traversed_path) == path, (process["key"], rows)


def test_random_operations_keep_the_process_invariants(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with (
        app_on(factory) as app,
        AppClient(app) as client,
        commits_seen(engine) as commits,
    ):
        headers = signed_in(client, factory, "admin", roles=["system-administrator"])
        imported = client.post("/api/v1/processes", json={"yaml": CUSTOM_YAML}, headers=headers)
        assert imported.status_code == 201, imported.text
        account = create(client, headers, "accounts", name="Contoso")
        contact = create(client, headers, "contacts", last_name="Doe", account_id=account["id"])
        refs = {"@account": account["id"], "@contact": contact["id"]}
        world = Api(client, headers, factory, commits, refs)

        @settings(max_examples=25, deadline=None, database=None)
        @given(st.lists(ops(), min_size=8, max_size=16))
        def run(operations: list[Op]) -> None:
            targets = [
                create_opportunity(client, headers, name=f"Deal {n}")["id"] for n in range(2)
            ]
            seen = [world.observe(target) for target in targets]
            for observed in seen:
                check_invariants(observed)
            for op in operations:
                kinds = ("fill-stage", "next") if op.kind == "advance" else (op.kind,)
                for kind in kinds:
                    before = seen[op.target]
                    move = world.resolve(op._replace(kind=kind), before)
                    seen[op.target] = step(world, move, targets[op.target], before)
            for target in targets:
                check_replay(world, target)

        run()
