"""Who is calling: the user every service call acts as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from oppflow.errors import PermissionDenied

SALESPERSON = "salesperson"
SALES_MANAGER = "sales-manager"
SYSTEM_ADMINISTRATOR = "system-administrator"
ROLE_KEYS = (SALESPERSON, SALES_MANAGER, SYSTEM_ADMINISTRATOR)


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    username: str
    business_unit_id: uuid.UUID
    role_keys: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return SYSTEM_ADMINISTRATOR in self.role_keys

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("This needs the system administrator role.")
