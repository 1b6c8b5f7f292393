"""The process engine: pure moves of a process instance over a definition and a record.

Each move answers "may this happen, and what changes" without touching the database: it takes an
`InstanceState` (and, for gated moves, the record's field values) and returns a `Transition` whose
`state` is the new instance state, or raises `MoveRefused` / `StageGateRefused`. States are frozen;
nothing is mutated. The service persists the new state and appends the history row
(`kind`, `from_stage`, `to_stage`, `pipeline_phase`).

Invariants of every state a move returns:
- `active_stage == traversed_path[-1]`, and `traversed_path` is never empty;
- every stage on the path exists in the definition;
- the path is a forward walk: each stage comes later in list order than the one before it (so no
  stage appears twice), and its first stage is where the instance started;
- `completed_at` is set exactly when `status` is `finished` or `aborted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, NamedTuple

from oppflow.errors import MoveRefused, StageGateRefused
from oppflow.process.definition import ProcessDefinition, Step
from oppflow.process.fields import pipeline_phase

Status = Literal["active", "finished", "aborted"]
MoveKind = Literal[
    "start", "next", "previous", "set_active", "finish", "abandon", "reactivate", "switch"
]


@dataclass(frozen=True)
class InstanceState:
    """Where a record stands in one process."""

    active_stage: str
    traversed_path: tuple[str, ...]
    status: Status
    active_stage_started_at: datetime
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """The outcome of a move: the new state and what the history row records."""

    kind: MoveKind
    from_stage: str | None
    to_stage: str
    state: InstanceState
    pipeline_phase: str


class ReplayedState(NamedTuple):
    """The state rebuilt from history rows (timestamps are not part of the history's meaning)."""

    active_stage: str
    traversed_path: tuple[str, ...]
    status: Status


def is_step_complete(value: Any) -> bool:
    """Whether a step's field value counts as filled.

    None and blank strings are empty; a mark-complete (boolean) step must be True; anything else,
    including 0 and Decimal(0), is filled.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return bool(value.strip())
    return True


def missing_steps(
    definition: ProcessDefinition, stage_key: str, record: Mapping[str, Any]
) -> list[Step]:
    """The required steps of a stage that the record leaves empty, in the stage's order."""
    stage = definition.stage(stage_key)
    return [s for s in stage.steps if s.required and not is_step_complete(record.get(s.field))]


def start(definition: ProcessDefinition, now: datetime) -> Transition:
    """A new instance on the first stage."""
    first = definition.first_stage.key
    return _transition(definition, "start", None, InstanceState(first, (first,), "active", now))


def resume(definition: ProcessDefinition, state: InstanceState | None, now: datetime) -> Transition:
    """Make this process current (switch process): resume `state`, or start anew when None.

    The state is returned unchanged (whatever its status); `from_stage` is None and the service
    records the stage of the process it switched away from.
    """
    if state is None:
        return replace(start(definition, now), kind="switch")
    _require_stage(definition, state.active_stage)
    return _transition(definition, "switch", None, state)


def next_stage(
    definition: ProcessDefinition,
    state: InstanceState,
    record: Mapping[str, Any],
    now: datetime,
) -> Transition:
    """Move to the successor of the active stage once its required steps are complete."""
    _require_active(definition, state)
    current = state.active_stage
    target = definition.successor(current, record)
    if target is None:
        name = definition.stage(current).name.en
        raise MoveRefused(f"{name} is the last stage; use finish.", stage=current)
    _require_steps(definition, current, record)
    path = (*state.traversed_path, target)
    new = replace(state, active_stage=target, traversed_path=path, active_stage_started_at=now)
    return _transition(definition, "next", current, new)


def previous_stage(
    definition: ProcessDefinition, state: InstanceState, now: datetime
) -> Transition:
    """Move back to the stage before the active one on the traversed path."""
    _require_active(definition, state)
    if len(state.traversed_path) < 2:
        name = definition.stage(state.active_stage).name.en
        raise MoveRefused(f"{name} is the first stage; there is no previous stage.")
    return _back_to(definition, state, state.traversed_path[-2], "previous", now)


def set_active(
    definition: ProcessDefinition, state: InstanceState, stage_key: str, now: datetime
) -> Transition:
    """Move back to an earlier stage of the traversed path, dropping the stages after it."""
    _require_active(definition, state)
    _require_stage(definition, stage_key)
    name = definition.stage(stage_key).name.en
    if stage_key == state.active_stage:
        raise MoveRefused(f"{name} is already the active stage.", stage=stage_key)
    if stage_key not in state.traversed_path:
        raise MoveRefused(
            f"{name} is not on the traversed path; only a stage already passed can be made active.",
            stage=stage_key,
        )
    return _back_to(definition, state, stage_key, "set_active", now)


def finish(
    definition: ProcessDefinition,
    state: InstanceState,
    record: Mapping[str, Any],
    now: datetime,
) -> Transition:
    """Finish the process on its last stage once that stage's required steps are complete."""
    _require_active(definition, state)
    current = state.active_stage
    if not definition.is_final(current):
        last = definition.stages[-1].name.en
        raise MoveRefused(f"Finish is allowed only on the last stage, {last}.", stage=current)
    _require_steps(definition, current, record)
    new = replace(state, status="finished", completed_at=now)
    return _transition(definition, "finish", current, new)


def abandon(definition: ProcessDefinition, state: InstanceState, now: datetime) -> Transition:
    """Abandon an active instance; it keeps its stage and path."""
    _require_active(definition, state)
    new = replace(state, status="aborted", completed_at=now)
    return _transition(definition, "abandon", state.active_stage, new)


def reactivate(definition: ProcessDefinition, state: InstanceState, now: datetime) -> Transition:
    """Make a finished or abandoned instance active again, on the stage where it stopped."""
    if state.status == "active":
        raise MoveRefused("The process is already active.")
    _require_stage(definition, state.active_stage)
    new = replace(state, status="active", completed_at=None)
    return _transition(definition, "reactivate", state.active_stage, new)


def recorded_move(
    definition: ProcessDefinition, state: InstanceState, stage_key: str, at: datetime
) -> Transition:
    """A stage change that already happened in another system (imported history), so not gated
    by required steps: back to a stage of the path (``set_active``) or on to a later stage
    (``next``), keeping every invariant above."""
    _require_active(definition, state)
    _require_stage(definition, stage_key)
    if stage_key in state.traversed_path[:-1]:
        return _back_to(definition, state, stage_key, "set_active", at)
    if definition.index(stage_key) <= definition.index(state.active_stage):
        name = definition.stage(stage_key).name.en
        raise MoveRefused(
            f"{name} is the active stage or comes before it off the path.", stage=stage_key
        )
    path = (*state.traversed_path, stage_key)
    new = replace(state, active_stage=stage_key, traversed_path=path, active_stage_started_at=at)
    return _transition(definition, "next", state.active_stage, new)


def replay(
    definition: ProcessDefinition, transitions: Iterable[tuple[MoveKind, str | None, str]]
) -> ReplayedState:
    """Rebuild an instance from its history rows `(kind, from_stage, to_stage)`, oldest first.

    History may begin with `start`, `switch`, or a move whose `from_stage` the instance was carried
    over on (a qualified lead's `next` from `qualify`). Raises ValueError naming the first row
    that does not follow from the ones before it.
    """
    state: ReplayedState | None = None
    for number, (kind, from_stage, to_stage) in enumerate(transitions, start=1):
        try:
            state = _replay_row(definition, state, kind, from_stage, to_stage)
        except ValueError as exc:
            raise ValueError(
                f"History row {number} ({kind} {from_stage}→{to_stage}): {exc}"
            ) from None
    if state is None:
        raise ValueError("No history to replay.")
    return state


# --- Helpers -------------------------------------------------------------------------------------


def _transition(
    definition: ProcessDefinition, kind: MoveKind, from_stage: str | None, state: InstanceState
) -> Transition:
    phase = pipeline_phase(definition.stage(state.active_stage).category)
    return Transition(kind, from_stage, state.active_stage, state, phase)


def _require_stage(definition: ProcessDefinition, stage_key: str) -> None:
    if not definition.has_stage(stage_key):
        raise MoveRefused(
            f"{stage_key!r} is not a stage of process {definition.key!r}.", stage=stage_key
        )


def _require_active(definition: ProcessDefinition, state: InstanceState) -> None:
    if state.status == "finished":
        raise MoveRefused(
            "The process is finished; reactivate it first.", process_status=state.status
        )
    if state.status == "aborted":
        raise MoveRefused(
            "The process is abandoned; reactivate it first.", process_status=state.status
        )
    _require_stage(definition, state.active_stage)


def _require_steps(
    definition: ProcessDefinition, stage_key: str, record: Mapping[str, Any]
) -> None:
    missing = missing_steps(definition, stage_key, record)
    if missing:
        raise StageGateRefused([{"field": s.field, "label": s.label.en} for s in missing])


def _back_to(
    definition: ProcessDefinition,
    state: InstanceState,
    stage_key: str,
    kind: MoveKind,
    now: datetime,
) -> Transition:
    path = state.traversed_path[: state.traversed_path.index(stage_key) + 1]
    new = replace(state, active_stage=stage_key, traversed_path=path, active_stage_started_at=now)
    return _transition(definition, kind, state.active_stage, new)


def _replay_row(
    definition: ProcessDefinition,
    state: ReplayedState | None,
    kind: MoveKind,
    from_stage: str | None,
    to_stage: str,
) -> ReplayedState:
    if not definition.has_stage(to_stage):
        raise ValueError(f"unknown stage {to_stage!r}")
    if kind == "start" or (state is None and kind == "switch"):
        return ReplayedState(to_stage, (to_stage,), "active")
    if state is None:
        if from_stage is None or not definition.has_stage(from_stage):
            raise ValueError("history must begin with start, switch or a move from a known stage")
        state = ReplayedState(from_stage, (from_stage,), "active")
    if kind != "switch" and from_stage is not None and from_stage != state.active_stage:
        raise ValueError(f"the active stage was {state.active_stage!r}")
    return _replay_move(definition, state, kind, to_stage)


def _replay_move(
    definition: ProcessDefinition, state: ReplayedState, kind: MoveKind, to_stage: str
) -> ReplayedState:
    path = state.traversed_path
    if kind == "next":
        if definition.index(to_stage) <= definition.index(state.active_stage):
            raise ValueError(f"{to_stage!r} does not come after {state.active_stage!r}")
        return ReplayedState(to_stage, (*path, to_stage), state.status)
    if kind in ("previous", "set_active"):
        if to_stage not in path[:-1]:
            raise ValueError(f"{to_stage!r} is not behind the active stage on the path")
        return ReplayedState(to_stage, path[: path.index(to_stage) + 1], state.status)
    if to_stage != state.active_stage:
        raise ValueError(f"the active stage was {state.active_stage!r}")
    statuses: dict[str, Status] = {
        "finish": "finished",
        "abandon": "aborted",
        "reactivate": "active",
    }
    return state._replace(status=statuses.get(kind, state.status))
