"""Absolute URLs as the client sees them, behind a TLS-terminating proxy or not."""

from __future__ import annotations

import re

from fastapi import Request

PREFIX = "/api/data/v9.2"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
_FORWARDED_PROTO = re.compile(r"(?:^|[;,\s])proto=\"?(https?)\"?", re.IGNORECASE)


def scheme_of(request: Request) -> str:
    """``https`` when a proxy says so (``Forwarded: proto=`` first, then ``X-Forwarded-Proto``)."""
    forwarded = _FORWARDED_PROTO.search(request.headers.get("forwarded", ""))
    if forwarded:
        return forwarded.group(1).lower()
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto if proto in ("http", "https") else request.url.scheme


def base_url(request: Request) -> str:
    """``scheme://host/api/data/v9.2/`` from the request's ``Host`` (a malformed one is not
    echoed back: the server's own address stands in for it)."""
    host = request.headers.get("host", "")
    if not _HOST.match(host):
        host = request.url.netloc
    return f"{scheme_of(request)}://{host}{PREFIX}/"
