"""The FastAPI application: routers under ``/api/v1``, problem details for every error, and the
web pages (``oppflow.web``) beside them on the same services."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from oppflow import __version__
from oppflow.api import (
    analytics,
    audit,
    auth,
    catalog,
    events,
    exports,
    files,
    imports,
    leads,
    opportunities,
    organization,
    problems,
    processes,
    quote_documents,
    quotes,
    records,
    related,
    users,
    webhooks,
)
from oppflow.api.sharing import ownership_router
from oppflow.dataverse.app import mount as mount_dataverse
from oppflow.db import session_factory
from oppflow.kit import collector
from oppflow.web.mount import mount as mount_web_pages

DESCRIPTION = """Move sales opportunities through the stages of business process flows.

Every request under `/api/v1` except `POST /api/v1/auth/token` needs
`Authorization: Bearer <token>`. Errors are RFC 9457 problem details. Records carry a `version`,
sent as `ETag`; send it back in `If-Match` to refuse lost updates (412)."""


OWNED_TABLES = ("accounts", "contacts", "leads", "opportunities")
# Built once, like the other routers at their modules' import: FastAPI analyses each route's
# signature as it is declared, and these four took 9 in 10 of create_app's time when made there.
OWNERSHIP_ROUTERS = tuple(ownership_router(things) for things in OWNED_TABLES)


def create_app(factory: sessionmaker[Session] | None = None) -> FastAPI:
    """The application, on ``factory``'s database (the configured one by default)."""
    app = FastAPI(title="oppflow", version=__version__, description=DESCRIPTION)
    app.state.session_factory = factory or session_factory()
    problems.install(app)

    # First in the routing table: load balancers call it often, and it should cost nothing.
    @app.get("/healthz", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok"}

    # FastAPI tries the routers in this order, each route of each, until one matches: the
    # opportunities' first, the hot path, rather than after 34 routes of others. It moved
    # only past auth, users, accounts, contacts and competitors, whose paths cannot match an
    # opportunity's; a route added under /opportunities/{opportunity_id}/… elsewhere must not
    # be shadowed by one of opportunities.router's.
    for router in (
        opportunities.router,
        auth.router,
        users.router,
        records.accounts,
        records.contacts,
        records.competitors,
        related.router,
        files.router,
        imports.router,
        leads.router,
        processes.router,
        analytics.router,
        exports.router,
        organization.business_units,
        organization.teams,
        organization.role_router,
        audit.router,
        events.router,
        webhooks.router,
        catalog.router,
        quotes.router,
        quote_documents.router,
        *OWNERSHIP_ROUTERS,
    ):
        # Each router straight on the application: FastAPI resolves routes nested two
        # routers deep again on every request (14 % of a stage move, measured with py-spy).
        app.include_router(router, prefix="/api/v1")

    mount_dataverse(app)
    mount_web_pages(app)
    return app


def served_app() -> FastAPI:
    """The application as ``oppflow serve`` runs it in each worker process: the configured
    database's, with the garbage collector tuned for serving (decision 0050)."""
    app = create_app()
    collector.tuned_for_serving()
    return app
