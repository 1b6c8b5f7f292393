"""Process definitions: typed, validated models loaded from YAML (or any JSON-like mapping).

A definition is data: an ordered list of stages, each with steps (fields of the record) and
optional branches whose conditions, on the fields of the stage being left, pick the next stage.
Every rule that can be checked without a record is checked when the definition is built, so the
engine can trust what it is given. Conditions are evaluated with plain comparisons, never `eval`.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from oppflow.errors import ValidationFailed
from oppflow.process.fields import STEP_FIELDS, Category, FieldSpec, TableName

MAX_STAGES = 30
MAX_STEPS = 30
MAX_CONDITIONS = 20

StageForecastCategory = Literal["pipeline", "best_case", "committed", "omitted"]
Operator = Literal["eq", "ne", "gt", "ge", "lt", "le", "in", "is_null", "not_null"]
ProcessKey = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=3, max_length=64)
]
StageKey = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", min_length=1, max_length=64)
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_ORDERED_KINDS = ("money", "integer", "date")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(_Frozen):
    """A label in English and French."""

    en: Label
    fr: Label

    def get(self, language: str) -> str:
        """The label in `language` ("fr" or anything else for English)."""
        return self.fr if language.lower().startswith("fr") else self.en


class Condition(_Frozen):
    """One comparison of a record field with a literal value."""

    field: str
    op: Operator
    value: Any = None


class ConditionGroup(_Frozen):
    """Conditions joined by AND (`all`) or OR (`any`)."""

    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition, ...] = Field(min_length=1, max_length=MAX_CONDITIONS)


class Branch(_Frozen):
    """Go to `stage` when `when` holds on the record leaving the stage that lists this branch."""

    when: ConditionGroup
    stage: StageKey


class Step(_Frozen):
    """A field of the record to fill (or, for a boolean, to mark complete) in a stage."""

    field: str
    label: LocalizedText
    required: bool = False


class Stage(_Frozen):
    """A stage of a process; `table` is filled with the process table when the process loads."""

    key: StageKey
    name: LocalizedText
    category: Category
    table: TableName | None = None
    steps: tuple[Step, ...] = Field(default=(), max_length=MAX_STEPS)
    branches: tuple[Branch, ...] = Field(default=(), max_length=MAX_STAGES)
    next: StageKey | None = None
    # Defaults for the pipeline reports (ANALYTICS.md §3): the probability that weights an
    # opportunity with none of its own, its usual forecast category, and after how many days
    # in the stage it is stale (0 = never; absent = the global default).
    probability: Annotated[int, Field(ge=0, le=100)] | None = None
    forecast_category: StageForecastCategory | None = None
    stale_after_days: Annotated[int, Field(ge=0, le=3650)] | None = None


class ProcessDefinition(_Frozen):
    """A business process flow: an ordered list of stages on a primary table."""

    key: ProcessKey
    name: LocalizedText
    description: str = Field(default="", max_length=4000)
    table: TableName
    stages: tuple[Stage, ...] = Field(min_length=1, max_length=MAX_STAGES)

    @field_validator("stages")
    @classmethod
    def _default_stage_tables(
        cls, stages: tuple[Stage, ...], info: ValidationInfo
    ) -> tuple[Stage, ...]:
        table = info.data.get("table")
        if table is None:  # the table itself is invalid and reported on its own
            return stages
        return tuple(s if s.table else s.model_copy(update={"table": table}) for s in stages)

    @model_validator(mode="after")
    def _check_rules(self) -> ProcessDefinition:
        problems = list(_problems(self))
        if problems:
            raise PydanticCustomError(
                "process_rule",
                "{summary}",
                {
                    "summary": "; ".join(f"{loc}: {msg}" for loc, msg in problems),
                    "problems": problems,
                },
            )
        return self

    def stage(self, key: str) -> Stage:
        """The stage named `key`; ValidationFailed when there is none."""
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise ValidationFailed(f"Unknown stage {key!r} in process {self.key!r}.", stage=key)

    def has_stage(self, key: str) -> bool:
        """Whether the process has a stage named `key`."""
        return any(stage.key == key for stage in self.stages)

    @property
    def first_stage(self) -> Stage:
        """The stage every new instance starts on."""
        return self.stages[0]

    def index(self, key: str) -> int:
        """The position of stage `key` in list order; ValidationFailed when unknown."""
        return self.stages.index(self.stage(key))

    def stage_table(self, key: str) -> TableName:
        """The table stage `key` runs on (the lead process's later stages run on opportunity)."""
        return self.stage(key).table or self.table

    def field_spec(self, stage_key: str, field: str) -> FieldSpec:
        """The spec of a step field of a stage, from the catalogue of the stage's table."""
        return STEP_FIELDS[self.stage_table(stage_key)][field]

    def successor(self, stage_key: str, record: Mapping[str, Any]) -> str | None:
        """The stage that follows `stage_key` for this record; None when it is the final stage.

        The first branch whose conditions hold wins; then the stage's `next`; then list order.
        """
        stage = self.stage(stage_key)
        fields = STEP_FIELDS[self.stage_table(stage_key)]
        for branch in stage.branches:
            if group_holds(branch.when, record, fields):
                return branch.stage
        if stage.next is not None:
            return stage.next
        position = self.index(stage_key) + 1
        return self.stages[position].key if position < len(self.stages) else None

    def is_final(self, stage_key: str) -> bool:
        """Whether `stage_key` ends the process (nothing follows it in list order, no `next`)."""
        return self.index(stage_key) == len(self.stages) - 1 and self.stage(stage_key).next is None


# --- Validation of a whole definition ------------------------------------------------------------

Problem = tuple[str, str]


def _problems(definition: ProcessDefinition) -> Iterator[Problem]:
    keys = [stage.key for stage in definition.stages]
    yield from _duplicate_problems("stages", "stage key", keys, "key")
    yield from _table_problems(definition)
    for i, stage in enumerate(definition.stages):
        where = f"stages[{i}]"
        fields = [step.field for step in stage.steps]
        yield from _duplicate_problems(f"{where}.steps", "step field", fields, "field")
        yield from _step_field_problems(where, stage, stage.table or definition.table)
        for b, branch in enumerate(stage.branches):
            yield from _target_problems(f"{where}.branches[{b}].stage", branch.stage, i, keys)
            yield from _group_problems(f"{where}.branches[{b}].when", branch.when, stage)
        if stage.next is not None:
            yield from _target_problems(f"{where}.next", stage.next, i, keys)


def _duplicate_problems(where: str, what: str, names: list[str], attr: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield f"{where}[{i}].{attr}", f"duplicate {what} {name!r}"
        seen.add(name)


def _table_problems(definition: ProcessDefinition) -> Iterator[Problem]:
    # A lead process starts on the lead and may carry on, once, to the opportunity it creates.
    previous: TableName = definition.table
    for i, stage in enumerate(definition.stages):
        table = stage.table or definition.table
        if table == previous or (i > 0 and previous == "lead" and table == "opportunity"):
            previous = table
            continue
        if definition.table == "opportunity":
            why = "every stage of an opportunity process runs on opportunity"
        elif i == 0:
            why = "the first stage of a lead process runs on lead"
        else:
            why = "a stage after an opportunity stage must run on opportunity too"
        yield f"stages[{i}].table", why


def _step_field_problems(where: str, stage: Stage, table: TableName) -> Iterator[Problem]:
    for j, step in enumerate(stage.steps):
        if step.field not in STEP_FIELDS[table]:
            yield f"{where}.steps[{j}].field", f"unknown field {step.field!r} on {table}"


def _target_problems(where: str, target: str, position: int, keys: list[str]) -> Iterator[Problem]:
    if target not in keys:
        yield where, f"unknown stage {target!r}"
    elif keys.index(target) <= position:
        yield (
            where,
            (
                f"stage {target!r} does not come after {keys[position]!r}; a process only moves "
                "forward to a later stage"
            ),
        )


def _group_problems(where: str, group: ConditionGroup, stage: Stage) -> Iterator[Problem]:
    steps = {step.field for step in stage.steps}
    catalogue = STEP_FIELDS[stage.table or "opportunity"]  # always set once the process loads
    for c, condition in enumerate(group.conditions):
        at = f"{where}.conditions[{c}]"
        if condition.field not in steps:
            why = "conditions name the fields of the stage being left"
            yield f"{at}.field", f"{condition.field!r} is not a step of stage {stage.key!r}; {why}"
        elif condition.field in catalogue:
            yield from _value_problems(at, condition, catalogue[condition.field])


def _value_problems(where: str, condition: Condition, spec: FieldSpec) -> Iterator[Problem]:
    op, value = condition.op, condition.value
    if op in ("is_null", "not_null"):
        if value is not None:
            yield f"{where}.value", f"{op} takes no value"
        return
    if op in _ORDERING and spec.kind not in _ORDERED_KINDS:
        yield (
            f"{where}.op",
            f"{op!r} compares numbers or dates, and {condition.field!r} is {spec.kind}",
        )
        return
    if op == "in" and (not isinstance(value, list | tuple) or not value):
        yield f"{where}.value", "'in' needs a non-empty list of values"
        return
    for item in value if op == "in" else [value]:
        if item is None and op in ("eq", "ne"):
            continue
        try:
            _coerce(spec, item)
        except ValueError as exc:
            yield f"{where}.value", str(exc)


# --- Values and conditions -----------------------------------------------------------------------


def _coerce(spec: FieldSpec, value: Any) -> Any:
    """`value` as the Python type its field kind compares with; ValueError when it cannot be."""
    if value is None:
        raise ValueError("a value is required")
    kind = spec.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if kind in ("money", "integer"):
        return _number(value, integral=kind == "integer")
    if kind == "date":
        return _date(value)
    if kind == "choice":
        if isinstance(value, str) and value in spec.choices:
            return value
        raise ValueError(f"{value!r} is not one of {', '.join(spec.choices)}")
    if kind in ("contact", "account"):
        return _uuid(value, kind)
    if isinstance(value, str):
        return value
    raise ValueError(f"expected text, got {value!r}")


def _number(value: Any, *, integral: bool) -> Decimal:
    what = "a whole number" if integral else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"expected {what}, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected {what}, got {value!r}") from None
    if not number.is_finite() or (integral and number != number.to_integral_value()):
        raise ValueError(f"expected {what}, got {value!r}")
    return number


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected an ISO date (YYYY-MM-DD), got {value!r}")


def _uuid(value: Any, kind: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected {kind} id (a UUID), got {value!r}")


def _record_value(spec: FieldSpec, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _coerce(spec, value)
    except ValueError:
        return value  # compared as is: equality fails, ordering answers False


def condition_holds(condition: Condition, record: Mapping[str, Any], spec: FieldSpec) -> bool:
    """Whether `condition` holds on `record` (a missing or blank field counts as null)."""
    actual = _record_value(spec, record.get(condition.field))
    op = condition.op
    if op in ("is_null", "not_null"):
        return (actual is None) == (op == "is_null")
    if op == "in":
        return any(actual == _coerce(spec, item) for item in condition.value if item is not None)
    expected = None if condition.value is None else _coerce(spec, condition.value)
    if op in ("eq", "ne"):
        return bool(actual == expected) == (op == "eq")
    if actual is None or expected is None:
        return False
    try:
        return _ORDERING[op](actual, expected)
    except TypeError:
        return False


def group_holds(
    group: ConditionGroup, record: Mapping[str, Any], fields: Mapping[str, FieldSpec]
) -> bool:
    """Whether a condition group holds: all of its conditions, or any, as `group.match` says."""
    results = (condition_holds(c, record, fields[c.field]) for c in group.conditions)
    return all(results) if group.match == "all" else any(results)


# --- Loading and dumping -------------------------------------------------------------------------


def load_definition(text: str) -> ProcessDefinition:
    """Parse and validate a process definition from YAML; ValidationFailed says what and where."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(_yaml_detail(exc)) from exc
    return parse_definition(data)


def parse_definition(data: Mapping[str, Any]) -> ProcessDefinition:
    """Validate a process definition given as a mapping (parsed YAML or JSON)."""
    if not isinstance(data, Mapping):
        what = "A process definition is a mapping with key, name, table and stages"
        raise ValidationFailed(f"{what}, not {_what(data)}.")
    try:
        return ProcessDefinition.model_validate(dict(data))
    except ValidationError as exc:
        raise _validation_failed(exc) from exc


def _what(data: object) -> str:
    if data is None:
        return "an empty document"
    if isinstance(data, list):
        return "a list"
    return f"a single {type(data).__name__} value"


def _yaml_detail(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"Malformed YAML: {problem}."
    return f"Malformed YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}."


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _inside(loc: str, outer: str) -> bool:
    return bool(outer) and loc != outer and loc.startswith(outer) and loc[len(outer)] in ".["


def _validation_failed(exc: ValidationError) -> ValidationFailed:
    errors: list[dict[str, str]] = []
    for error in exc.errors(include_url=False):
        if error["type"] == "process_rule":
            problems: list[Problem] = error["ctx"]["problems"]
            errors.extend({"loc": loc, "msg": msg} for loc, msg in problems)
        else:
            errors.append({"loc": _location(error["loc"]), "msg": error["msg"]})
    # "stages: should have at least 1 item" only echoes the errors found inside the stages
    errors = [e for e in errors if not any(_inside(o["loc"], e["loc"]) for o in errors)]
    shown = "; ".join(f"{e['loc']}: {e['msg']}" if e["loc"] else e["msg"] for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return ValidationFailed(f"{shown}{more}", errors=errors)


class _Dumper(yaml.SafeDumper):
    """Safe YAML dumper that writes tuples as lists and Decimals and UUIDs as strings."""


def _represent_tuple(dumper: yaml.SafeDumper, value: tuple[Any, ...]) -> yaml.Node:
    return dumper.represent_list(list(value))


def _represent_str(dumper: yaml.SafeDumper, value: Decimal | uuid.UUID) -> yaml.Node:
    return dumper.represent_str(str(value))


_Dumper.add_representer(tuple, _represent_tuple)
_Dumper.add_representer(Decimal, _represent_str)
_Dumper.add_representer(uuid.UUID, _represent_str)


def dump_definition(definition: ProcessDefinition) -> str:
    """The definition as YAML that `load_definition` reads back to an equal definition."""
    data = definition.model_dump(exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
