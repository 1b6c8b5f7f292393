"""Cookies, CSRF tokens and security headers of the web pages.

The session cookie holds the secret of an ``ApiToken`` of kind "session" (stored hashed, like
every token). The CSRF token of a form is derived from the session secret (or, before log-in,
from a random pre-session cookie), so it is per session, needs no storage, and cannot be
computed by another site, which can read neither cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "oppflow_session"
PRE_SESSION_COOKIE = "oppflow_pre"
CSRF_FIELD = "csrf"
# Pages the API serves with third-party scripts keep their own policy.
UNGUARDED_PATHS = ("/docs", "/redoc")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_seed(request: Request) -> str | None:
    """The secret the CSRF token derives from: the session, else the pre-session cookie."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)


def csrf_token(seed: str) -> str:
    return hmac.new(seed.encode(), b"oppflow-csrf-v1", hashlib.sha256).hexdigest()


def csrf_valid(request: Request, submitted: object) -> bool:
    seed = csrf_seed(request)
    if seed is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(csrf_token(seed), submitted)


def new_pre_session() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    """A cookie that scripts cannot read, sent on same-site navigation only, Secure on HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def delete_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request))


class SecurityHeaders:
    """Security headers on every answer; the strict Content-Security-Policy on all but the
    interactive API documentation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        guarded = not path.startswith(UNGUARDED_PATHS)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if guarded:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
