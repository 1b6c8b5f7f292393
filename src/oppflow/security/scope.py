"""Row-level security: which rows a caller may read, and whether they may act on one.

Every repository's ``readable()`` goes through :func:`read_scope`, so gets, lists, searches and
aggregates all see the same rows; every service write goes through :func:`require`. A record is
reachable by the depth of the actor's privilege (own, business unit, parent-child units,
organisation), and at any depth above none by ownership, a share with the actor or one of their
teams, or (opportunities) a place on its sales team.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from oppflow.errors import PermissionDenied
from oppflow.models import Opportunity, RecordShare, SalesTeamMember
from oppflow.security.actor import Actor
from oppflow.security.privileges import OWNED_TABLES, Depth

# Sales team members read and write the opportunity, whatever their depth (DESIGN §2).
SALES_TEAM_ACTIONS = frozenset({"read", "write", "append"})

TABLE_OF: dict[str, str] = {
    "accounts": "account",
    "contacts": "contact",
    "leads": "lead",
    "opportunities": "opportunity",
    "competitors": "competitor",
    "opportunity_files": "file",
    "processes": "process",
    "users": "user",
    "roles": "role",
    "business_units": "business_unit",
    "teams": "team",
    "audit_log": "audit",
    "quotes": "quote",
    "quote_lines": "quote",
    "opportunity_lines": "opportunity",
    "unit_groups": "product",
    "units": "product",
    "product_families": "product",
    "products": "product",
    "price_lists": "price_list",
    "price_list_items": "price_list",
}


def table_of(model: Any) -> str:
    """The privilege table of a model class or instance."""
    return TABLE_OF[model.__tablename__]


def read_scope(actor: Actor, model: type[Any]) -> ColumnElement[bool]:
    """The condition a row of ``model`` must meet for ``actor`` to read it."""
    return _scope(actor, model, "read")


def _scope(actor: Actor, model: type[Any], action: str) -> ColumnElement[bool]:
    key = (model, action)
    scope = actor.conditions.get(key)
    if scope is None:
        scope = actor.conditions[key] = _built_scope(actor, model, action)
    return scope


def _built_scope(actor: Actor, model: type[Any], action: str) -> ColumnElement[bool]:
    table = table_of(model)
    depth = actor.depth(table, action)
    if depth == Depth.NONE:
        return false()
    if table not in OWNED_TABLES or depth == Depth.ORGANIZATION:
        return true()
    reachable = [ownership_reach(actor, depth, model.owner_id, model.owning_business_unit_id)]
    reachable.append(_shared(actor, table, model.id, action))
    if table == "opportunity" and action in SALES_TEAM_ACTIONS:
        reachable.append(_on_sales_team(actor, model.id))
    return or_(*reachable)


def ownership_reach(actor: Actor, depth: Depth, owner_id: Any, unit_id: Any) -> ColumnElement[bool]:
    """The rows reached by ownership alone at ``depth``, over any pair of owner and owning
    unit columns (a table's, or a summary's kept per owner and unit)."""
    if depth == Depth.NONE:
        return false()
    if depth == Depth.ORGANIZATION:
        return true()
    reachable: list[ColumnElement[bool]] = [owner_id == actor.user_id]
    if depth >= Depth.PARENT_CHILD:
        reachable.append(one_of(unit_id, actor.business_unit_tree))
    elif depth >= Depth.BUSINESS_UNIT:
        reachable.append(unit_id == actor.business_unit_id)
    return or_(*reachable)


def one_of(column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for the actor's own lists (units, teams), one bound parameter per
    value, sorted so that one list always gives one statement. SQLAlchemy renders a plain
    ``in_`` list anew at every execution (a regular expression over the statement's text);
    these lists are fixed for as long as the actor and the statements built for it are
    cached. The price: SQLAlchemy compiles and caches a statement per length of list, where
    one served every length."""
    if not values:
        return false()
    found: ColumnElement[bool] = column.in_(
        [bindparam(None, value, type_=column.type) for value in sorted(values)]
    )
    return found


# Granted ids inlined into one statement at most; beyond, the parts take them in slices.
GRANTED_SLICE = 5_000


class Grants:
    """Row-level security of one table for one actor with the records granted to them (shared
    with them or one of their teams, or on their sales team) read first, by :func:`granted`:
    a handful of ids, which the conditions below then carry as a list. A list lets the
    planner start from those ids or test each row against them, where the correlated
    ``EXISTS`` of :func:`read_scope` costs index probes per row and, kept beside ownership in
    one ``OR``, makes a count test every row (decision 23). Read per request: a share takes
    effect at once, as with :func:`read_scope`."""

    def __init__(self, actor: Actor, model: type[Any], ids: Sequence[uuid.UUID]) -> None:
        self.actor = actor
        self.model = model
        self.table = table_of(model)
        self.depth = actor.depth(self.table, "read")
        self.ids = list(ids)

    @property
    def owned(self) -> ColumnElement[bool]:
        """The rows the depth reaches by ownership (every row at the organisation depth)."""
        if self.table not in OWNED_TABLES:
            return true() if self.depth else false()
        model = self.model
        return ownership_reach(
            self.actor, self.depth, model.owner_id, model.owning_business_unit_id
        )

    def scope(self) -> ColumnElement[bool]:
        """The same rows as :func:`read_scope`, as one condition."""
        if not self.reaches_beyond_ownership:
            return self.owned
        if len(self.ids) > GRANTED_SLICE:
            return read_scope(self.actor, self.model)
        return or_(self.owned, self.model.id.in_(self.ids))

    def ways(self) -> list[ColumnElement[bool]]:
        """The same rows as conditions that may overlap, one per way the actor reaches them
        (owning them, their unit or units, a grant): the ids read as a ``UNION ALL`` of one
        query each, each from its own index, where one ``OR`` reads a whole index."""
        if self.depth == Depth.NONE:
            return []
        if self.table not in OWNED_TABLES or self.depth == Depth.ORGANIZATION:
            return [true()]
        model = self.model
        found: list[ColumnElement[bool]] = [model.owner_id == self.actor.user_id]
        if self.depth >= Depth.PARENT_CHILD:
            found.append(one_of(model.owning_business_unit_id, self.actor.business_unit_tree))
        elif self.depth >= Depth.BUSINESS_UNIT:
            found.append(model.owning_business_unit_id == self.actor.business_unit_id)
        if self.reaches_beyond_ownership:
            # Past a slice, the grants read in the statement itself: the ways are one
            # statement, whose bound values the drivers cap (65,535 for psycopg).
            many = len(self.ids) > GRANTED_SLICE
            ids = granted_ids(self.actor, self.table, "read") if many else self.ids
            found.append(model.id.in_(ids))
        return found

    def parts(self) -> list[ColumnElement[bool]]:
        """The same rows as disjoint conditions (none when nothing is readable): ownership,
        then the granted rows ownership does not reach, a slice of ids each. A count is the
        sum of the parts' counts."""
        if self.depth == Depth.NONE:
            return []
        if not self.reaches_beyond_ownership:
            return [self.owned]
        model = self.model
        beyond = beyond_ownership(
            self.actor, self.depth, model.owner_id, model.owning_business_unit_id
        )
        slices = [self.ids[i : i + GRANTED_SLICE] for i in range(0, len(self.ids), GRANTED_SLICE)]
        return [self.owned, *(and_(model.id.in_(ids), beyond) for ids in slices)]

    @property
    def reaches_beyond_ownership(self) -> bool:
        return (
            bool(self.ids)
            and self.table in OWNED_TABLES
            and Depth.NONE < self.depth < Depth.ORGANIZATION
        )


def needs_grants(actor: Actor, model: type[Any]) -> bool:
    """Whether reading ``model`` reaches beyond ownership through shares (and sales teams):
    an owned table read below the organisation depth."""
    table = table_of(model)
    return table in OWNED_TABLES and Depth.NONE < actor.depth(table, "read") < Depth.ORGANIZATION


def granted(session: Session, actor: Actor, model: type[Any]) -> Grants:
    """:class:`Grants` for ``actor`` reading ``model``, its granted ids read from the shares'
    principal index and the sales team's user index (no read when the depth reaches all)."""
    ids: list[uuid.UUID] = []
    if needs_grants(actor, model):
        ids = list(dict.fromkeys(session.scalars(granted_ids(actor, table_of(model), "read"))))
    return Grants(actor, model, ids)


def beyond_ownership(
    actor: Actor, depth: Depth, owner_id: Any, unit_id: Any
) -> ColumnElement[bool]:
    """The rows :func:`ownership_reach` does not reach at ``depth`` (below the organisation):
    its complement, rows without an owning unit included (``NOT`` of a comparison with NULL
    would leave them out of both)."""
    beyond: ColumnElement[bool] = owner_id != actor.user_id
    if depth >= Depth.PARENT_CHILD:
        tree = actor.business_unit_tree
        beyond = and_(beyond, or_(unit_id.is_(None), ~one_of(unit_id, tree)))
    elif depth >= Depth.BUSINESS_UNIT:
        beyond = and_(beyond, or_(unit_id.is_(None), unit_id != actor.business_unit_id))
    return beyond


def granted_ids(actor: Actor, table: str, action: str) -> Select[Any]:
    """The ids of the records of ``table`` shared with the actor or one of their teams for
    ``action``, and (opportunities) those whose sales team they are on."""
    principals = [actor.user_id, *actor.team_ids]
    shared = select(RecordShare.record_id).where(
        RecordShare.table_name == table,
        RecordShare.action == action,
        one_of(RecordShare.principal_id, principals),
    )
    if table != "opportunity" or action not in SALES_TEAM_ACTIONS:
        return shared
    teamed = select(SalesTeamMember.opportunity_id).where(SalesTeamMember.user_id == actor.user_id)
    return select(union_all(shared, teamed).subquery().c[0])


def _shared(actor: Actor, table: str, record_id: Any, action: str) -> ColumnElement[bool]:
    principals = [actor.user_id, *actor.team_ids]
    return exists().where(
        RecordShare.table_name == table,
        RecordShare.record_id == record_id,
        RecordShare.action == action,
        one_of(RecordShare.principal_id, principals),
    )


def _on_sales_team(actor: Actor, opportunity_id: Any) -> ColumnElement[bool]:
    return exists().where(
        and_(
            SalesTeamMember.opportunity_id == opportunity_id,
            SalesTeamMember.user_id == actor.user_id,
        )
    )


def can(session: Session, actor: Actor, action: str, record: Any) -> bool:
    """Whether ``actor`` may perform ``action`` on ``record`` (a loaded, readable row)."""
    table = table_of(record)
    depth = actor.depth(table, action)
    if depth == Depth.NONE:
        return False
    if table not in OWNED_TABLES:
        return True
    if actor.covers(depth, record.owner_id, record.owning_business_unit_id):
        return True
    model = type(record)
    query = select(_scope(actor, model, action)).select_from(model).where(model.id == record.id)
    return bool(session.scalar(query))


def require(session: Session, actor: Actor, action: str, record: Any) -> None:
    """Refuse with 403 an action the actor's privileges do not reach on a readable record."""
    if not can(session, actor, action, record):
        raise PermissionDenied(
            f"You may read this {table_of(record)} but not {action} it.", action=action
        )


def require_create(actor: Actor, table: str, owner_id: uuid.UUID, owner_unit: uuid.UUID) -> None:
    """Refuse creating a record the actor's create depth would not reach (e.g. for another
    business unit's user)."""
    depth = actor.depth(table, "create")
    if depth == Depth.NONE:
        raise PermissionDenied(f"Your roles do not allow creating {table} records.")
    if table in OWNED_TABLES and not actor.covers(depth, owner_id, owner_unit):
        raise PermissionDenied(f"You may not create {table} records owned by that user.")


def through_opportunity(actor: Actor, table: str, action: str) -> ColumnElement[bool]:
    """The condition an opportunity must meet for ``actor`` to ``action`` the rows of
    ``table`` that belong to it (quotes): the depth of ``table`` applied to the opportunity's
    owner and unit, its shares and its sales team, as for the opportunity itself."""
    key = (Opportunity, f"{table}:{action}")
    scope = actor.conditions.get(key)
    if scope is None:
        scope = actor.conditions[key] = _through_opportunity(actor, table, action)
    return scope


def _through_opportunity(actor: Actor, table: str, action: str) -> ColumnElement[bool]:
    depth = actor.depth(table, action)
    if depth in (Depth.NONE, Depth.ORGANIZATION):
        return true() if depth else false()
    owned = Opportunity.owner_id, Opportunity.owning_business_unit_id
    reachable = [ownership_reach(actor, depth, *owned)]
    reachable.append(_shared(actor, "opportunity", Opportunity.id, action))
    if action in SALES_TEAM_ACTIONS:
        reachable.append(_on_sales_team(actor, Opportunity.id))
    return or_(*reachable)


def require_through_opportunity(
    session: Session, actor: Actor, table: str, action: str, opportunity: Any
) -> None:
    """Refuse with 403 ``action`` on a row of ``table`` that belongs to ``opportunity``
    (readable) when the depth of ``table`` does not reach that opportunity."""
    depth = actor.depth(table, action)
    allowed = depth > Depth.NONE and (
        actor.covers(depth, opportunity.owner_id, opportunity.owning_business_unit_id)
        or bool(
            session.scalar(
                select(through_opportunity(actor, table, action)).where(
                    Opportunity.id == opportunity.id
                )
            )
        )
    )
    if not allowed:
        raise PermissionDenied(f"Your roles do not allow {action} on this {table}.", action=action)
