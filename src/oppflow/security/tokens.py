"""Bearer token secrets: random, shown once, stored as their SHA-256.

SHA-256 (not argon2) is right here: the secrets carry 256 bits of entropy, so a fast hash
cannot be brute-forced, and every API request must check one quickly.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "opf_"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
