"""The process catalogue: built-in and imported definitions, their versions and the cache.

A process's versions are immutable; an instance keeps running the version it started on, so
importing a new version never moves a record under someone's feet.
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy.orm import Session

from oppflow.errors import Conflict, ValidationFailed
from oppflow.models import Process, ProcessVersion
from oppflow.process.builtin import BUILTIN_KEYS, OPPORTUNITY_PROCESS_KEY, builtin_yaml
from oppflow.process.definition import ProcessDefinition, load_definition
from oppflow.process.repository import ProcessRepository
from oppflow.process.schemas import ProcessDetail, ProcessSummary, ProcessUpdate
from oppflow.security.actor import Actor

MAX_ACTIVE_PER_TABLE = 10

_cache: dict[tuple[uuid.UUID, int], ProcessDefinition] = {}
_cache_lock = threading.Lock()


def definition_of(session: Session, process_id: uuid.UUID, version: int) -> ProcessDefinition:
    """The parsed definition of one version, from memory after the first read."""
    cached = _cache.get((process_id, version))
    if cached is not None:
        return cached
    text = ProcessRepository(session).version(process_id, version).definition_yaml
    definition = load_definition(text)
    with _cache_lock:
        _cache[(process_id, version)] = definition
    return definition


_keys: dict[uuid.UUID, str] = {}


def process_key(session: Session, process_id: uuid.UUID) -> str:
    """A process's key (keys never change, so it is remembered)."""
    key = _keys.get(process_id)
    if key is None:
        key = _keys[process_id] = ProcessRepository(session).by_id(process_id).key
    return key


def current_definition(session: Session, process: Process) -> ProcessDefinition:
    return definition_of(session, process.id, process.current_version)


def ensure_builtin_processes(session: Session) -> None:
    """Install the built-in processes, or a new version when the shipped YAML changed."""
    for order, key in enumerate(BUILTIN_KEYS):
        text = builtin_yaml(key)
        process = ProcessRepository(session).find_by_key(key)
        if process is None:
            _create(session, load_definition(text), text, None, builtin=True, order=order)
        elif not _has_version_with(session, process, text):
            _add_version(session, process, load_definition(text), text, None)


def _yaml_of(session: Session, process: Process) -> str:
    return ProcessRepository(session).version(process.id, process.current_version).definition_yaml


def _has_version_with(session: Session, process: Process, text: str) -> bool:
    """Whether some version of ``process`` already holds ``text`` (an admin's later import of a
    built-in key is kept, and re-importing the same text adds no version)."""
    repository = ProcessRepository(session)
    return any(
        repository.version(process.id, number).definition_yaml == text
        for number in range(1, process.current_version + 1)
    )


def validate_yaml(text: str) -> ProcessDefinition:
    """Parse and check a definition without storing it (ValidationFailed says what is wrong)."""
    return load_definition(text)


def import_yaml(session: Session, *, actor: Actor | None, text: str) -> Process:
    """Store a definition: a new process, or a new version of the process with its key."""
    if actor is not None:
        actor.require("process", "create")
    definition = load_definition(text)
    process = ProcessRepository(session).find_by_key(definition.key)
    if process is None:
        _check_active_limit(session, definition.table)
        return _create(session, definition, text, actor, builtin=False, order=100)
    if process.primary_table != definition.table:
        raise ValidationFailed(
            f"Process {definition.key!r} runs on {process.primary_table}; a new version "
            "cannot move it to another table."
        )
    if (
        ProcessRepository(session).version(process.id, process.current_version).definition_yaml
        == text
    ):
        return process
    return _add_version(session, process, definition, text, actor)


def _create(
    session: Session,
    definition: ProcessDefinition,
    text: str,
    actor: Actor | None,
    *,
    builtin: bool,
    order: int,
) -> Process:
    process = Process(
        key=definition.key,
        primary_table=definition.table,
        name=definition.name.en,
        current_version=1,
        is_builtin=builtin,
        display_order=order,
        created_by_id=actor.user_id if actor else None,
    )
    repository = ProcessRepository(session)
    repository.add(process)
    repository.add(
        ProcessVersion(
            process_id=process.id,
            version=1,
            definition_yaml=text,
            created_by_id=actor.user_id if actor else None,
        )
    )
    return process


def _add_version(
    session: Session,
    process: Process,
    definition: ProcessDefinition,
    text: str,
    actor: Actor | None,
) -> Process:
    version = process.current_version + 1
    ProcessRepository(session).add(
        ProcessVersion(
            process_id=process.id,
            version=version,
            definition_yaml=text,
            created_by_id=actor.user_id if actor else None,
        )
    )
    process.current_version = version
    process.name = definition.name.en
    session.flush()
    return process


def _check_active_limit(session: Session, table: str) -> None:
    if ProcessRepository(session).count_active(table) >= MAX_ACTIVE_PER_TABLE:
        raise Conflict(
            f"At most {MAX_ACTIVE_PER_TABLE} processes may be active on {table}; "
            "deactivate one first."
        )


def update_process(
    session: Session,
    *,
    actor: Actor,
    key: str,
    data: ProcessUpdate,
) -> Process:
    """Activate, deactivate or reorder a process."""
    actor.require("process", "write")
    process = ProcessRepository(session).by_key(key)
    if data.is_active is True and not process.is_active:
        _check_active_limit(session, process.primary_table)
    if data.is_active is False and process.key == OPPORTUNITY_PROCESS_KEY:
        raise Conflict("The default opportunity process cannot be deactivated.")
    for field, value in data.model_dump(exclude_none=True).items():
        setattr(process, field, value)
    process.modified_by_id = actor.user_id
    session.flush()
    return process


def get(session: Session, key: str) -> Process:
    return ProcessRepository(session).by_key(key)


def list_processes(session: Session, *, table: str | None = None) -> list[Process]:
    return ProcessRepository(session).list(table=table)


def default_process(session: Session, table: str) -> Process:
    """The first active process of a table, in display order."""
    process = ProcessRepository(session).first_active(table)
    if process is None:
        raise Conflict(f"No active process runs on {table}.")
    return process


def summary(session: Session, process: Process, language: str = "en") -> ProcessSummary:
    definition = current_definition(session, process)
    return ProcessSummary(
        key=process.key,
        name=definition.name.get(language),
        table=process.primary_table,
        version=process.current_version,
        is_active=process.is_active,
        is_builtin=process.is_builtin,
        display_order=process.display_order,
        stages=[stage.key for stage in definition.stages],
    )


def detail(session: Session, process: Process, language: str = "en") -> ProcessDetail:
    text = _yaml_of(session, process)
    definition = current_definition(session, process)
    return ProcessDetail(
        **summary(session, process, language).model_dump(),
        definition=definition.model_dump(mode="json"),
        yaml=text,
    )


def export_yaml(session: Session, key: str) -> str:
    return _yaml_of(session, ProcessRepository(session).by_key(key))
