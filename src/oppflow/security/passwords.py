"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from oppflow.errors import ValidationFailed

_hasher = PasswordHasher()
MIN_LENGTH = 10


@cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so that a miss costs as long as a wrong
    password. Made on first use, not at import: a full argon2 hash is a tenth of a second
    that every command of the CLI would pay."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > 256:
        raise ValidationFailed("A password has at most 256 characters.")
    if password.isdigit() or password.isalpha():
        raise ValidationFailed("A password needs letters and at least one digit or symbol.")
