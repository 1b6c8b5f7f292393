"""The security matrix's organisation, reused: one world per database and role per module."""

from tests.security.conftest import database, security_postgres, world

__all__ = ["database", "security_postgres", "world"]
