"""The routers of the web pages, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from oppflow.web.routes import (
    access,
    admin,
    auth,
    board,
    bulk,
    catalog,
    dashboard,
    imports,
    leads,
    lookup,
    opportunities,
    opportunity,
    profile,
    quotes,
    records,
    related,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    dashboard.router,
    bulk.router,
    opportunities.router,
    opportunity.router,
    board.router,
    related.router,
    quotes.router,
    catalog.router,
    leads.router,
    lookup.router,
    *records.ROUTERS,
    admin.router,
    webhooks.router,
    imports.router,
    access.router,
    profile.router,
]
