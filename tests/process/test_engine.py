"""The process engine: gates, every move, every refusal, replay."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from oppflow.errors import MoveRefused, StageGateRefused
from oppflow.process import engine
from oppflow.process.builtin import builtin_definitions
from oppflow.process.definition import load_definition
from oppflow.process.engine import InstanceState, MoveKind, Transition

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
OPPORTUNITY, LEAD = builtin_definitions()

QUALIFIED = {"contact_id": uuid.UUID(int=1), "account_id": uuid.UUID(int=2)}
DEVELOPED = QUALIFIED | {"customer_need": "A CRM", "proposed_solution": "oppflow"}
PROPOSED = DEVELOPED | {"proposal_presented": True}
CLOSED = PROPOSED | {"final_decision_date": date(2025, 6, 30)}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def state_on(
    path: tuple[str, ...], status: engine.Status = "active", completed: bool = False
) -> InstanceState:
    return InstanceState(path[-1], path, status, T0, at(1) if completed else None)


def history(*transitions: Transition) -> list[tuple[MoveKind, str | None, str]]:
    return [(t.kind, t.from_stage, t.to_stage) for t in transitions]


# --- Steps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "complete"),
    [
        (None, False),
        ("", False),
        ("  \t", False),
        ("x", True),
        (False, False),
        (True, True),
        (0, True),
        (Decimal(0), True),
        (0.0, True),
        (date(2025, 1, 1), True),
        (uuid.UUID(int=3), True),
    ],
)
def test_is_step_complete(value: Any, complete: bool) -> None:
    assert engine.is_step_complete(value) is complete


def test_missing_steps_lists_the_empty_required_steps_in_order() -> None:
    missing = engine.missing_steps(OPPORTUNITY, "qualify", {"account_id": " "})
    assert [s.field for s in missing] == ["contact_id", "account_id"]
    assert engine.missing_steps(OPPORTUNITY, "qualify", QUALIFIED) == []
    assert [s.field for s in engine.missing_steps(OPPORTUNITY, "propose", {})] == [
        "proposal_presented"
    ]
    assert engine.missing_steps(LEAD, "qualify", {}) == []


# --- The journey ---------------------------------------------------------------------------------


def test_full_journey_through_the_opportunity_process() -> None:
    started = engine.start(OPPORTUNITY, T0)
    assert started == Transition(
        "start", None, "qualify", InstanceState("qualify", ("qualify",), "active", T0), "1-Qualify"
    )

    develop = engine.next_stage(OPPORTUNITY, started.state, QUALIFIED, at(1))
    propose = engine.next_stage(OPPORTUNITY, develop.state, DEVELOPED, at(2))
    close = engine.next_stage(OPPORTUNITY, propose.state, PROPOSED, at(3))
    finished = engine.finish(OPPORTUNITY, close.state, CLOSED, at(4))

    assert [
        (t.kind, t.from_stage, t.to_stage, t.pipeline_phase) for t in (develop, propose, close)
    ] == [
        ("next", "qualify", "develop", "2-Develop"),
        ("next", "develop", "propose", "3-Propose"),
        ("next", "propose", "close", "4-Close"),
    ]
    assert close.state == InstanceState(
        "close", ("qualify", "develop", "propose", "close"), "active", at(3)
    )
    assert (finished.kind, finished.from_stage, finished.to_stage) == ("finish", "close", "close")
    assert finished.pipeline_phase == "4-Close"
    assert finished.state == InstanceState(
        "close", close.state.traversed_path, "finished", at(3), at(4)
    )

    reactivated = engine.reactivate(OPPORTUNITY, finished.state, at(5))
    assert reactivated.state == close.state
    abandoned = engine.abandon(OPPORTUNITY, reactivated.state, at(6))
    assert (abandoned.state.status, abandoned.state.completed_at) == ("aborted", at(6))
    back = engine.reactivate(OPPORTUNITY, abandoned.state, at(7))
    assert back.state.status == "active"
    assert back.state.completed_at is None

    moves = (started, develop, propose, close, finished, reactivated, abandoned, back)
    assert engine.replay(OPPORTUNITY, history(*moves)) == (
        "close",
        ("qualify", "develop", "propose", "close"),
        "active",
    )


def test_moving_back() -> None:
    on_close = state_on(("qualify", "develop", "propose", "close"))

    previous = engine.previous_stage(OPPORTUNITY, on_close, at(1))
    assert (previous.kind, previous.from_stage, previous.to_stage) == (
        "previous",
        "close",
        "propose",
    )
    assert previous.state == InstanceState(
        "propose", ("qualify", "develop", "propose"), "active", at(1)
    )
    assert previous.pipeline_phase == "3-Propose"

    chosen = engine.set_active(OPPORTUNITY, on_close, "develop", at(2))
    assert (chosen.kind, chosen.from_stage, chosen.to_stage) == ("set_active", "close", "develop")
    assert chosen.state.traversed_path == ("qualify", "develop")
    assert chosen.state.active_stage_started_at == at(2)
    assert chosen.pipeline_phase == "2-Develop"

    rows: list[tuple[MoveKind, str | None, str]] = [
        ("start", None, "qualify"),
        ("next", "qualify", "develop"),
        ("next", "develop", "propose"),
        ("next", "propose", "close"),
    ]
    assert engine.replay(OPPORTUNITY, [*rows, *history(previous)]) == (
        "propose",
        ("qualify", "develop", "propose"),
        "active",
    )
    assert engine.replay(OPPORTUNITY, [*rows, *history(chosen)]) == (
        "develop",
        ("qualify", "develop"),
        "active",
    )


def test_moves_return_new_states_and_leave_the_old_one_alone() -> None:
    state = engine.start(OPPORTUNITY, T0).state
    moved = engine.next_stage(OPPORTUNITY, state, QUALIFIED, at(1)).state
    assert state == InstanceState("qualify", ("qualify",), "active", T0)
    assert moved is not state


def test_lead_process_qualifies_then_carries_on_to_develop() -> None:
    started = engine.start(LEAD, T0)
    develop = engine.next_stage(LEAD, started.state, {}, at(1))
    assert develop.state.traversed_path == ("qualify", "develop")
    assert develop.pipeline_phase == "2-Develop"
    # The opportunity's history starts with the carried-over move from the lead's qualify stage.
    assert engine.replay(LEAD, history(develop)) == ("develop", ("qualify", "develop"), "active")


def test_switch_starts_a_new_instance_or_resumes_one_unchanged() -> None:
    fresh = engine.resume(LEAD, None, at(1))
    assert (fresh.kind, fresh.from_stage, fresh.to_stage) == ("switch", None, "qualify")
    assert fresh.state == InstanceState("qualify", ("qualify",), "active", at(1))
    assert fresh.pipeline_phase == "1-Qualify"

    finished = state_on(("qualify", "develop"), "finished", completed=True)
    resumed = engine.resume(LEAD, finished, at(2))
    assert resumed.state is finished
    assert (resumed.kind, resumed.from_stage, resumed.to_stage) == ("switch", None, "develop")
    assert resumed.pipeline_phase == "2-Develop"


# --- Gates and refusals --------------------------------------------------------------------------


def test_next_stage_is_gated_on_the_required_steps() -> None:
    state = engine.start(OPPORTUNITY, T0).state
    with pytest.raises(StageGateRefused) as caught:
        engine.next_stage(OPPORTUNITY, state, {"account_id": uuid.uuid4()}, at(1))
    assert caught.value.extra["missing_steps"] == [
        {"field": "contact_id", "label": "Identify Contact"}
    ]
    assert caught.value.detail == "Complete the required steps first: Identify Contact."
    assert caught.value.status == 409


def test_finish_is_gated_on_the_last_stage_required_steps() -> None:
    on_close = state_on(("qualify", "develop", "propose", "close"))
    with pytest.raises(StageGateRefused) as caught:
        engine.finish(OPPORTUNITY, on_close, PROPOSED | {"final_decision_date": ""}, at(1))
    assert caught.value.extra["missing_steps"] == [
        {"field": "final_decision_date", "label": "Confirm Decision Date"}
    ]


def test_boolean_steps_must_be_marked_complete() -> None:
    on_propose = state_on(("qualify", "develop", "propose"))
    with pytest.raises(StageGateRefused, match="Present Proposal"):
        engine.next_stage(OPPORTUNITY, on_propose, {"proposal_presented": False}, at(1))


FINISHED = state_on(("qualify", "develop"), "finished", completed=True)
ABORTED = state_on(("qualify", "develop"), "aborted", completed=True)
ON_QUALIFY = state_on(("qualify",))
ON_DEVELOP = state_on(("qualify", "develop"))
ON_CLOSE = state_on(("qualify", "develop", "propose", "close"))
STALE = state_on(("qualify", "won"))


REFUSALS = [
    (
        "next when finished",
        lambda: engine.next_stage(OPPORTUNITY, FINISHED, CLOSED, T0),
        "The process is finished; reactivate it first.",
    ),
    (
        "next when abandoned",
        lambda: engine.next_stage(OPPORTUNITY, ABORTED, CLOSED, T0),
        "The process is abandoned; reactivate it first.",
    ),
    (
        "next on the last stage",
        lambda: engine.next_stage(OPPORTUNITY, ON_CLOSE, CLOSED, T0),
        "Close is the last stage; use finish.",
    ),
    (
        "previous on the first stage",
        lambda: engine.previous_stage(OPPORTUNITY, ON_QUALIFY, T0),
        "Qualify is the first stage; there is no previous stage.",
    ),
    (
        "previous when finished",
        lambda: engine.previous_stage(OPPORTUNITY, FINISHED, T0),
        "The process is finished; reactivate it first.",
    ),
    (
        "set active on the active stage",
        lambda: engine.set_active(OPPORTUNITY, ON_DEVELOP, "develop", T0),
        "Develop is already the active stage.",
    ),
    (
        "set active ahead",
        lambda: engine.set_active(OPPORTUNITY, ON_DEVELOP, "close", T0),
        "Close is not on the traversed path; only a stage already passed can be made active.",
    ),
    (
        "set active on an unknown stage",
        lambda: engine.set_active(OPPORTUNITY, ON_DEVELOP, "won", T0),
        "'won' is not a stage of process 'opportunity-sales-process'.",
    ),
    (
        "set active when abandoned",
        lambda: engine.set_active(OPPORTUNITY, ABORTED, "qualify", T0),
        "The process is abandoned; reactivate it first.",
    ),
    (
        "finish before the last stage",
        lambda: engine.finish(OPPORTUNITY, ON_DEVELOP, CLOSED, T0),
        "Finish is allowed only on the last stage, Close.",
    ),
    (
        "finish twice",
        lambda: engine.finish(OPPORTUNITY, FINISHED, CLOSED, T0),
        "The process is finished; reactivate it first.",
    ),
    (
        "abandon when finished",
        lambda: engine.abandon(OPPORTUNITY, FINISHED, T0),
        "The process is finished; reactivate it first.",
    ),
    (
        "abandon twice",
        lambda: engine.abandon(OPPORTUNITY, ABORTED, T0),
        "The process is abandoned; reactivate it first.",
    ),
    (
        "reactivate when active",
        lambda: engine.reactivate(OPPORTUNITY, ON_DEVELOP, T0),
        "The process is already active.",
    ),
    (
        "a stage the definition no longer has",
        lambda: engine.next_stage(OPPORTUNITY, STALE, CLOSED, T0),
        "'won' is not a stage of process",
    ),
    (
        "resume on a stage the definition no longer has",
        lambda: engine.resume(OPPORTUNITY, STALE, T0),
        "'won' is not a stage of process",
    ),
]


@pytest.mark.parametrize(
    ("move", "detail"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused_moves(move: Any, detail: str) -> None:
    with pytest.raises(MoveRefused) as caught:
        move()
    assert not isinstance(caught.value, StageGateRefused)
    assert caught.value.detail.startswith(detail)
    assert caught.value.status == 409


def test_the_last_stage_refuses_next_before_looking_at_its_steps() -> None:
    with pytest.raises(MoveRefused, match="last stage") as caught:
        engine.next_stage(OPPORTUNITY, ON_CLOSE, {}, T0)
    assert not isinstance(caught.value, StageGateRefused)


# --- Branching -----------------------------------------------------------------------------------

BRANCHING = load_definition(
    """
key: fast-track
name: {en: Fast track, fr: Voie rapide}
table: opportunity
stages:
  - key: qualify
    name: {en: Qualify, fr: Qualifier}
    category: qualify
    steps:
      - {field: budget_amount, label: {en: Budget, fr: Budget}, required: true}
      - {field: rating, label: {en: Rating, fr: Évaluation}}
    branches:
      - when:
          match: any
          conditions:
            - {field: budget_amount, op: lt, value: 5000}
            - {field: rating, op: eq, value: cold}
        stage: approval
      - when: {conditions: [{field: rating, op: eq, value: hot}]}
        stage: propose
  - key: develop
    name: {en: Develop, fr: Développer}
    category: develop
  - key: propose
    name: {en: Propose, fr: Proposer}
    category: propose
    next: close
  - key: approval
    name: {en: Small deal approval, fr: Approbation}
    category: approval
  - key: close
    name: {en: Close, fr: Clôturer}
    category: close
"""
)


@pytest.mark.parametrize(
    ("record", "path", "phases"),
    [
        ({"budget_amount": 1000}, ("qualify", "approval", "close"), ["8-Approval", "4-Close"]),
        (
            {"budget_amount": 9000, "rating": "cold"},
            ("qualify", "approval", "close"),
            ["8-Approval", "4-Close"],
        ),
        (
            {"budget_amount": 9000, "rating": "hot"},
            ("qualify", "propose", "close"),
            ["3-Propose", "4-Close"],
        ),
        (
            {"budget_amount": 9000},
            ("qualify", "develop", "propose", "close"),
            ["2-Develop", "3-Propose", "4-Close"],
        ),
    ],
)
def test_branching_journey(
    record: dict[str, Any], path: tuple[str, ...], phases: list[str]
) -> None:
    moves = [engine.start(BRANCHING, T0)]
    while not BRANCHING.is_final(moves[-1].state.active_stage):
        moves.append(engine.next_stage(BRANCHING, moves[-1].state, record, at(len(moves))))
    moves.append(engine.finish(BRANCHING, moves[-1].state, record, at(len(moves))))

    assert moves[-1].state.traversed_path == path
    assert [m.pipeline_phase for m in moves[1:-1]] == phases
    assert engine.replay(BRANCHING, history(*moves)) == ("close", path, "finished")

    back = engine.previous_stage(BRANCHING, moves[-2].state, at(99))
    assert back.state.traversed_path == path[:-1]


def test_gate_applies_before_branching() -> None:
    state = engine.start(BRANCHING, T0).state
    with pytest.raises(StageGateRefused, match="Budget"):
        engine.next_stage(BRANCHING, state, {"rating": "hot"}, at(1))


# --- Replay --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "No history to replay."),
        ([("start", None, "won")], "History row 1 (start None→won): unknown stage 'won'"),
        (
            [("previous", None, "qualify")],
            "History row 1 (previous None→qualify): history must begin",
        ),
        (
            [("start", None, "qualify"), ("next", "develop", "propose")],
            "History row 2 (next develop→propose): the active stage was 'qualify'",
        ),
        (
            [("start", None, "develop"), ("next", "develop", "qualify")],
            "'qualify' does not come after 'develop'",
        ),
        (
            [("start", None, "qualify"), ("set_active", "qualify", "develop")],
            "'develop' is not behind the active stage",
        ),
        (
            [("start", None, "qualify"), ("finish", "qualify", "close")],
            "the active stage was 'qualify'",
        ),
        (
            [("start", None, "qualify"), ("switch", "other", "develop")],
            "the active stage was 'qualify'",
        ),
    ],
)
def test_replay_rejects_a_history_that_does_not_hold_together(
    rows: list[tuple[MoveKind, str | None, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        engine.replay(OPPORTUNITY, rows)


def test_replay_of_a_switch_keeps_the_resumed_instance() -> None:
    rows: list[tuple[MoveKind, str | None, str]] = [
        ("start", None, "qualify"),
        ("next", "qualify", "develop"),
        ("abandon", "develop", "develop"),
        ("switch", "qualify", "develop"),  # from: the stage of the process switched away from
    ]
    assert engine.replay(OPPORTUNITY, rows) == ("develop", ("qualify", "develop"), "aborted")
