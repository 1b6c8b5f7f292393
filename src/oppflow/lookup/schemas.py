"""What a picker offers: one choice per record found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

LookupKind = Literal["account", "contact", "competitor", "owner"]
LOOKUP_KINDS: tuple[LookupKind, ...] = ("account", "contact", "competitor", "owner")


@dataclass(frozen=True)
class Choice:
    """A record as a picker lists it: its id, its name, and a detail that tells namesakes apart
    (a contact's e-mail and account, a user's e-mail)."""

    id: uuid.UUID
    label: str
    detail: str = ""
