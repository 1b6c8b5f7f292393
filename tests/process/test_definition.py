"""Process definitions: the built-in processes, validation on load, and branching."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import yaml

from oppflow.errors import ValidationFailed
from oppflow.process.builtin import BUILTIN_KEYS, builtin_definitions, builtin_yaml
from oppflow.process.definition import (
    ProcessDefinition,
    dump_definition,
    load_definition,
    parse_definition,
)
from oppflow.process.fields import CATEGORIES, STEP_FIELDS, pipeline_phase

# (stage, field, English label, French label from the seed, required). The seed writes the French
# apostrophe as U+2019 (right single quotation mark), and so do the built-in YAML files.
SEED_STEPS = [
    ("qualify", "contact_id", "Identify Contact", "Identifier le contact", True),
    ("qualify", "account_id", "Identify Account", "Identifier le compte", True),
    ("qualify", "purchase_timeframe", "Purchase Timeframe", "Délai d’exécution d’achat", False),
    ("qualify", "budget_amount", "Estimated Budget", "Budget estimé", False),
    ("qualify", "purchase_process", "Purchase Process", "Procédure d’achat", False),
    (
        "qualify",
        "decision_maker_identified",
        "Identify Decision Maker",
        "Identifier le décisionnaire",
        False,
    ),
    ("develop", "customer_need", "Customer Need", "Besoin du client", True),
    ("develop", "proposed_solution", "Proposed Solution", "Solution proposée", True),
    (
        "develop",
        "stakeholders_identified",
        "Identify Stakeholders",
        "Identifier les parties prenantes",
        False,
    ),
    (
        "develop",
        "competitors_identified",
        "Identify Competitors",
        "Identifier les concurrents",
        False,
    ),
    (
        "propose",
        "sales_team_identified",
        "Identify Sales Team",
        "Identifier l’équipe des ventes",
        False,
    ),
    (
        "propose",
        "proposal_developed",
        "Develop Proposal (optional)",
        "Développer la proposition",
        False,
    ),
    (
        "propose",
        "internal_review_completed",
        "Complete Internal Review",
        "Effectuer une révision interne",
        False,
    ),
    ("propose", "proposal_presented", "Present Proposal", "Présenter la proposition", True),
    (
        "close",
        "final_proposal_completed",
        "Complete Final Proposal",
        "Effectuer la proposition finale",
        False,
    ),
    (
        "close",
        "final_proposal_presented",
        "Present Final Proposal",
        "Présenter la proposition finale",
        False,
    ),
    (
        "close",
        "final_decision_date",
        "Confirm Decision Date",
        "Confirmer la date de décision",
        True,
    ),
    (
        "close",
        "thank_you_note_sent",
        "Send Thank You Note",
        "Envoyer une carte de remerciement",
        False,
    ),
    ("close", "debrief_filed", "File Debrief", "Compte rendu du fichier", False),
]
SEED_STAGES = [
    ("qualify", "Qualify", "Qualifier"),
    ("develop", "Develop", "Développer"),
    ("propose", "Propose", "Proposer"),
    ("close", "Close", "Clôturer"),
]


def builtin(key: str) -> ProcessDefinition:
    return next(d for d in builtin_definitions() if d.key == key)


def flat_steps(definition: ProcessDefinition) -> list[tuple[str, str, str, str, bool]]:
    return [
        (stage.key, s.field, s.label.en, s.label.fr, s.required)
        for stage in definition.stages
        for s in stage.steps
    ]


# --- The built-in processes ----------------------------------------------------------------------


def test_opportunity_process_has_exactly_the_seed_stages_and_steps() -> None:
    definition = builtin("opportunity-sales-process")

    assert definition.table == "opportunity"
    assert (definition.name.en, definition.name.fr) == (
        "Opportunity Sales Process",
        "Processus de vente d’opportunité",
    )
    assert [(s.key, s.name.en, s.name.fr) for s in definition.stages] == SEED_STAGES
    assert [s.category for s in definition.stages] == ["qualify", "develop", "propose", "close"]
    assert all(
        s.table == "opportunity" and not s.branches and s.next is None for s in definition.stages
    )
    assert flat_steps(definition) == SEED_STEPS
    assert len(SEED_STEPS) == 19


def test_lead_process_qualifies_on_the_lead_then_runs_the_opportunity_stages() -> None:
    lead = builtin("lead-to-opportunity-sales-process")
    opportunity = builtin("opportunity-sales-process")

    assert lead.table == "lead"
    assert [(s.key, s.table) for s in lead.stages] == [
        ("qualify", "lead"),
        ("develop", "opportunity"),
        ("propose", "opportunity"),
        ("close", "opportunity"),
    ]
    qualify = lead.stage("qualify")
    assert [(s.field, s.label.en, s.required) for s in qualify.steps] == [
        ("contact_id", "Existing Contact?", False),
        ("account_id", "Existing Account?", False),
        ("purchase_timeframe", "Purchase Timeframe", False),
        ("budget_amount", "Estimated Budget", False),
        ("purchase_process", "Purchase Process", False),
        ("decision_maker_identified", "Identify Decision Maker", False),
    ]
    assert lead.stages[1:] == opportunity.stages[1:]


def test_builtin_keys_and_yaml() -> None:
    assert [d.key for d in builtin_definitions()] == list(BUILTIN_KEYS)
    assert BUILTIN_KEYS == ("opportunity-sales-process", "lead-to-opportunity-sales-process")
    assert "key: opportunity-sales-process" in builtin_yaml("opportunity-sales-process")
    with pytest.raises(ValidationFailed, match="No built-in process 'nope'"):
        builtin_yaml("nope")


@pytest.mark.parametrize("key", BUILTIN_KEYS)
def test_dump_then_load_gives_the_same_definition(key: str) -> None:
    definition = builtin(key)
    assert load_definition(dump_definition(definition)) == definition


def test_dump_then_load_keeps_branches() -> None:
    definition = parse_definition(one_condition("final_decision_date", "lt", date(2025, 7, 1)))
    text = dump_definition(definition)
    assert "branches:" in text
    assert load_definition(text) == definition


def test_lookups() -> None:
    definition = builtin("opportunity-sales-process")

    assert definition.first_stage.key == "qualify"
    assert definition.index("propose") == 2
    assert definition.is_final("close")
    assert not definition.is_final("propose")
    assert definition.has_stage("develop")
    assert not definition.has_stage("won")
    assert definition.stage_table("qualify") == "opportunity"
    assert builtin("lead-to-opportunity-sales-process").stage_table("qualify") == "lead"
    assert definition.field_spec("qualify", "purchase_process").choices == (
        "individual",
        "committee",
        "unknown",
    )
    assert definition.stage("develop").name.get("fr-CA") == "Développer"
    assert definition.stage("develop").name.get("en") == "Develop"
    with pytest.raises(ValidationFailed, match="Unknown stage 'won'"):
        definition.stage("won")
    with pytest.raises(ValidationFailed, match="Unknown stage 'won'"):
        definition.index("won")


def test_pipeline_phase_follows_the_category_order() -> None:
    assert [pipeline_phase(c) for c in CATEGORIES] == [
        "1-Qualify",
        "2-Develop",
        "3-Propose",
        "4-Close",
        "5-Identify",
        "6-Research",
        "7-Resolve",
        "8-Approval",
    ]
    with pytest.raises(ValueError, match="Unknown stage category 'won'"):
        pipeline_phase("won")


def test_step_field_catalogue() -> None:
    opportunity, lead = STEP_FIELDS["opportunity"], STEP_FIELDS["lead"]
    assert {field for _stage, field, *_ in SEED_STEPS} <= opportunity.keys()
    assert opportunity["purchase_timeframe"].choices == (
        "immediate",
        "this_quarter",
        "next_quarter",
        "this_year",
        "unknown",
    )
    assert opportunity["rating"].choices == ("hot", "warm", "cold")
    assert opportunity["final_decision_date"].kind == "date"
    assert opportunity["probability"].kind == "integer"
    assert lead["budget_amount"] == opportunity["budget_amount"]
    assert "customer_need" not in lead
    assert {"topic", "company_name", "email", "estimated_value"} <= lead.keys()


# --- Validation ----------------------------------------------------------------------------------


def label(text: str = "Label") -> dict[str, str]:
    return {"en": text, "fr": text}


def stage(
    key: str, category: str = "qualify", steps: tuple[str, ...] = (), **more: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"key": key, "name": label(key.title()), "category": category}
    data["steps"] = [{"field": f, "label": label(f)} for f in steps]
    return data | more


def definition(*stages: dict[str, Any], table: str = "opportunity") -> dict[str, Any]:
    return {
        "key": "custom-process",
        "name": label("Custom"),
        "table": table,
        "stages": list(stages),
    }


def branching() -> dict[str, Any]:
    """a → (b | c | d) on the fields of a; b → d; c → e by `next`; d; e."""
    steps = (
        "budget_amount",
        "probability",
        "purchase_timeframe",
        "decision_maker_identified",
        "final_decision_date",
        "contact_id",
        "customer_need",
    )
    return definition(
        stage("a", steps=steps, branches=[]),
        stage("b", "develop", next="d"),
        stage("c", "propose", next="e"),
        stage("d", "close"),
        stage("e", "approval"),
    )


def with_branch(condition: dict[str, Any], target: str = "c") -> dict[str, Any]:
    data = branching()
    data["stages"][0]["branches"] = [{"when": {"conditions": [condition]}, "stage": target}]
    return data


def one_condition(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return with_branch({"field": field, "op": op, "value": value})


def rejected(data: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(data)
    assert "\n" not in caught.value.detail
    return caught.value


def replaced(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


VALID = definition(
    stage("qualify", steps=("contact_id", "budget_amount")),
    stage("develop", "develop", steps=("customer_need",)),
    stage("close", "close", steps=("final_decision_date",)),
)

BAD_DEFINITIONS = [
    (
        "unknown field",
        replaced("stages.2.steps.0.field", "foo"),
        "stages[2].steps[0].field: unknown field 'foo' on opportunity",
    ),
    (
        "lead field on opportunity",
        replaced("stages.0.steps.0.field", "topic"),
        "stages[0].steps[0].field: unknown field 'topic' on opportunity",
    ),
    (
        "duplicate stage",
        replaced("stages.2.key", "qualify"),
        "stages[2].key: duplicate stage key 'qualify'",
    ),
    (
        "duplicate step",
        replaced("stages.0.steps.1.field", "contact_id"),
        "stages[0].steps[1].field: duplicate step field 'contact_id'",
    ),
    (
        "bad category",
        replaced("stages.0.category", "won"),
        "stages[0].category: Input should be 'qualify'",
    ),
    (
        "bad stage key",
        replaced("stages.0.key", "Qualify Now"),
        "stages[0].key: String should match pattern",
    ),
    ("bad process key", replaced("key", "Custom_Process"), "key: String should match pattern"),
    ("short process key", replaced("key", "ab"), "key: String should have at least 3 characters"),
    (
        "unknown table",
        replaced("table", "account"),
        "table: Input should be 'opportunity' or 'lead'",
    ),
    (
        "empty label",
        replaced("stages.1.name.fr", " "),
        "stages[1].name.fr: String should have at least 1 character",
    ),
    (
        "long label",
        replaced("name.en", "x" * 201),
        "name.en: String should have at most 200 characters",
    ),
    (
        "extra key",
        replaced("stages.0.colour", "red"),
        "stages[0].colour: Extra inputs are not permitted",
    ),
    ("missing name", lambda d: d.pop("name"), "name: Field required"),
    ("no stages", replaced("stages", []), "stages: Tuple should have at least 1 item"),
    (
        "too many stages",
        replaced("stages", [stage(f"s{i}") for i in range(31)]),
        "stages: Tuple should have at most 30 items",
    ),
    (
        "too many steps",
        replaced("stages.0.steps", [{"field": "name", "label": label()}] * 31),
        "stages[0].steps: Tuple should have at most 30 items",
    ),
    (
        "lead stage in an opportunity process",
        replaced("stages.1.table", "lead"),
        "stages[1].table: every stage of an opportunity process runs on opportunity",
    ),
    ("unknown next", replaced("stages.0.next", "won"), "stages[0].next: unknown stage 'won'"),
    (
        "backward next",
        replaced("stages.2.next", "develop"),
        "stages[2].next: stage 'develop' does not come after 'close'",
    ),
    (
        "next to itself",
        replaced("stages.1.next", "develop"),
        "stages[1].next: stage 'develop' does not come after 'develop'",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [b[1:] for b in BAD_DEFINITIONS], ids=[b[0] for b in BAD_DEFINITIONS]
)
def test_invalid_definitions_are_rejected_naming_where(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = copy.deepcopy(VALID)
    change(data)
    error = rejected(data)
    assert message in error.detail
    assert error.extra["errors"]
    assert error.status == 422


BAD_CONDITIONS = [
    (
        "field of another stage",
        {"field": "name", "op": "is_null"},
        "conditions[0].field: 'name' is not a step of stage 'a'",
    ),
    (
        "unknown field",
        {"field": "foo", "op": "is_null"},
        "conditions[0].field: 'foo' is not a step of stage 'a'",
    ),
    (
        "bad choice",
        {"field": "purchase_timeframe", "op": "eq", "value": "soon"},
        "conditions[0].value: 'soon' is not one of immediate, this_quarter",
    ),
    (
        "bad choice in list",
        {"field": "purchase_timeframe", "op": "in", "value": ["immediate", "later"]},
        "conditions[0].value: 'later' is not one of",
    ),
    (
        "money not a number",
        {"field": "budget_amount", "op": "gt", "value": "lots"},
        "conditions[0].value: expected a number, got 'lots'",
    ),
    (
        "money as a boolean",
        {"field": "budget_amount", "op": "eq", "value": True},
        "expected a number, got True",
    ),
    (
        "integer with decimals",
        {"field": "probability", "op": "ge", "value": 1.5},
        "expected a whole number, got 1.5",
    ),
    (
        "boolean as a string",
        {"field": "decision_maker_identified", "op": "eq", "value": "yes"},
        "expected true or false, got 'yes'",
    ),
    (
        "bad date",
        {"field": "final_decision_date", "op": "lt", "value": "31/12/2025"},
        "expected an ISO date (YYYY-MM-DD), got '31/12/2025'",
    ),
    (
        "contact not a uuid",
        {"field": "contact_id", "op": "eq", "value": "bob"},
        "expected contact id (a UUID), got 'bob'",
    ),
    (
        "text not a string",
        {"field": "customer_need", "op": "eq", "value": 3},
        "expected text, got 3",
    ),
    (
        "ordering on text",
        {"field": "customer_need", "op": "gt", "value": "a"},
        "conditions[0].op: 'gt' compares numbers or dates, and 'customer_need' is text",
    ),
    (
        "ordering on a boolean",
        {"field": "decision_maker_identified", "op": "le", "value": True},
        "'le' compares numbers or dates",
    ),
    (
        "ordering without a value",
        {"field": "budget_amount", "op": "gt"},
        "conditions[0].value: a value is required",
    ),
    (
        "in with an empty list",
        {"field": "purchase_timeframe", "op": "in", "value": []},
        "'in' needs a non-empty list of values",
    ),
    (
        "in with a scalar",
        {"field": "purchase_timeframe", "op": "in", "value": "immediate"},
        "'in' needs a non-empty list of values",
    ),
    (
        "is_null with a value",
        {"field": "contact_id", "op": "is_null", "value": "x"},
        "conditions[0].value: is_null takes no value",
    ),
    (
        "unknown operator",
        {"field": "budget_amount", "op": "contains", "value": 1},
        "conditions[0].op: Input should be 'eq'",
    ),
]


@pytest.mark.parametrize(
    ("condition", "message"), [b[1:] for b in BAD_CONDITIONS], ids=[b[0] for b in BAD_CONDITIONS]
)
def test_invalid_conditions_are_rejected_naming_where(
    condition: dict[str, Any], message: str
) -> None:
    error = rejected(with_branch(condition))
    assert message in error.detail
    assert error.detail.startswith("stages[0].branches[0].when.conditions[0].")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("a", "stages[0].branches[0].stage: stage 'a' does not come after 'a'"),
        ("won", "stages[0].branches[0].stage: unknown stage 'won'"),
    ],
)
def test_branches_only_go_forward_to_known_stages(target: str, message: str) -> None:
    condition = {"field": "budget_amount", "op": "not_null"}
    assert message in rejected(with_branch(condition, target)).detail


def test_backward_branch_from_a_later_stage_is_rejected() -> None:
    data = branching()
    data["stages"][3]["steps"] = [{"field": "rating", "label": label()}]
    data["stages"][3]["branches"] = [
        {"when": {"conditions": [{"field": "rating", "op": "eq", "value": "hot"}]}, "stage": "b"}
    ]
    assert "stages[3].branches[0].stage: stage 'b' does not come after 'd'" in rejected(data).detail


def test_too_many_conditions() -> None:
    data = with_branch({"field": "budget_amount", "op": "not_null"})
    data["stages"][0]["branches"][0]["when"]["conditions"] *= 21
    detail = rejected(data).detail
    assert "stages[0].branches[0].when.conditions: Tuple should have at most 20 items" in detail


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            ["opportunity", "opportunity"],
            "stages[0].table: the first stage of a lead process runs on lead",
        ),
        (
            ["lead", "opportunity", "lead"],
            "stages[2].table: a stage after an opportunity stage must run on opportunity too",
        ),
    ],
)
def test_lead_process_tables(tables: list[str], message: str) -> None:
    stages = [stage(f"s{i}", table=t) for i, t in enumerate(tables)]
    assert message in rejected(definition(*stages, table="lead")).detail


def test_lead_stage_fields_come_from_the_lead_catalogue() -> None:
    data = definition(
        stage("qualify", steps=("topic", "customer_need")),
        stage("develop", "develop", steps=("customer_need",), table="opportunity"),
        table="lead",
    )
    assert (
        "stages[0].steps[1].field: unknown field 'customer_need' on lead" in rejected(data).detail
    )
    data["stages"][0]["steps"].pop()
    loaded = parse_definition(data)
    assert [s.table for s in loaded.stages] == ["lead", "opportunity"]


def test_several_problems_are_all_listed() -> None:
    data = copy.deepcopy(VALID)
    for i in range(3):
        data["stages"][i]["steps"][0]["field"] = f"foo{i}"
    data["stages"][1]["key"] = "qualify"
    error = rejected(data)
    assert error.detail.endswith("(and 1 more)")
    assert [e["loc"] for e in error.extra["errors"]] == [
        "stages[1].key",
        "stages[0].steps[0].field",
        "stages[1].steps[0].field",
        "stages[2].steps[0].field",
    ]


def test_nested_errors_are_not_echoed_by_the_list_length() -> None:
    data = definition(stage("qualify", category="won"))
    error = rejected(data)
    assert [e["loc"] for e in error.extra["errors"]] == ["stages[0].category"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: [unclosed", "Malformed YAML at line 1, column 15: expected ',' or ']'"),
        (
            "key: a\n  bad: indent\n",
            "Malformed YAML at line 2, column 6: mapping values are not allowed here.",
        ),
        (
            "- qualify\n- develop\n",
            "A process definition is a mapping with key, name, table and stages, not a list.",
        ),
        ("just words", "not a single str value."),
        ("", "not an empty document."),
    ],
)
def test_yaml_that_is_malformed_or_not_a_mapping(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_definition(text)
    assert message in caught.value.detail
    assert "\n" not in caught.value.detail


def test_stage_table_defaults_to_the_process_table() -> None:
    loaded = load_definition(yaml.safe_dump(VALID))
    assert {s.table for s in loaded.stages} == {"opportunity"}


def test_definitions_are_immutable() -> None:
    loaded = parse_definition(VALID)
    with pytest.raises(ValueError, match="frozen"):
        loaded.key = "other"  # type: ignore[misc]
    assert isinstance(loaded.stages, tuple)


# --- Branching -----------------------------------------------------------------------------------

CONTACT = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")

OPERATOR_CASES = [
    ("budget_amount", "eq", 1000, {"budget_amount": Decimal("1000.00")}, True),
    ("budget_amount", "eq", "1000.5", {"budget_amount": 1000.5}, True),
    ("budget_amount", "eq", 1000, {"budget_amount": None}, False),
    ("budget_amount", "eq", None, {}, True),
    ("budget_amount", "ne", 1000, {"budget_amount": Decimal(999)}, True),
    ("budget_amount", "ne", 1000, {"budget_amount": None}, True),
    ("budget_amount", "ne", 1000, {"budget_amount": 1000}, False),
    ("budget_amount", "gt", 1000, {"budget_amount": Decimal("1000.01")}, True),
    ("budget_amount", "gt", 1000, {"budget_amount": 1000}, False),
    ("budget_amount", "gt", 1000, {"budget_amount": None}, False),
    ("budget_amount", "gt", 1000, {}, False),
    ("budget_amount", "ge", 1000, {"budget_amount": 1000}, True),
    ("budget_amount", "ge", 1000, {"budget_amount": 999.99}, False),
    ("budget_amount", "lt", 1000, {"budget_amount": 0}, True),
    ("budget_amount", "lt", 1000, {"budget_amount": None}, False),
    ("budget_amount", "le", 1000, {"budget_amount": "1000"}, True),
    ("budget_amount", "le", 1000, {"budget_amount": 1000.01}, False),
    ("budget_amount", "lt", 1000, {"budget_amount": "garbage"}, False),
    ("probability", "ge", 50, {"probability": 50}, True),
    ("probability", "lt", 50, {"probability": 49}, True),
    ("probability", "in", [10, 20], {"probability": 20}, True),
    ("probability", "in", [10, 20], {"probability": 30}, False),
    ("purchase_timeframe", "eq", "immediate", {"purchase_timeframe": "immediate"}, True),
    ("purchase_timeframe", "ne", "immediate", {"purchase_timeframe": "this_year"}, True),
    (
        "purchase_timeframe",
        "in",
        ["immediate", "this_quarter"],
        {"purchase_timeframe": "this_quarter"},
        True,
    ),
    (
        "purchase_timeframe",
        "in",
        ["immediate", "this_quarter"],
        {"purchase_timeframe": "unknown"},
        False,
    ),
    ("purchase_timeframe", "in", ["immediate"], {"purchase_timeframe": None}, False),
    ("purchase_timeframe", "is_null", None, {"purchase_timeframe": None}, True),
    ("purchase_timeframe", "is_null", None, {}, True),
    ("purchase_timeframe", "is_null", None, {"purchase_timeframe": "unknown"}, False),
    ("purchase_timeframe", "not_null", None, {"purchase_timeframe": "unknown"}, True),
    ("purchase_timeframe", "not_null", None, {"purchase_timeframe": None}, False),
    ("decision_maker_identified", "eq", True, {"decision_maker_identified": True}, True),
    ("decision_maker_identified", "eq", True, {"decision_maker_identified": False}, False),
    ("decision_maker_identified", "eq", False, {"decision_maker_identified": False}, True),
    ("decision_maker_identified", "ne", True, {"decision_maker_identified": None}, True),
    ("decision_maker_identified", "not_null", None, {"decision_maker_identified": False}, True),
    ("final_decision_date", "lt", "2025-07-01", {"final_decision_date": date(2025, 6, 30)}, True),
    ("final_decision_date", "lt", date(2025, 7, 1), {"final_decision_date": "2025-07-01"}, False),
    ("final_decision_date", "ge", "2025-07-01", {"final_decision_date": date(2025, 7, 1)}, True),
    ("final_decision_date", "gt", "2025-07-01", {"final_decision_date": None}, False),
    (
        "final_decision_date",
        "eq",
        date(2025, 7, 1),
        {"final_decision_date": date(2025, 7, 1)},
        True,
    ),
    ("contact_id", "eq", str(CONTACT), {"contact_id": CONTACT}, True),
    ("contact_id", "eq", str(CONTACT).upper(), {"contact_id": str(CONTACT)}, True),
    (
        "contact_id",
        "ne",
        str(CONTACT),
        {"contact_id": uuid.UUID("16fd2706-8baf-433b-82eb-8c7fada847da")},
        True,
    ),
    ("contact_id", "not_null", None, {"contact_id": CONTACT}, True),
    ("customer_need", "eq", "CRM", {"customer_need": "CRM"}, True),
    ("customer_need", "eq", "CRM", {"customer_need": "crm"}, False),
    ("customer_need", "is_null", None, {"customer_need": "   "}, True),
    ("customer_need", "in", ["CRM", "ERP"], {"customer_need": "ERP"}, True),
]


@pytest.mark.parametrize(("field", "op", "value", "record", "holds"), OPERATOR_CASES)
def test_every_operator(
    field: str, op: str, value: Any, record: dict[str, Any], holds: bool
) -> None:
    loaded = parse_definition(one_condition(field, op, value))
    assert loaded.successor("a", record) == ("c" if holds else "b")


def test_all_group_needs_every_condition() -> None:
    group = {
        "match": "all",
        "conditions": [
            {"field": "budget_amount", "op": "ge", "value": 50000},
            {"field": "decision_maker_identified", "op": "eq", "value": True},
        ],
    }
    loaded = parse_definition(with_branch_group(group))
    assert loaded.successor("a", {"budget_amount": 60000, "decision_maker_identified": True}) == "c"
    assert (
        loaded.successor("a", {"budget_amount": 60000, "decision_maker_identified": False}) == "b"
    )
    assert loaded.successor("a", {"budget_amount": 100, "decision_maker_identified": True}) == "b"


def test_any_group_needs_one_condition() -> None:
    group = {
        "match": "any",
        "conditions": [
            {"field": "purchase_timeframe", "op": "eq", "value": "immediate"},
            {"field": "probability", "op": "ge", "value": 80},
        ],
    }
    loaded = parse_definition(with_branch_group(group))
    assert loaded.successor("a", {"purchase_timeframe": "immediate"}) == "c"
    assert loaded.successor("a", {"probability": 90}) == "c"
    assert loaded.successor("a", {"purchase_timeframe": "this_year", "probability": 10}) == "b"
    assert loaded.successor("a", {}) == "b"


def test_first_matching_branch_wins_then_next_then_list_order() -> None:
    data = branching()
    data["stages"][0]["branches"] = [
        {"when": {"conditions": [{"field": "probability", "op": "ge", "value": 90}]}, "stage": "d"},
        {"when": {"conditions": [{"field": "probability", "op": "ge", "value": 50}]}, "stage": "c"},
    ]
    loaded = parse_definition(data)
    assert loaded.successor("a", {"probability": 95}) == "d"
    assert loaded.successor("a", {"probability": 60}) == "c"
    assert loaded.successor("a", {"probability": 10}) == "b"
    assert loaded.successor("b", {}) == "d"
    assert loaded.successor("c", {}) == "e"
    assert loaded.successor("d", {}) == "e"
    assert loaded.successor("e", {}) is None
    assert [loaded.is_final(s.key) for s in loaded.stages] == [False] * 4 + [True]


def with_branch_group(group: dict[str, Any]) -> dict[str, Any]:
    data = branching()
    data["stages"][0]["branches"] = [{"when": group, "stage": "c"}]
    return data
