"""The privilege model: per role, per table and action, a depth.

This module is the single source of the built-in roles; the README's privilege table and the
security matrix test are generated from it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

Action = Literal["create", "read", "write", "delete", "assign", "share", "append"]
ACTIONS: tuple[Action, ...] = ("create", "read", "write", "delete", "assign", "share", "append")
TABLES: tuple[str, ...] = (
    "account", "contact", "lead", "opportunity", "quote", "competitor", "file",
    "product", "price_list", "process", "user", "role", "business_unit", "team", "audit",
)  # fmt: skip
# Rows of these tables have an owner and an owning business unit; depths apply to them.
OWNED_TABLES = frozenset({"account", "contact", "lead", "opportunity"})
# Files and quotes follow the opportunity they belong to.
RECORD_TABLES = ("account", "contact", "lead", "opportunity", "quote", "file")
# The catalogue (units, products, price lists) is organisation-wide reference data.
CATALOGUE_TABLES = ("product", "price_list")


class Depth(IntEnum):
    NONE = 0
    USER = 1
    BUSINESS_UNIT = 2
    PARENT_CHILD = 3
    ORGANIZATION = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Depth:
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(depth.label for depth in cls)
            raise ValueError(f"unknown depth {text!r} (one of {names})") from None


Privileges = dict[tuple[str, str], Depth]


def _grant(tables: tuple[str, ...], actions: tuple[str, ...], depth: Depth) -> Privileges:
    return {(table, action): depth for table in tables for action in actions}


def _salesperson() -> Privileges:
    granted = _grant(
        RECORD_TABLES, ("create", "write", "delete", "assign", "share", "append"), Depth.USER
    )
    granted |= _grant(RECORD_TABLES, ("read",), Depth.BUSINESS_UNIT)
    granted |= _grant(("competitor",), ("create", "read", "write", "append"), Depth.ORGANIZATION)
    granted |= _grant(
        ("process", "user", "business_unit", "team", *CATALOGUE_TABLES),
        ("read",),
        Depth.ORGANIZATION,
    )
    return granted


def _sales_manager() -> Privileges:
    granted = _grant(RECORD_TABLES, ACTIONS, Depth.PARENT_CHILD)
    granted |= _grant(("competitor", *CATALOGUE_TABLES), ACTIONS, Depth.ORGANIZATION)
    granted |= _grant(
        ("process", "user", "business_unit", "team", "role"), ("read",), Depth.ORGANIZATION
    )
    granted |= _grant(("audit",), ("read",), Depth.PARENT_CHILD)
    return granted


def _system_administrator() -> Privileges:
    everything = tuple(table for table in TABLES if table != "audit")
    # The audit log is read-only for everyone: no role may change or delete it.
    return _grant(everything, ACTIONS, Depth.ORGANIZATION) | {("audit", "read"): Depth.ORGANIZATION}


BUILTIN_ROLES: dict[str, tuple[str, Privileges]] = {
    "salesperson": ("Salesperson", _salesperson()),
    "sales-manager": ("Sales Manager", _sales_manager()),
    "system-administrator": ("System Administrator", _system_administrator()),
}


def merge(*grants: Privileges) -> Privileges:
    """The union of several roles: for each table and action, the deepest depth granted."""
    merged: Privileges = {}
    for grant in grants:
        for key, depth in grant.items():
            merged[key] = max(merged.get(key, Depth.NONE), depth)
    return merged
