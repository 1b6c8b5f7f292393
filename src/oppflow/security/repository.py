"""Queries on users, business units and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.models import (
    ApiToken,
    AuditEntry,
    BusinessUnit,
    RecordShare,
    Role,
    RolePrivilege,
    SecurityEpoch,
    Team,
    TeamMember,
    TeamRole,
    User,
    UserRole,
)

ROOT_BUSINESS_UNIT = "Organisation"
EPOCH_ID = 1


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: uuid.UUID) -> User:
        user = self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user {user_id}.")
        return user

    def find_by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def has_any(self) -> bool:
        return self.session.scalar(select(User.id).limit(1)) is not None

    def list(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.username)))

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class BusinessUnitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, unit_id: uuid.UUID) -> BusinessUnit:
        unit = self.session.get(BusinessUnit, unit_id)
        if unit is None:
            raise NotFound(f"No business unit {unit_id}.")
        return unit

    def root(self) -> BusinessUnit:
        """The organisation's root unit, created on first use."""
        unit = self.session.scalar(select(BusinessUnit).where(BusinessUnit.parent_id.is_(None)))
        if unit is None:
            unit = BusinessUnit(name=ROOT_BUSINESS_UNIT)
            self.session.add(unit)
            self.session.flush()
        return unit

    def find_by_name(self, name: str) -> BusinessUnit | None:
        return self.session.scalar(select(BusinessUnit).where(BusinessUnit.name == name))

    def add(self, unit: BusinessUnit) -> BusinessUnit:
        self.session.add(unit)
        self.session.flush()
        return unit


def _live_token_statement() -> Select[str, uuid.UUID, int]:
    """Built once: Core columns and bound parameters, so that a request pays neither for
    building the expression nor for the ORM's handling of a query that loads no object."""
    tokens, users, epoch = ApiToken.__table__, User.__table__, SecurityEpoch.__table__
    current = select(epoch.c.value).where(epoch.c.id == EPOCH_ID).scalar_subquery()
    return (
        select(tokens.c.kind, tokens.c.user_id, func.coalesce(current, 0))
        .join(users, users.c.id == tokens.c.user_id)
        .where(
            tokens.c.token_hash == bindparam("token_hash"),
            tokens.c.revoked_at.is_(None),
            tokens.c.expires_at > bindparam("now"),
            users.c.is_active.is_(True),
        )
    )


class SecurityEpochRepository:
    """The counter's one row (see ``oppflow.security.epoch``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure_row(self) -> None:
        """The migration writes it; a test that empties every table does not."""
        if self.session.get(SecurityEpoch, EPOCH_ID) is None:
            self.session.execute(insert(SecurityEpoch).values(id=EPOCH_ID, value=1))

    def bump(self) -> None:
        # The connection, not the session: this runs inside a flush.
        self.session.connection().execute(
            update(SecurityEpoch)
            .where(SecurityEpoch.id == EPOCH_ID)
            .values(value=SecurityEpoch.value + 1)
        )


class LiveToken(NamedTuple):
    """What a request needs of its token: whose it is, its kind, and the security epoch."""

    kind: str
    user_id: uuid.UUID
    epoch: int


_LIVE_TOKEN = _live_token_statement()


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def check(self, token_hash: str, now: datetime) -> LiveToken | None:
        """The live token with this hash of an active user, with the security epoch read in
        the same statement (the one query of an authenticated request)."""
        row = (
            self.session.connection()
            .execute(_LIVE_TOKEN, {"token_hash": token_hash, "now": now})
            .first()
        )
        return None if row is None else LiveToken(row[0], row[1], row[2])

    def revoke_all_of(self, user_id: uuid.UUID, now: datetime) -> int:
        """Revoke every live token (API tokens and web sessions) of a user; how many."""
        live = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        tokens = list(self.session.scalars(live))
        for token in tokens:
            token.revoked_at = now
        self.session.flush()
        return len(tokens)

    def find_live(self, token_hash: str, now: datetime) -> tuple[ApiToken, User] | None:
        """The unrevoked, unexpired token with this hash and its active user, in one query."""
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.token_hash == token_hash,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
                User.is_active.is_(True),
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def list_for_user(self, user_id: uuid.UUID) -> list[ApiToken]:
        query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
        return list(self.session.scalars(query))


class PrivilegeRepository:
    """What an actor's roles, teams and business units add up to."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def team_ids(self, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        query = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
        return frozenset(self.session.scalars(query))

    def grants(
        self, user_id: uuid.UUID, team_ids: frozenset[uuid.UUID]
    ) -> list[tuple[str, str | None, str | None, str | None]]:
        """(role key, table, action, depth) of the user's and their teams' roles, one query;
        a role without privileges comes back once with Nones."""
        own = select(UserRole.role_key.label("key")).where(UserRole.user_id == user_id)
        teams = select(TeamRole.role_key.label("key")).where(TeamRole.team_id.in_(team_ids))
        keys = own.union(teams).subquery()
        query = (
            select(Role.key, RolePrivilege.table_name, RolePrivilege.action, RolePrivilege.depth)
            .join(keys, keys.c.key == Role.key)
            .outerjoin(RolePrivilege, RolePrivilege.role_id == Role.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in self.session.execute(query)]

    def business_unit_tree(self, root_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """A unit and all its descendants (one recursive query)."""
        tree = select(BusinessUnit.id).where(BusinessUnit.id == root_id).cte(recursive=True)
        tree = tree.union_all(select(BusinessUnit.id).where(BusinessUnit.parent_id == tree.c.id))
        return frozenset(self.session.scalars(select(tree.c.id)))


class AuditRepository:
    """Reads of the audit log (the log is written only by oppflow.audit)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def failures_since(
        self, since: datetime, *, subject: str | None = None, address: str | None = None
    ) -> list[datetime]:
        """Times of failed log-ins since ``since`` for a user name or an address, oldest first."""
        query = select(AuditEntry.at).where(
            AuditEntry.action == "login_failure", AuditEntry.at > since
        )
        if subject is not None:
            query = query.where(AuditEntry.subject == subject)
        if address is not None:
            query = query.where(AuditEntry.address == address)
        return list(self.session.scalars(query.order_by(AuditEntry.seq)))

    def lock_log_ins(self, username: str, address: str | None) -> None:
        """Serialise the log-ins of one user name, then of one address, until this transaction
        ends, so that two attempts never both read a failure count before either adds to it
        (always in that order, so two log-ins never wait for each other's lock; SQLite: the
        write transaction holds the database's write lock already)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for key in (f"user {username}", f"address {address}" if address else None):
            if key is not None:
                hashed = func.hashtextextended(f"oppflow log-in {key}", 0)
                self.session.execute(select(func.pg_advisory_xact_lock(hashed)))

    def last_success(self, subject: str) -> datetime | None:
        query = select(func.max(AuditEntry.at)).where(
            AuditEntry.action == "login_success", AuditEntry.subject == subject
        )
        return self.session.scalar(query)

    def page(
        self, conditions: list[ColumnElement[bool]], *, limit: int, before: int | None
    ) -> list[AuditEntry]:
        """Newest first, ``limit`` rows older than sequence number ``before``."""
        query = select(AuditEntry).where(*conditions)
        if before is not None:
            query = query.where(AuditEntry.seq < before)
        return list(self.session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)))


class ShareRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_record(self, table: str, record_id: uuid.UUID) -> list[RecordShare]:
        query = (
            select(RecordShare)
            .where(RecordShare.table_name == table, RecordShare.record_id == record_id)
            .order_by(RecordShare.created_at, RecordShare.action)
        )
        return list(self.session.scalars(query))

    def get(self, share_id: uuid.UUID) -> RecordShare | None:
        return self.session.get(RecordShare, share_id)


class RoleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find_by_key(self, key: str) -> Role | None:
        return self.session.scalar(select(Role).where(Role.key == key))

    def list(self) -> list[Role]:
        return list(self.session.scalars(select(Role).order_by(Role.key)))


class TeamRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, team_id: uuid.UUID) -> Team:
        team = self.session.get(Team, team_id)
        if team is None:
            raise NotFound(f"No team {team_id}.")
        return team

    def list(self) -> list[Team]:
        return list(self.session.scalars(select(Team).order_by(Team.name)))

    def find_by_name(self, name: str) -> Team | None:
        return self.session.scalar(select(Team).where(Team.name == name))

    def add(self, team: Team) -> Team:
        self.session.add(team)
        self.session.flush()
        return team


def list_business_units(session: Session) -> list[BusinessUnit]:
    return list(session.scalars(select(BusinessUnit).order_by(BusinessUnit.name)))
