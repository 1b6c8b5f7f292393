"""Who is calling: the user every service call acts as, with their privileges resolved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Executable

from oppflow.errors import PermissionDenied
from oppflow.security.privileges import Depth, Privileges

SALESPERSON = "salesperson"
SALES_MANAGER = "sales-manager"
SYSTEM_ADMINISTRATOR = "system-administrator"
ROLE_KEYS = (SALESPERSON, SALES_MANAGER, SYSTEM_ADMINISTRATOR)


@dataclass(frozen=True)
class Actor:
    """A signed-in user: roles (their own and their teams'), teams and business units."""

    user_id: uuid.UUID
    username: str
    business_unit_id: uuid.UUID
    role_keys: frozenset[str]
    privileges: Privileges = field(default_factory=dict, compare=False)
    team_ids: frozenset[uuid.UUID] = frozenset()
    # The actor's business unit and every unit below it (the parent-child depth).
    business_unit_tree: frozenset[uuid.UUID] = frozenset()
    # Built for this actor once, not per request (an actor is cached per token until the
    # security epoch moves): its row-level security conditions by (model, action), and the
    # scoped statements of the hot path by (repository class, name).
    conditions: dict[tuple[type[Any], str], ColumnElement[bool]] = field(
        default_factory=dict, compare=False, repr=False
    )
    statements: dict[tuple[type[Any], str], Executable] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def is_admin(self) -> bool:
        return SYSTEM_ADMINISTRATOR in self.role_keys

    def depth(self, table: str, action: str) -> Depth:
        return self.privileges.get((table, action), Depth.NONE)

    def require(self, table: str, action: str) -> None:
        """Refuse (403) an action the actor's roles grant at no depth at all."""
        if self.depth(table, action) == Depth.NONE:
            raise PermissionDenied(f"Your roles do not allow {action} on {table} records.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("This needs the system administrator role.")

    def covers(self, depth: Depth, owner_id: uuid.UUID | None, unit_id: uuid.UUID | None) -> bool:
        """Whether ``depth`` reaches a record with this owner and owning business unit."""
        if depth >= Depth.ORGANIZATION:
            return True
        if depth >= Depth.PARENT_CHILD and unit_id in self.business_unit_tree:
            return True
        if depth >= Depth.BUSINESS_UNIT and unit_id == self.business_unit_id:
            return True
        return depth >= Depth.USER and owner_id == self.user_id
