"""The processes shipped with oppflow, as YAML files beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources

from oppflow.errors import ValidationFailed
from oppflow.process.definition import ProcessDefinition, load_definition

OPPORTUNITY_PROCESS_KEY = "opportunity-sales-process"
LEAD_PROCESS_KEY = "lead-to-opportunity-sales-process"
BUILTIN_KEYS: tuple[str, ...] = (OPPORTUNITY_PROCESS_KEY, LEAD_PROCESS_KEY)


def builtin_yaml(key: str) -> str:
    """The YAML text of built-in process `key`; ValidationFailed when there is no such process."""
    if key not in BUILTIN_KEYS:
        raise ValidationFailed(f"No built-in process {key!r}.", process=key)
    return resources.files("oppflow.process").joinpath(f"builtin/{key}.yaml").read_text("utf-8")


@cache
def _builtin(key: str) -> ProcessDefinition:
    return load_definition(builtin_yaml(key))


def builtin_definitions() -> list[ProcessDefinition]:
    """The built-in processes, validated, in BUILTIN_KEYS order (default opportunity one first)."""
    return [_builtin(key) for key in BUILTIN_KEYS]
