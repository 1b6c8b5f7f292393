"""Roles and their privileges, teams, record shares and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oppflow.clock import utcnow
from oppflow.models.base import SEQUENCE_ID, Audited, Base, new_id


class Role(Audited, Base):
    """A named set of privileges: per table and action, a depth."""

    __tablename__ = "roles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    is_builtin: Mapped[bool] = mapped_column(default=False)

    privileges: Mapped[list[RolePrivilege]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class RolePrivilege(Base):
    __tablename__ = "role_privileges"

    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(16), primary_key=True)
    depth: Mapped[str] = mapped_column(String(16))


class Team(Audited, Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"))

    members: Mapped[list[TeamMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    role_links: Mapped[list[TeamRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TeamRole(Base):
    __tablename__ = "team_roles"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    role_key: Mapped[str] = mapped_column(
        ForeignKey("roles.key", ondelete="CASCADE"), primary_key=True
    )


class RecordShare(Base):
    """One action on one record granted to a user or a team (one row per action)."""

    __tablename__ = "record_shares"
    __table_args__ = (
        Index("ix_record_shares_lookup", "table_name", "record_id", "action"),
        Index("ix_record_shares_principal", "principal_id", "table_name", "action"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    table_name: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[uuid.UUID]
    principal_type: Mapped[str] = mapped_column(String(8))  # user | team
    principal_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Append-only: who did what, when, from where, with old and new values."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_record", "table_name", "record_id", "seq"),
        Index("ix_audit_log_actor", "actor_id", "seq"),
        Index("ix_audit_log_action_subject", "action", "subject", "seq"),
    )

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(24))
    table_name: Mapped[str | None] = mapped_column(String(32), default=None)
    record_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # For log-in rows: the user name tried (never the password).
    subject: Mapped[str | None] = mapped_column(String(64), default=None)
    business_unit_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SecurityEpoch(Base):
    """One row whose value goes up in the transaction of every change to who may do what
    (users, roles, privileges, teams, memberships, business units): every process compares it
    with the value its cached actors were resolved at (``oppflow.security.epoch``)."""

    __tablename__ = "security_epoch"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=1)
