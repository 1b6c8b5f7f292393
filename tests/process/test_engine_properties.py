"""Random sequences of moves keep the engine's invariants, and replay rebuilds the final state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from oppflow.errors import MoveRefused
from oppflow.process import engine
from oppflow.process.builtin import builtin_definitions
from oppflow.process.definition import ProcessDefinition, load_definition
from oppflow.process.engine import InstanceState, Transition
from oppflow.process.fields import STEP_FIELDS, FieldSpec, pipeline_phase

T0 = datetime(2025, 1, 1, tzinfo=UTC)

BRANCHING = load_definition(
    """
key: branching-process
name: {en: Branching, fr: Avec embranchements}
table: opportunity
stages:
  - key: identify
    name: {en: Identify, fr: Identifier}
    category: identify
    steps:
      - {field: contact_id, label: {en: Contact, fr: Contact}, required: true}
      - {field: probability, label: {en: Probability, fr: Probabilité}}
      - {field: purchase_timeframe, label: {en: Timeframe, fr: Délai}}
    branches:
      - when:
          match: all
          conditions:
            - {field: probability, op: ge, value: 70}
            - {field: purchase_timeframe, op: in, value: [immediate, this_quarter]}
        stage: propose
      - when: {match: any, conditions: [{field: probability, op: lt, value: 10}]}
        stage: approval
  - key: research
    name: {en: Research, fr: Rechercher}
    category: research
    steps:
      - {field: customer_need, label: {en: Need, fr: Besoin}, required: true}
      - {field: final_decision_date, label: {en: Decision date, fr: Date de décision}}
    branches:
      - when: {conditions: [{field: final_decision_date, op: lt, value: "2025-06-01"}]}
        stage: close
  - key: develop
    name: {en: Develop, fr: Développer}
    category: develop
    next: approval
  - key: propose
    name: {en: Propose, fr: Proposer}
    category: propose
    steps: [{field: proposal_presented, label: {en: Presented, fr: Présentée}, required: true}]
  - key: approval
    name: {en: Approval, fr: Approbation}
    category: approval
    steps: [{field: budget_amount, label: {en: Budget, fr: Budget}}]
  - key: close
    name: {en: Close, fr: Clôturer}
    category: close
    steps: [{field: debrief_filed, label: {en: Debrief, fr: Compte rendu}, required: true}]
"""
)
DEFINITIONS = [*builtin_definitions(), BRANCHING]


def field_values(spec: FieldSpec, *, empty: bool) -> st.SearchStrategy[Any]:
    """Values a record field may hold: filled ones only, or empty ones (None, "", False) too."""
    filled: dict[str, st.SearchStrategy[Any]] = {
        "text": st.sampled_from(["CRM", "ERP", "x"]),
        "money": st.decimals(min_value=0, max_value=10**6, places=2) | st.integers(0, 10**6),
        "date": st.dates(),
        "boolean": st.just(True),
        "choice": st.sampled_from(spec.choices or ("x",)),
        "contact": st.uuids(),
        "account": st.uuids(),
        "integer": st.integers(0, 100),
    }
    if not empty:
        return filled[spec.kind]
    return filled[spec.kind] | st.sampled_from([None, "", " ", False])


def records(definition: ProcessDefinition) -> st.SearchStrategy[dict[str, Any]]:
    """Records with every step field filled (random values), or with random gaps."""
    full: dict[str, st.SearchStrategy[Any]] = {}
    gappy: dict[str, st.SearchStrategy[Any]] = {}
    for stage in definition.stages:
        catalogue = STEP_FIELDS[definition.stage_table(stage.key)]
        for step in stage.steps:
            full[step.field] = field_values(catalogue[step.field], empty=False)
            gappy[step.field] = field_values(catalogue[step.field], empty=True)
    return st.fixed_dictionaries(full) | st.fixed_dictionaries({}, optional=gappy)


# Moving forward is weighted up so that sequences reach the later stages and the finish.
KINDS = ["next"] * 4 + ["finish"] * 2 + ["previous", "set_active", "abandon", "reactivate"]


def operations(definition: ProcessDefinition) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Sequences of moves: (kind,) or (kind, record) or (kind, stage key)."""
    keys = [stage.key for stage in definition.stages] + ["nowhere"]
    arguments: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
        "next": st.tuples(records(definition)),
        "finish": st.tuples(records(definition)),
        "set_active": st.tuples(st.sampled_from(keys)),
    }

    def with_arguments(kind: str) -> st.SearchStrategy[tuple[Any, ...]]:
        return arguments.get(kind, st.just(())).map(lambda args: (kind, *args))

    return st.lists(st.sampled_from(KINDS).flatmap(with_arguments), min_size=5, max_size=60)


def expected_refusal(
    definition: ProcessDefinition, state: InstanceState, op: tuple[Any, ...]
) -> bool:
    """Whether the engine must refuse `op`, worked out independently of its code."""
    active = state.status == "active"
    name = op[0]
    if name == "reactivate":
        return active
    if not active:
        return True
    if name in ("next", "finish"):
        final = definition.is_final(state.active_stage)
        gated = any(
            s.required and not engine.is_step_complete(op[1].get(s.field))
            for s in definition.stage(state.active_stage).steps
        )
        return gated or (final if name == "next" else not final)
    if name == "previous":
        return len(state.traversed_path) < 2
    if name == "set_active":
        return op[1] == state.active_stage or op[1] not in state.traversed_path
    return False  # abandon


def apply(
    definition: ProcessDefinition, state: InstanceState, op: tuple[Any, ...], now: datetime
) -> Transition:
    name, *args = op
    if name == "next":
        return engine.next_stage(definition, state, args[0], now)
    if name == "finish":
        return engine.finish(definition, state, args[0], now)
    if name == "set_active":
        return engine.set_active(definition, state, args[0], now)
    moves = {
        "previous": engine.previous_stage,
        "abandon": engine.abandon,
        "reactivate": engine.reactivate,
    }
    return moves[name](definition, state, now)


def check_invariants(definition: ProcessDefinition, transition: Transition) -> None:
    state = transition.state
    path = state.traversed_path
    assert path
    assert state.active_stage == path[-1] == transition.to_stage
    assert path[0] == definition.first_stage.key
    positions = [definition.index(key) for key in path]
    assert positions == sorted(set(positions)), "the path walks forward without repeats"
    assert transition.pipeline_phase == pipeline_phase(definition.stage(path[-1]).category)
    assert (state.completed_at is None) == (state.status == "active")


def check_move(
    before: InstanceState, op: tuple[Any, ...], after: Transition, d: ProcessDefinition
) -> None:
    assert after.kind == op[0]
    if op[0] == "next":
        assert after.state.traversed_path == (*before.traversed_path, after.to_stage)
        assert after.to_stage == d.successor(before.active_stage, op[1])
    if op[0] in ("previous", "set_active"):
        assert (
            after.state.traversed_path == before.traversed_path[: len(after.state.traversed_path)]
        )
    assert after.from_stage == before.active_stage


@pytest.mark.parametrize("definition", DEFINITIONS, ids=[d.key for d in DEFINITIONS])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_moves_keep_the_invariants_and_replay(
    definition: ProcessDefinition, data: st.DataObject
) -> None:
    transitions = [engine.start(definition, T0)]
    for number, op in enumerate(data.draw(operations(definition)), start=1):
        state = transitions[-1].state
        must_refuse = expected_refusal(definition, state, op)
        try:
            transition = apply(definition, state, op, T0 + timedelta(minutes=number))
        except MoveRefused:
            assert must_refuse, f"{op[0]} was refused from {state}"
            continue
        assert not must_refuse, f"{op[0]} was allowed from {state}"
        check_invariants(definition, transition)
        check_move(state, op, transition, definition)
        transitions.append(transition)

    final = transitions[-1].state
    deepest = max(definition.index(t.to_stage) for t in transitions) + 1
    event(f"reached stage {deepest}; finished: {any(t.kind == 'finish' for t in transitions)}")
    rows = [(t.kind, t.from_stage, t.to_stage) for t in transitions]
    assert engine.replay(definition, rows) == (
        final.active_stage,
        final.traversed_path,
        final.status,
    )


def test_random_records_can_take_every_branch() -> None:
    """The branching definition is reachable end to end, so the property test explores it."""
    record = {"contact_id": "c", "probability": 80, "purchase_timeframe": "immediate"}
    assert BRANCHING.successor("identify", record) == "propose"
    assert BRANCHING.successor("identify", record | {"probability": 5}) == "approval"
    assert BRANCHING.successor("identify", record | {"probability": 50}) == "research"
    assert BRANCHING.successor("research", {"final_decision_date": "2025-05-01"}) == "close"
    assert BRANCHING.successor("research", {"final_decision_date": Decimal(1)}) == "develop"
    assert BRANCHING.successor("develop", {}) == "approval"
    assert BRANCHING.successor("propose", {}) == "approval"
    assert BRANCHING.successor("approval", {}) == "close"
