"""Users and authentication: who may log in, and which actor a bearer token stands for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.orm import Session, object_session

from oppflow import audit
from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.errors import Conflict, NotFound, TooManyRequests, Unauthorized, ValidationFailed
from oppflow.models import ApiToken, User, UserRole
from oppflow.records import active_user
from oppflow.security import actor_cache
from oppflow.security.actor import Actor
from oppflow.security.passwords import hash_password, verify_password
from oppflow.security.privileges import Depth, Privileges
from oppflow.security.repository import (
    AuditRepository,
    BusinessUnitRepository,
    PrivilegeRepository,
    TokenRepository,
    UserRepository,
)
from oppflow.security.roles import known_role
from oppflow.security.schemas import UserCreate
from oppflow.security.tokens import hash_secret, new_secret

BAD_CREDENTIALS = "Unknown user name or wrong password."


def actor_for(user: User) -> Actor:
    """The actor ``user`` acts as: the union of their roles and their teams' roles."""
    session = object_session(user)
    if session is None:
        raise ValueError("actor_for needs a user loaded in a session")
    repository = PrivilegeRepository(session)
    team_ids = repository.team_ids(user.id)
    role_keys: set[str] = set()
    privileges: Privileges = {}
    for role_key, table, action, depth in repository.grants(user.id, team_ids):
        role_keys.add(role_key)
        if table and action and depth:
            key = (table, action)
            privileges[key] = max(privileges.get(key, Depth.NONE), Depth.parse(depth))
    # The unit tree costs a query; only a parent-child depth needs it.
    needs_tree = Depth.PARENT_CHILD in privileges.values()
    return Actor(
        user_id=user.id,
        username=user.username,
        business_unit_id=user.business_unit_id,
        role_keys=frozenset(role_keys),
        privileges=privileges,
        team_ids=team_ids,
        business_unit_tree=(
            repository.business_unit_tree(user.business_unit_id)
            if needs_tree
            else frozenset({user.business_unit_id})
        ),
    )


def active_reader(session: Session, user_id: uuid.UUID, table: str, *, field: str) -> User:
    """An active user whose roles can read ``table`` records: one who may own them, or be
    given access to them (a 422 naming ``field`` otherwise)."""
    user = active_user(session, user_id, field=field)
    if actor_for(user).depth(table, "read") == Depth.NONE:
        raise ValidationFailed(
            f"{field}: that user's roles cannot read {table} records.", field=field
        )
    return user


def actor_by_username(session: Session, username: str) -> Actor:
    """The actor a CLI command or job runs as."""
    user = UserRepository(session).find_by_username(username)
    if user is None or not user.is_active:
        raise Unauthorized(f"No active user {username!r}.")
    return actor_for(user)


def create_user(session: Session, *, actor: Actor | None, data: UserCreate) -> User:
    """Create a user; ``actor`` None is the CLI's bootstrap path, which needs no admin."""
    if actor is not None:
        actor.require("user", "create")
    users = UserRepository(session)
    if users.find_by_username(data.username):
        raise Conflict(f"The user name {data.username!r} is taken.")
    units = BusinessUnitRepository(session)
    unit = units.get(data.business_unit_id) if data.business_unit_id else units.root()
    if data.manager_id:
        users.get(data.manager_id)
    for key in data.roles:
        known_role(session, key)
    user = User(
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        password_hash=hash_password(data.password) if data.password else None,
        is_active=data.is_active,
        business_unit_id=unit.id,
        manager_id=data.manager_id,
        created_by_id=actor.user_id if actor else None,
        role_links=[UserRole(role_key=key) for key in sorted(set(data.roles))],
    )
    return users.add(user)


@dataclass(frozen=True)
class LogInAttempt:
    """What a log-in read before it checks the password: the hash it checks against (None
    for an unknown user name, checked against a dummy hash)."""

    username: str
    address: str | None
    password_hash: str | None


@dataclass(frozen=True)
class LogInOutcome:
    """A finished log-in: the token issued, or the refusal to raise once the unit of work
    that counted it has committed."""

    issued: tuple[str, ApiToken] | None = None
    refusal: Unauthorized | TooManyRequests | None = None

    def token(self) -> tuple[str, ApiToken]:
        if self.issued is None:
            raise self.refusal or Unauthorized(BAD_CREDENTIALS)
        return self.issued


def begin_log_in(session: Session, *, username: str, address: str | None) -> LogInAttempt:
    """A log-in's first step, in a read-only unit of work: a throttled user name or address
    answers 429 before any hashing, else the stored hash to check the password against."""
    check_throttle(session, username=username, address=address)
    user = UserRepository(session).find_by_username(username)
    return LogInAttempt(username, address, user.password_hash if user else None)


def password_matches(attempt: LogInAttempt, password: str) -> bool:
    """The password check, outside any transaction: an argon2 hash costs tens of
    milliseconds, and on SQLite a writer's transaction holds the database's write lock."""
    return verify_password(attempt.password_hash, password)


def finish_log_in(
    session: Session,
    attempt: LogInAttempt,
    *,
    valid: bool,
    kind: Literal["access", "session"] = "access",
) -> LogInOutcome:
    """A log-in's last step, in a short write unit of work: count a wrong password, or issue
    a short-lived access token (``kind`` "session": the web pages' session cookie).

    Log-ins of one user name and of one address are serialised here and the throttle is
    checked again, so attempts that passed the first check together still see each other's
    failures: after too many failures in a row, any attempt answers 429, a right password
    included. Every wrong password is counted, a throttled one too. Every failure has the
    same message and costs the same time."""
    AuditRepository(session).lock_log_ins(attempt.username, attempt.address)
    try:
        check_throttle(session, username=attempt.username, address=attempt.address)
    except TooManyRequests as error:
        return _refused(session, attempt, error, counted=not valid)
    user = UserRepository(session).find_by_username(attempt.username)
    # A hash changed since it was read means the password checked is no longer the password.
    if user is None or not (
        valid and user.is_active and user.password_hash == attempt.password_hash
    ):
        return _refused(session, attempt, Unauthorized(BAD_CREDENTIALS), counted=True)
    return LogInOutcome(issued=_log_in_user(session, user, kind=kind))


def _refused(
    session: Session,
    attempt: LogInAttempt,
    refusal: Unauthorized | TooManyRequests,
    *,
    counted: bool,
) -> LogInOutcome:
    if counted:
        record_failed_log_in(session, username=attempt.username, address=attempt.address)
    return LogInOutcome(refusal=refusal)


def _log_in_user(
    session: Session, user: User, *, kind: Literal["access", "session"]
) -> tuple[str, ApiToken]:
    audit.record(
        session,
        "login_success",
        table="users",
        record_id=user.id,
        subject=user.username,
        actor_id=user.id,
    )
    minutes = get_settings().access_token_minutes
    name = "web session" if kind == "session" else "log-in"
    return _issue(session, user, kind=kind, name=name, lifetime=timedelta(minutes=minutes))


def record_failed_log_in(session: Session, *, username: str, address: str | None) -> None:
    """A wrong password or unknown user name, counted by the throttle (the unit of work is
    attributed to ``address`` by its edge)."""
    audit.record(session, "login_failure", table="users", subject=username[:64])


def check_throttle(session: Session, *, username: str, address: str | None) -> None:
    """Refuse (429) a user name with too many failures in a row, or a flooding address."""
    window = timedelta(minutes=get_settings().login_window_minutes)
    now = utcnow()
    audit_log = AuditRepository(session)
    since = max(now - window, audit_log.last_success(username) or now - window)
    failures = audit_log.failures_since(since, subject=username)
    if len(failures) >= get_settings().login_max_failures:
        _too_many(failures[0] + window - now)
    if address is not None:
        from_address = audit_log.failures_since(now - window, address=address)
        if len(from_address) >= get_settings().login_max_failures_per_address:
            _too_many(from_address[0] + window - now)


def _too_many(wait: timedelta) -> None:
    seconds = max(1, int(wait.total_seconds()) + 1)
    raise TooManyRequests(
        f"Too many failed log-ins; try again in {seconds} seconds.", retry_after=seconds
    )


def create_api_token(
    session: Session, *, username: str, name: str, days: int | None = None
) -> tuple[str, ApiToken]:
    """A long-lived API token for scripts; the secret is returned once and stored hashed."""
    user = UserRepository(session).find_by_username(username)
    if user is None:
        raise Unauthorized(f"No user {username!r}.")
    lifetime = timedelta(days=days or get_settings().api_token_days)
    return _issue(session, user, kind="api", name=name, lifetime=lifetime)


def _issue(
    session: Session, user: User, *, kind: str, name: str, lifetime: timedelta
) -> tuple[str, ApiToken]:
    secret = new_secret()
    token = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        token_hash=hash_secret(secret),
        expires_at=utcnow() + lifetime,
    )
    return secret, TokenRepository(session).add(token)


def authenticate(session: Session, secret: str) -> Actor:
    """The actor a bearer secret stands for; revoked, expired or unknown secrets are refused."""
    actor = _actor_of_token(session, secret, kind=None)
    if actor is None:
        raise Unauthorized("The token is unknown, expired or revoked.")
    return actor


def authenticate_session(session: Session, secret: str) -> Actor:
    """The actor a web session cookie stands for; only tokens of kind "session" qualify."""
    actor = _actor_of_token(session, secret, kind="session")
    if actor is None:
        raise Unauthorized("The session is unknown, expired or ended.")
    return actor


def _actor_of_token(session: Session, secret: str, *, kind: str | None) -> Actor | None:
    """One statement checks the token and reads the security epoch; the actor comes from this
    process's cache unless something it is made of changed since it was resolved."""
    token_hash = hash_secret(secret)
    live = TokenRepository(session).check(token_hash, utcnow())
    if live is None or (kind is not None and live.kind != kind):
        return None
    actor = actor_cache.actors.get(token_hash, live.epoch, live.user_id)
    if actor is None:
        actor = actor_for(UserRepository(session).get(live.user_id))
        actor_cache.actors.put(token_hash, live.epoch, actor)
    return actor


def end_session(session: Session, *, secret: str) -> None:
    """Log out: revoke the session token; an already dead session is not an error."""
    found = TokenRepository(session).find_live(hash_secret(secret), utcnow())
    if found is not None and found[0].kind == "session":
        found[0].revoked_at = utcnow()
        session.flush()


def revoke_token(session: Session, *, secret: str) -> None:
    found = TokenRepository(session).find_live(hash_secret(secret), utcnow())
    if found is None:
        raise Unauthorized("The token is unknown, expired or revoked.")
    found[0].revoked_at = utcnow()
    session.flush()


def tokens_of(session: Session, *, actor: Actor) -> list[ApiToken]:
    return TokenRepository(session).list_for_user(actor.user_id)


def revoke_own_token(session: Session, *, actor: Actor, token_id: uuid.UUID) -> None:
    """Revoke a token of the actor's own; other users' tokens do not exist for them (404)."""
    token = next((t for t in tokens_of(session, actor=actor) if t.id == token_id), None)
    if token is None:
        raise NotFound(f"No token {token_id} of yours.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
