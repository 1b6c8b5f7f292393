"""What the privilege table says an actor may do, computed independently of the product's scope
code (``oppflow.security.scope``): only the documented depth table
(``oppflow.security.privileges.BUILTIN_ROLES``) and the meaning of each depth are used.

A depth reaches a record by where its owner sits relative to the actor: user (the actor's own),
business unit (the actor's unit), parent–child (the actor's unit and those below it),
organisation (anywhere). A share grants its actions, and a place on an opportunity's sales team
grants read and write (and append), provided the actor's role has the action at some depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from oppflow.security.privileges import BUILTIN_ROLES, Depth

Outcome = Literal["allowed", 403, 404]
ALLOWED: Literal["allowed"] = "allowed"
Unit = Literal["same", "below", "elsewhere"]

# The matrix shares read and write only.
SHARED_ACTIONS = frozenset({"read", "write"})
SALES_TEAM_ACTIONS = frozenset({"read", "write", "append"})


@dataclass(frozen=True)
class Position:
    """Where a record sits relative to the actor."""

    mine: bool
    unit: Unit  # of the record's owner, relative to the actor's business unit
    granted: frozenset[str] = frozenset()  # by shares or the sales team

    def needs(self) -> Depth:
        """The least depth that reaches the record by ownership and units alone."""
        if self.mine:
            return Depth.USER
        return {
            "same": Depth.BUSINESS_UNIT,
            "below": Depth.PARENT_CHILD,
            "elsewhere": Depth.ORGANIZATION,
        }[self.unit]


POSITIONS: dict[str, Position] = {
    "own": Position(mine=True, unit="same"),
    "same_unit": Position(mine=False, unit="same"),
    "child_unit": Position(mine=False, unit="below"),
    "parent_unit": Position(mine=False, unit="elsewhere"),
    "other_branch": Position(mine=False, unit="elsewhere"),
    "shared_with_me": Position(mine=False, unit="elsewhere", granted=SHARED_ACTIONS),
    "shared_with_team": Position(mine=False, unit="elsewhere", granted=SHARED_ACTIONS),
    "sales_team": Position(mine=False, unit="elsewhere", granted=SALES_TEAM_ACTIONS),
}


def depth(role: str, table: str, action: str) -> Depth:
    return BUILTIN_ROLES[role][1].get((table, action), Depth.NONE)


def allowed(role: str, table: str, action: str, position: Position) -> bool:
    """Whether the role's depth for (table, action) reaches a record in ``position``."""
    granted = depth(role, table, action)
    if granted == Depth.NONE:
        return False
    return granted >= position.needs() or action in position.granted


def outcome(role: str, table: str, action: str, position: Position) -> Outcome:
    """The documented answer: 404 outside the read depth, else allowed or 403."""
    if not allowed(role, table, "read", position):
        return 404
    return ALLOWED if allowed(role, table, action, position) else 403


def create_outcome(role: str, table: str, position: Position) -> Outcome:
    """Creating a record for an owner in ``position`` (no record exists yet: never 404)."""
    return ALLOWED if allowed(role, table, "create", position) else 403


def table_outcome(role: str, table: str, action: str) -> Outcome:
    """Tables without owners: any depth allows the action."""
    return ALLOWED if depth(role, table, action) > Depth.NONE else 403


def matches(expected: Outcome, status: int) -> bool:
    return 200 <= status < 300 if expected == ALLOWED else status == expected
