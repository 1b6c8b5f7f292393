"""The security epoch: the counter that tells every server process its cached actors are stale.

Each process keeps the actors it resolved (``actor_cache``), labelled with the epoch they were
read at. A flush that changes anything an actor is made of (users, their roles, teams, team
members and roles, roles, privileges, business units) increments the counter in the same
transaction, so once that change is committed the very next request, in any process on any
host, reads a new epoch and resolves its actor again. Tokens need no bump: their expiry and
revocation are read in the same statement as the epoch, on every request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from oppflow.models import (
    BusinessUnit,
    Role,
    RolePrivilege,
    Team,
    TeamMember,
    TeamRole,
    User,
    UserRole,
)
from oppflow.security.repository import SecurityEpochRepository

WATCHED = (User, UserRole, Role, RolePrivilege, Team, TeamMember, TeamRole, BusinessUnit)


def _changes_security(session: Session) -> bool:
    if any(isinstance(obj, WATCHED) for obj in (*session.new, *session.deleted)):
        return True
    return any(isinstance(obj, WATCHED) and session.is_modified(obj) for obj in session.dirty)


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    if _changes_security(session):
        SecurityEpochRepository(session).bump()


def install() -> None:
    """Hook the epoch into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
