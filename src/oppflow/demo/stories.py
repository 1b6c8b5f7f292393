"""Opportunity life stories for the bulk generator: pure, deterministic, one row dict per
table row, exactly as the product's services would have written them.

Each story plays one opportunity from its creation to now over a built-in process: moves
forward (and, for the lead's process, starts on Develop, skipping Qualify), back moves,
edits of value, close date, probability and forecast category, owner reassignments, wins
and losses with their close records, reopenings. What it emits mirrors the write paths:
the opportunity row as the last event leaves it (denormalised stage, phase, state, the
steps of every stage it passed), its process instance, one stage-history row per move, its
close records, and the change log of :mod:`oppflow.analytics.changelog` (every tracked
field's birth row, then one row per field that took a new value, old and new encoded the
same way).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from oppflow.analytics.changelog import TRACKED_FIELDS
from oppflow.analytics.timeline import encode
from oppflow.demo.pipeline import JOB_TITLES, PRODUCTS
from oppflow.models.base import RANDOM_BITS, time_ordered_id
from oppflow.process.definition import ProcessDefinition
from oppflow.process.fields import pipeline_phase

Row = dict[str, Any]
LEAD_PROCESS = "lead-to-opportunity-sales-process"
OPPORTUNITY_PROCESS = "opportunity-sales-process"
LEAD_SHARE = 0.25  # deals qualified from a lead: they start on Develop
HISTORY_DAYS = 3 * 365
STEP_BOOLEANS = (
    "decision_maker_identified", "stakeholders_identified", "competitors_identified",
    "sales_team_identified", "proposal_developed", "internal_review_completed",
    "proposal_presented", "final_proposal_completed", "final_proposal_presented",
    "thank_you_note_sent", "debrief_filed",
)  # fmt: skip
STEP_OTHERS = (
    "purchase_timeframe", "budget_amount", "purchase_process", "customer_need",
    "proposed_solution", "final_decision_date",
)  # fmt: skip
# Per stage index (0 = first stage of the opportunity process): the chance that the next
# stage decision loses the deal, moves it back, and wins it straight away.
LOSS_CHANCE = (0.22, 0.18, 0.2, 0.25)
BACK_CHANCE = 0.07
EARLY_WIN_CHANCE = (0.0, 0.02, 0.05, 0.65)
REOPEN_CHANCE = 0.1
EDIT_CHANCE = 0.45
STALL_CHANCE = 0.04  # a dwell of months: the stale deals
CATEGORIES = ("pipeline", "best_case", "committed", "omitted")


@dataclass(frozen=True)
class StagePlan:
    """One stage as the generator needs it, read from the process definition."""

    key: str
    phase: str
    probability: int
    forecast_category: str
    required: tuple[str, ...]
    optional: tuple[str, ...]


@dataclass(frozen=True)
class ProcessPlan:
    """A process's opportunity stages, its row id and version."""

    key: str
    process_id: uuid.UUID
    version: int
    stages: tuple[StagePlan, ...]
    lead_stage: str | None  # the stage the lead ran before it was qualified

    @classmethod
    def of(cls, definition: ProcessDefinition, process_id: uuid.UUID, version: int) -> ProcessPlan:
        stages = tuple(
            StagePlan(
                key=s.key,
                phase=pipeline_phase(s.category),
                probability=s.probability or 0,
                forecast_category=s.forecast_category or "pipeline",
                required=tuple(step.field for step in s.steps if step.required),
                optional=tuple(step.field for step in s.steps if not step.required),
            )
            for s in definition.stages
            if s.table == "opportunity"
        )
        leads = [s.key for s in definition.stages if s.table == "lead"]
        return cls(definition.key, process_id, version, stages, leads[-1] if leads else None)


@dataclass(frozen=True)
class Owner:
    user_id: uuid.UUID
    business_unit_id: uuid.UUID


@dataclass(frozen=True)
class Customer:
    account_id: uuid.UUID
    account_name: str
    contact_id: uuid.UUID


@dataclass(frozen=True)
class Cast:
    """Who and what the stories draw from: processes, owners by unit, customers, competitors."""

    processes: dict[str, ProcessPlan]
    owners: tuple[Owner, ...]
    customers: tuple[Customer, ...]
    competitors: tuple[uuid.UUID, ...]
    now: datetime

    def owner_near(self, rng: random.Random, current: Owner) -> Owner:
        """Another owner, from the same business unit four times in five."""
        same = [o for o in self.owners if o.business_unit_id == current.business_unit_id]
        pool = same if rng.random() < 0.8 and len(same) > 1 else list(self.owners)
        choices = [o for o in pool if o != current] or pool
        return rng.choice(choices)


@dataclass
class Story:
    """The rows one opportunity leaves in each table."""

    opportunity: Row
    instance: Row
    history: list[Row] = field(default_factory=list)
    changes: list[Row] = field(default_factory=list)
    closes: list[Row] = field(default_factory=list)
    stakeholder: Row | None = None
    lead: Row | None = None
    lead_history: Row | None = None


def seeded_id(rng: random.Random, made: datetime) -> uuid.UUID:
    """The id of a record ``made`` then, as the product would have given it (time-ordered,
    decision 0048), its random bits from ``rng``: the same seed gives the same ids."""
    return time_ordered_id(made, rng.getrandbits(RANDOM_BITS))


def contact_row(rng: random.Random, customer: Customer, owner: Owner, at: datetime) -> Row:
    """A contact of ``customer``'s account, as the contact service writes it."""
    from oppflow.demo.pipeline import FIRST_NAMES, LAST_NAMES

    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "id": customer.contact_id,
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}@example.com".lower().replace(" ", ""),
        "phone": None,
        "job_title": rng.choice(JOB_TITLES),
        "account_id": customer.account_id,
        "description": None,
        **_owned(owner, at),
    }


def account_row(customer: Customer, industry: str, owner: Owner, at: datetime) -> Row:
    """An account, as the account service writes it."""
    return {
        "id": customer.account_id,
        "name": customer.account_name,
        "website": None,
        "phone": None,
        "email": None,
        "industry": industry,
        "city": None,
        "country": None,
        "description": None,
        **_owned(owner, at),
    }


def _owned(owner: Owner, at: datetime) -> Row:
    return {
        "owner_id": owner.user_id,
        "owning_business_unit_id": owner.business_unit_id,
        "created_at": at,
        "created_by_id": owner.user_id,
        "modified_at": at,
        "modified_by_id": owner.user_id,
        "version": 1,
    }


def creation_moments(rng: random.Random, now: datetime, count: int) -> Iterator[datetime]:
    """When ``count`` deals were created, in time order: over the last three years, more of
    them lately (a growing team), never in the last hour. Each is ``now`` less ``days(u)``
    for a uniform ``u``, drawn as the order statistics of ``count`` uniforms, one after the
    other: memory stays bounded whatever the count. In time order (to within a day: the
    time of day is drawn apart), the rows of the deals told together, keyed by their
    time-ordered ids, are added at the end of the indexes that lead with those ids, rather
    than on a random page of each (decision 0048)."""
    drawn = 0.0  # the last order statistic drawn: the uniforms not yet drawn all lie above it
    for left in range(count, 0, -1):
        drawn = 1 - (1 - drawn) * rng.random() ** (1 / left)
        days = HISTORY_DAYS * (1 - drawn**0.6)
        yield now - timedelta(days=days, hours=1, seconds=rng.randrange(86_400))


def tell(rng: random.Random, cast: Cast, created: datetime) -> Story:
    """One opportunity's whole life, from its creation at ``created`` to ``cast.now``."""
    life = _Life.born(rng, cast, created)
    while life.next_event():
        pass
    return life.story()


class _Life:
    """An opportunity being lived: its tracked values, process path and the rows so far."""

    def __init__(self, rng: random.Random, cast: Cast, process: ProcessPlan, at: datetime) -> None:
        self.rng, self.cast, self.process, self.at = rng, cast, process, at
        self.owner = self.creator = rng.choice(cast.owners)
        self.customer = rng.choice(cast.customers)
        self.id = seeded_id(rng, at)
        self.values: Row = dict.fromkeys(TRACKED_FIELDS)
        self.encoded: dict[str, str | None] = dict.fromkeys(TRACKED_FIELDS)
        self.steps: Row = {**dict.fromkeys(STEP_OTHERS), **dict.fromkeys(STEP_BOOLEANS, False)}
        self.path: list[str] = [process.stages[0].key]
        self.stage_since = at
        self.changes: list[Row] = []
        self.history: list[Row] = []
        self.closes: list[Row] = []
        self.reopened = 0
        self.events = 0

    @classmethod
    def born(cls, rng: random.Random, cast: Cast, created: datetime) -> _Life:
        key = LEAD_PROCESS if rng.random() < LEAD_SHARE else OPPORTUNITY_PROCESS
        life = cls(rng, cast, cast.processes[key], created)
        life.begin()
        return life

    # --- the events ---------------------------------------------------------------------

    def begin(self) -> None:
        label, value = self.rng.choice(PRODUCTS).draw(self.rng)
        self.name = f"{self.customer.account_name}: {label}"
        self.need, self.solution = self._product_texts(label)
        first = self.process.stages[0]
        self.created_at = self.at
        close_in = timedelta(days=_between(self.rng, 30, 180))
        self._set(
            process_key=self.process.key,
            active_stage=first.key,
            pipeline_phase=first.phase,
            state="open",
            status_reason="in_progress",
            owner_id=self.owner.user_id,
            estimated_value=value,
            estimated_close_date=(self.at + close_in).date(),
            probability=first.probability if self.rng.random() < 0.5 else None,
            forecast_category="pipeline",
        )
        self._stage_row("start", None, first)

    def _product_texts(self, label: str) -> tuple[str, str]:
        for product in PRODUCTS:
            if label.endswith(product.label.replace("{n} ", "")):
                return product.need, product.solution
        return label, label

    def next_event(self) -> bool:
        """Play the next event; False once the story has reached now or is over."""
        self.at += self._dwell()
        if self.at >= self.cast.now:
            return False
        self.events += 1
        if self.values["state"] != "open":
            return self._maybe_reopen()
        if self.rng.random() < EDIT_CHANCE:
            self._edit()
        else:
            self._decide()
        return True

    def _dwell(self) -> timedelta:
        if self.rng.random() < STALL_CHANCE:
            return timedelta(days=_between(self.rng, 60, 400), minutes=_between(self.rng, 1, 600))
        return timedelta(days=_between(self.rng, 2, 30), minutes=_between(self.rng, 1, 600))

    def _maybe_reopen(self) -> bool:
        if self.reopened >= 2 or self.rng.random() >= REOPEN_CHANCE:
            return False
        self.reopened += 1
        self.closes[-1]["status"] = "canceled"
        self._set(
            state="open",
            status_reason="in_progress",
            forecast_category="pipeline",
            actual_value=None,
            actual_close_date=None,
        )
        return True

    def _edit(self) -> None:
        roll = self.rng.random()
        if roll < 0.35 or self._close_date_passed():
            self._push_close_date()
        elif roll < 0.6:
            self._set(estimated_value=_revalued(self.rng, self.values["estimated_value"]))
        elif roll < 0.75:
            self._set(probability=_nudged(self.rng, self._stage().probability))
        elif roll < 0.92:
            self._set(forecast_category=self.rng.choice(CATEGORIES))
        else:
            self.owner = self.cast.owner_near(self.rng, self.owner)
            self._set(owner_id=self.owner.user_id)

    def _close_date_passed(self) -> bool:
        day: date | None = self.values["estimated_close_date"]
        return day is not None and day < self.at.date()

    def _push_close_date(self) -> None:
        start = max(self.values["estimated_close_date"] or self.at.date(), self.at.date())
        self._set(estimated_close_date=start + timedelta(days=_between(self.rng, 7, 90)))

    def _decide(self) -> None:
        index, last = self._index(), len(self.process.stages) - 1
        loss = _by_distance_to_end(LOSS_CHANCE, last - index)
        roll = self.rng.random()
        if roll < loss:
            self._lose()
        elif roll < loss + BACK_CHANCE and len(self.path) > 1:
            self._move_back()
        elif index == last or self.rng.random() < _by_distance_to_end(
            EARLY_WIN_CHANCE, last - index
        ):
            self._win()
        else:
            self._move_next()

    # --- stage moves and closes ---------------------------------------------------------

    def _index(self) -> int:
        return [s.key for s in self.process.stages].index(self.values["active_stage"])

    def _stage(self) -> StagePlan:
        return self.process.stages[self._index()]

    def _move_next(self) -> None:
        here = self._stage()
        self._fill_steps(here)
        target = self.process.stages[self._index() + 1]
        self.path.append(target.key)
        self._enter(target, "next", here.key)
        if self.rng.random() < 0.5 and target.forecast_category != "pipeline":
            self.at += timedelta(minutes=_between(self.rng, 1, 30))
            self._set(forecast_category=target.forecast_category)

    def _move_back(self) -> None:
        here = self.values["active_stage"]
        back_to = self.path[-2] if self.rng.random() < 0.8 else self.path[0]
        kind = "previous" if back_to == self.path[-2] else "set_active"
        del self.path[self.path.index(back_to) + 1 :]
        self._enter(self._by_key(back_to), kind, here)

    def _by_key(self, key: str) -> StagePlan:
        return next(s for s in self.process.stages if s.key == key)

    def _enter(self, stage: StagePlan, kind: str, from_stage: str) -> None:
        self.stage_since = self.at
        self._set(active_stage=stage.key, pipeline_phase=stage.phase)
        self._stage_row(kind, from_stage, stage)

    def _fill_steps(self, stage: StagePlan) -> None:
        for name in stage.required + tuple(f for f in stage.optional if self.rng.random() < 0.6):
            if name in self.steps and not self.steps[name]:
                self.steps[name] = self._step_value(name)

    def _step_value(self, name: str) -> Any:
        if name in STEP_BOOLEANS:
            return True
        texts: Row = {
            "customer_need": self.need,
            "proposed_solution": self.solution,
            "purchase_timeframe": self.rng.choice(("this_quarter", "next_quarter", "this_year")),
            "purchase_process": self.rng.choice(("individual", "committee")),
            "budget_amount": self.values["estimated_value"],
            "final_decision_date": self.at.date() + timedelta(days=_between(self.rng, 3, 30)),
        }
        return texts.get(name)

    def _win(self) -> None:
        revenue = self.values["estimated_value"]
        self._close("won", "won", revenue=revenue, probability=100)

    def _lose(self) -> None:
        reason = "out_sold" if self.rng.random() < 0.65 else "canceled"
        competitor = self.rng.choice(self.cast.competitors) if reason == "out_sold" else None
        self._close("lost", reason, competitor=competitor, probability=0)

    def _close(
        self,
        outcome: str,
        reason: str,
        *,
        probability: int,
        revenue: Decimal | None = None,
        competitor: uuid.UUID | None = None,
    ) -> None:
        self._set(
            actual_value=revenue,
            probability=probability,
            state=outcome,
            status_reason=reason,
            forecast_category=outcome,
            actual_close_date=self.at.date(),
        )
        self.closes.append(
            {
                "id": seeded_id(self.rng, self.at),
                "opportunity_id": self.id,
                "outcome": outcome,
                "status": "completed",
                "status_reason": reason,
                "actual_revenue": revenue,
                "close_date": self.at.date(),
                "competitor_id": competitor,
                "description": None,
                "created_at": self.at,
                "created_by_id": self.owner.user_id,
            }
        )

    # --- the rows -----------------------------------------------------------------------

    def _set(self, **values: Any) -> None:
        """Change tracked fields at ``self.at``: one log row per field whose encoded value
        changed (a birth row per field that is set, when the log is still empty)."""
        born = not self.changes
        for name, new in values.items():
            old, text = self.encoded[name], encode(new)
            self.values[name], self.encoded[name] = new, text
            if old == text or (born and new is None):
                continue
            self.changes.append(
                {
                    "opportunity_id": self.id,
                    "field": name,
                    "old_value": old,
                    "new_value": text,
                    "effective_at": self.at,
                    "recorded_at": self.at,
                    "actor_id": self.owner.user_id,
                }
            )
        self.modified_at = self.at

    def _stage_row(self, kind: str, from_stage: str | None, stage: StagePlan) -> None:
        self.history.append(
            {
                "opportunity_id": self.id,
                "lead_id": None,
                "process_key": self.process.key,
                "kind": kind,
                "from_stage": from_stage,
                "to_stage": stage.key,
                "pipeline_phase": stage.phase,
                "estimated_value": self.values["estimated_value"],
                "at": self.at,
                "by_id": self.owner.user_id,
            }
        )

    def story(self) -> Story:
        story = Story(
            opportunity=self._opportunity_row(),
            instance=self._instance_row(),
            history=self.history,
            changes=self.changes,
            closes=self.closes,
            stakeholder={
                "opportunity_id": self.id,
                "contact_id": self.customer.contact_id,
                "role": "stakeholder",
                "created_at": self.created_at,
                "created_by_id": self.history[0]["by_id"],
            },
        )
        if self.process.lead_stage is not None:
            _from_lead(self.rng, story, self.process, self.customer, self.creator)
        return story

    def _opportunity_row(self) -> Row:
        values = self.values
        return {
            "id": self.id,
            "name": self.name[:300],
            "owning_business_unit_id": self.owner.business_unit_id,
            "account_id": self.customer.account_id,
            "contact_id": self.customer.contact_id,
            "rating": self.rng.choice(("cold", "warm", "hot")),
            "description": None,
            "currency": "USD",
            "originating_lead_id": None,
            **{name: values[name] for name in TRACKED_FIELDS},
            **self.steps,
            "created_at": self.created_at,
            "created_by_id": self.history[0]["by_id"],
            "modified_at": self.modified_at,
            "modified_by_id": self.owner.user_id,
            "version": 1 + self.events,
        }

    def _instance_row(self) -> Row:
        return {
            "id": seeded_id(self.rng, self.created_at),
            "process_id": self.process.process_id,
            "process_version": self.process.version,
            "opportunity_id": self.id,
            "lead_id": None,
            "active_stage": self.values["active_stage"],
            "active_stage_started_at": self.stage_since,
            "traversed_path": list(self.path),
            "status": "active",
            "completed_at": None,
            "last_used_at": self.stage_since,
            "version": len(self.history),
        }


def _from_lead(
    rng: random.Random, story: Story, process: ProcessPlan, customer: Customer, creator: Owner
) -> None:
    """The qualified lead the opportunity came from: the lead row, its start on the lead's
    stage, and the instance and first move carried over to the opportunity."""
    opportunity = story.opportunity
    began = opportunity["created_at"] - timedelta(
        days=_between(rng, 1, 30), minutes=_between(rng, 1, 600)
    )
    lead_id = seeded_id(rng, began)
    first = story.history[0]
    story.lead = _lead_row(lead_id, opportunity, customer, creator, began)
    story.lead_history = {
        **first,
        "opportunity_id": None,
        "lead_id": lead_id,
        "kind": "start",
        "from_stage": None,
        "to_stage": process.lead_stage,
        "pipeline_phase": pipeline_phase("qualify"),
        "at": began,
        "by_id": creator.user_id,
    }
    first.update(kind="next", from_stage=process.lead_stage, lead_id=lead_id)
    story.instance["lead_id"] = lead_id
    story.instance["traversed_path"] = [process.lead_stage, *story.instance["traversed_path"]]
    opportunity["originating_lead_id"] = lead_id


def _lead_row(
    lead_id: uuid.UUID, opportunity: Row, customer: Customer, creator: Owner, began: datetime
) -> Row:
    return {
        "id": lead_id,
        "topic": opportunity["name"],
        "first_name": None,
        "last_name": None,
        "company_name": customer.account_name,
        "email": None,
        "phone": None,
        "estimated_value": None,
        "source": "web",
        "description": None,
        "owner_id": creator.user_id,
        "owning_business_unit_id": creator.business_unit_id,
        "state": "qualified",
        "status_reason": "qualified",
        "contact_id": customer.contact_id,
        "account_id": customer.account_id,
        "purchase_timeframe": None,
        "budget_amount": None,
        "purchase_process": None,
        "decision_maker_identified": False,
        "qualified_account_id": customer.account_id,
        "qualified_contact_id": customer.contact_id,
        "qualified_opportunity_id": opportunity["id"],
        "created_at": began,
        "created_by_id": opportunity["created_by_id"],
        "modified_at": opportunity["created_at"],
        "modified_by_id": opportunity["created_by_id"],
        "version": 2,
    }


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)`` at a fraction of its cost (it is called millions of times)."""
    return low + int(rng.random() * (high - low + 1))


def _by_distance_to_end(chances: tuple[float, ...], distance: int) -> float:
    """The chance of the stage ``distance`` stages before the last one (the lead's process
    has no Qualify among its opportunity stages, so stages are matched from the end)."""
    return chances[max(0, len(chances) - 1 - distance)]


def _revalued(rng: random.Random, value: Decimal | None) -> Decimal:
    base = value if value is not None else Decimal(10_000)
    factor = Decimal(rng.choice((80, 90, 95, 105, 110, 125, 150)))
    return max(Decimal(500), (base * factor / 100).quantize(Decimal(10)))


def _nudged(rng: random.Random, default: int) -> int:
    return max(5, min(95, default + rng.choice((-15, -10, -5, 5, 10, 15))))
