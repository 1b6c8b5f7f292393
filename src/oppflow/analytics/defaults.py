"""Per-stage defaults of the processes (ANALYTICS.md §3) and the order of pipeline phases."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oppflow.analytics.timeline import State, phase_number
from oppflow.analytics.totals import Contribution
from oppflow.process.definition import ProcessDefinition
from oppflow.process.fields import pipeline_phase

CLOSED_PROBABILITY = {"won": 100, "lost": 0}


@dataclass(frozen=True)
class StageDefault:
    pipeline_phase: str
    probability: int | None
    forecast_category: str | None
    stale_after_days: int | None


@dataclass(frozen=True)
class Defaults:
    """What the process definitions say, read once per report."""

    stages: dict[tuple[str, str], StageDefault]
    stale_after_days: int

    @classmethod
    def of(cls, definitions: list[ProcessDefinition], stale_after_days: int) -> Defaults:
        stages = {
            (definition.key, stage.key): StageDefault(
                pipeline_phase(stage.category),
                stage.probability,
                stage.forecast_category,
                stage.stale_after_days,
            )
            for definition in definitions
            for stage in definition.stages
            if stage.table == "opportunity"
        }
        return cls(stages, stale_after_days)

    def stage(self, state: State) -> StageDefault | None:
        return self.stages.get((state["process_key"], state["active_stage"]))

    def probability(self, state: State) -> int:
        """The opportunity's own probability, else its stage's default, else 0 (closed: 100
        when won, 0 when lost, as the close sets it)."""
        if state["state"] in CLOSED_PROBABILITY and state["probability"] is None:
            return CLOSED_PROBABILITY[state["state"]]
        if state["probability"] is not None:
            return int(state["probability"])
        found = self.stage(state)
        return found.probability if found and found.probability is not None else 0

    def weighted(self, state: State) -> Decimal:
        value: Decimal = state["estimated_value"] or Decimal(0)
        return value * self.probability(state) / 100

    def weighted_total(self, part: Contribution) -> Decimal:
        """A summed contribution's Σ value × probability / 100, each missing probability
        standing at the default of the stage the contribution is kept for."""
        found = self.stages.get((part.key[2], part.key[3]))
        default = found.probability if found and found.probability is not None else 0
        return (part.probable + part.unweighted * default) / 100

    def stale_threshold(self, state: State) -> int:
        found = self.stage(state)
        if found is None or found.stale_after_days is None:
            return self.stale_after_days
        return found.stale_after_days

    def phases(self, process: str | None) -> list[str]:
        """The pipeline phases of the opportunity stages (of one process, or of all), in order."""
        found = {
            default.pipeline_phase
            for (key, _stage), default in self.stages.items()
            if process is None or key == process
        }
        return sorted(found, key=phase_number)

    def phase_probability(self, phase: str, process: str | None) -> int | None:
        """The default probability of the first stage in ``phase`` (of ``process``)."""
        for (key, _stage), default in self.stages.items():
            right_process = process is None or key == process
            if right_process and default.pipeline_phase == phase:
                return default.probability
        return None
