"""The ``oppflow`` command: serve, migrate, manage users, tokens and processes, script records.

Commands are thin: each opens one unit of work, calls a service, and prints. Any product error
becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table
from sqlalchemy.orm import Session

from oppflow.cli.admin import register as register_admin_commands
from oppflow.cli.backup import register as register_backup_commands
from oppflow.cli.catalog import register as register_catalog_commands
from oppflow.cli.exports import register as register_export_commands
from oppflow.cli.files import register as register_file_commands
from oppflow.cli.imports import register as register_import_commands
from oppflow.cli.leads import register as register_lead_commands
from oppflow.cli.quote_documents import register as register_quote_document_commands
from oppflow.cli.quotes import quote_app
from oppflow.cli.quotes import register as register_quote_commands
from oppflow.cli.reports import register as register_report_commands
from oppflow.cli.webhooks import register as register_webhook_commands
from oppflow.console import (
    AsUser,
    CommandGroup,
    JsonOut,
    as_actor,
    err,
    fail,
    out,
    print_json,
    unit,
)
from oppflow.db import get_engine, session_factory, start_wal_checkpoints
from oppflow.errors import ValidationFailed
from oppflow.install import prepare_database
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.repository import MAX_PAGE
from oppflow.sales import service as sales_service
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.schemas import LoseRequest, OpportunityFilters, OpportunityRead, WinRequest
from oppflow.security import service as security_service
from oppflow.security.actor import ROLE_KEYS
from oppflow.security.repository import BusinessUnitRepository, UserRepository
from oppflow.security.schemas import UserCreate

app = typer.Typer(
    help="oppflow: move sales opportunities through the phases of a pipeline.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=CommandGroup,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
process_app = typer.Typer(help="Business process flows.", no_args_is_help=True)
opportunity_app = typer.Typer(help="Opportunities, for scripts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(process_app, name="process")
app.add_typer(opportunity_app, name="opportunity")

T = TypeVar("T")


# What each worker process of ``oppflow serve`` builds (uvicorn imports it by name).
SERVED_APP = "oppflow.api.app:served_app"


# serve / demo / db
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Load demo data into an empty database.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Worker processes (default: the CPU count on PostgreSQL, 1 on SQLite)."
        ),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    migrate: Annotated[
        bool, typer.Option(help="Upgrade the database first (off: it was done once, elsewhere).")
    ] = True,
) -> None:
    """Upgrade the database, then serve the API and the pages (with --demo, fill an empty
    database and print log-ins)."""
    import uvicorn

    engine = get_engine()
    if migrate or demo:
        prepare_database(engine)
    if demo:
        _load_demo_if_empty(port=port)
    count = workers or default_workers(engine.dialect.name)
    if engine.dialect.name == "sqlite":
        # SQLite serves from one process: its webhooks go out from a thread beside it.
        from oppflow.events.worker import start_thread

        start_thread(session_factory())
        start_wal_checkpoints(engine)
    out.print(f"oppflow on [bold]http://{host}:{port}[/bold]  (API docs: /docs; {count} worker(s))")
    uvicorn.run(
        SERVED_APP,
        factory=True,
        host=host,
        port=port,
        workers=count,
        access_log=access_log,
        log_level="info",
    )


def default_workers(dialect: str) -> int:
    """One per CPU on PostgreSQL; one on SQLite, which takes one writer at a time anyway."""
    return 1 if dialect == "sqlite" else max(os.cpu_count() or 1, 1)


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    opportunities: Annotated[
        int | None,
        typer.Option(min=1, help="Generate this many opportunities in bulk (for size tests)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="With --opportunities: the database to fill.")
    ] = None,
) -> None:
    """Fill an empty database with the demo data set and print the log-ins."""
    if opportunities is not None:
        from oppflow.cli import bulk_demo

        bulk_demo.run(opportunities, seed, database_url)
        return
    if database_url:
        fail("--database-url goes with --opportunities (or set OPPFLOW_DATABASE_URL).")
    prepare_database(get_engine())
    _load_demo_if_empty(seed)


def _load_demo_if_empty(seed: int = 7, port: int = 8000) -> None:
    from rich.progress import Progress

    from oppflow import demo

    with unit() as session:
        if not demo.is_empty(session):
            out.print("The database already has users; demo data not loaded again.")
            credentials = demo.DemoCredentials(users=demo.DEMO_USERS)
        else:
            with Progress(console=out, transient=True) as progress:
                task = progress.add_task("Demo data", total=None)

                def report(label: str, done: int, total: int) -> None:
                    progress.update(task, description=label, completed=done, total=total)

                credentials = demo.load_demo(session, seed=seed, progress=report)
    _print_demo_credentials(credentials, port)


def _print_demo_credentials(credentials: Any, port: int) -> None:
    table = Table(title="Demo log-ins")
    for column in ("user", "password", "roles"):
        table.add_column(column)
    for user in credentials.users:
        table.add_row(user.username, user.password, ", ".join(user.roles))
    out.print(table)
    first = credentials.users[0].username
    with unit() as session:
        secret, _ = security_service.create_api_token(session, username=first, name="demo")
    out.print(f"API token for {first}: [bold]{secret}[/bold]", soft_wrap=True)
    url = f"http://127.0.0.1:{port}/api/v1/opportunities"
    # soft_wrap keeps the command on one line, so it can be copied into a shell.
    out.print(f'  curl -H "Authorization: Bearer {secret}" {url}', soft_wrap=True, highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the schema to the latest revision and install the built-in processes."""
    engine = get_engine()
    prepare_database(engine)
    out.print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")


@db_app.command("rebuild-summaries")
def db_rebuild_summaries() -> None:
    """Rewrite every summary table the reports read from the records and the change log, in
    one transaction. Stop the servers first: their writes wait for it, then fail."""
    from rich.progress import Progress

    from oppflow import migrate
    from oppflow.analytics.summaries import REBUILDS

    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("Summaries", total=len(REBUILDS))

        def rebuilding(name: str) -> None:
            progress.update(task, description=name, completed=list(REBUILDS).index(name))

        rebuilt = migrate.rebuild_summaries(get_engine(), rebuilding)
    out.print(f"Rebuilt {', '.join(rebuilt)}.")


# users and tokens
@user_app.command("create")
def user_create(
    username: str,
    full_name: Annotated[str | None, typer.Option(help="Defaults to the user name.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option(help=f"One of {', '.join(ROLE_KEYS)}.")] = None,
    business_unit: Annotated[str | None, typer.Option(help="Business unit name.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin), never an argument."""
    password = _read_password(password_stdin)
    with unit() as session:
        unit_id = _business_unit_id(session, business_unit)
        data = UserCreate.model_validate(
            {
                "username": username,
                "full_name": full_name or username,
                "email": email,
                "password": password,
                "roles": role or ["salesperson"],
                "business_unit_id": unit_id,
            }
        )
        user = security_service.create_user(session, actor=None, data=data)
        out.print(f"Created user {user.username} ({', '.join(user.role_keys)}) {user.id}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _business_unit_id(session: Session, name: str | None) -> str | None:
    if name is None:
        return None
    unit_found = BusinessUnitRepository(session).find_by_name(name)
    if unit_found is None:
        raise ValidationFailed(f"No business unit named {name!r}.")
    return str(unit_found.id)


@user_app.command("list")
def user_list() -> None:
    """Every user with roles and status."""
    with unit(read_only=True) as session:
        table = Table("user", "name", "roles", "active")
        for user in UserRepository(session).list():
            table.add_row(
                user.username,
                user.full_name,
                ", ".join(user.role_keys),
                "yes" if user.is_active else "no",
            )
        out.print(table)


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Lifetime in days.")] = None,
) -> None:
    """Issue a long-lived API token; it is printed once and stored only as a hash."""
    with unit() as session:
        secret, token = security_service.create_api_token(
            session, username=username, name=name, days=days
        )
    out.print(secret, highlight=False)
    err.print(f"expires {token.expires_at:%Y-%m-%d}; store it now, it cannot be shown again.")


@token_app.command("revoke")
def token_revoke() -> None:
    """Revoke a token read from stdin (so it never shows in the shell history)."""
    secret = sys.stdin.readline().strip()
    with unit() as session:
        security_service.revoke_token(session, secret=secret)
    out.print("Token revoked.")


# processes
@process_app.command("list")
def process_list(as_json: JsonOut = False) -> None:
    """The processes in display order (the first active one per table is the default)."""
    with unit(read_only=True) as session:
        summaries = [catalog.summary(session, p) for p in catalog.list_processes(session)]
    if as_json:
        print_json([s.model_dump() for s in summaries])
        return
    table = Table("key", "name", "table", "version", "active", "stages")
    for s in summaries:
        table.add_row(
            s.key,
            s.name,
            s.table,
            str(s.version),
            "yes" if s.is_active else "no",
            " → ".join(s.stages),
        )
    out.print(table)


@process_app.command("show")
def process_show(key: str, language: Annotated[str, typer.Option()] = "en") -> None:
    """A process's stages and steps (required ones starred)."""
    with unit(read_only=True) as session:
        process = catalog.get(session, key)
        detail = catalog.detail(session, process, language)
        definition = catalog.current_definition(session, process)
    out.print(f"[bold]{detail.name}[/bold] ({detail.key} v{detail.version}, {detail.table})")
    for stage in definition.stages:
        out.print(f"  [bold]{stage.name.get(language)}[/bold] ({stage.key}, {stage.category})")
        for step in stage.steps:
            star = "*" if step.required else " "
            out.print(f"    {star} {step.label.get(language)} [dim]{step.field}[/dim]")


@process_app.command("validate")
def process_validate(path: Path) -> None:
    """Check a YAML definition without importing it."""
    with unit(read_only=True):
        definition = catalog.validate_yaml(_read_text(path))
    out.print(f"{path}: valid ({definition.key}, {len(definition.stages)} stages)")


@process_app.command("import")
def process_import(path: Path) -> None:
    """Import a YAML definition: a new process, or a new version of an existing key."""
    with unit() as session:
        process = catalog.import_yaml(session, actor=None, text=_read_text(path))
        out.print(f"Imported {process.key} version {process.current_version}")


@process_app.command("export")
def process_export(key: str) -> None:
    """Print the current version's YAML."""
    with unit(read_only=True) as session:
        text = catalog.export_yaml(session, key)
    out.out(text, end="", highlight=False)


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as error:
        raise ValidationFailed(f"Cannot read {path}: {error.strerror}.") from None


# opportunities
@opportunity_app.command("list")
def opportunity_list(
    user: AsUser,
    state: Annotated[str | None, typer.Option()] = None,
    phase: Annotated[str | None, typer.Option(help="Pipeline phase, e.g. 2-Develop.")] = None,
    process: Annotated[str | None, typer.Option(help="Process key.")] = None,
    search: Annotated[str | None, typer.Option("--q", help="Text in the name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 50,
    as_json: JsonOut = False,
) -> None:
    """Opportunities the user can read."""
    with unit(read_only=True) as session:
        filters = OpportunityFilters.model_validate(
            {"state": state, "pipeline_phase": phase, "process_key": process, "q": search}
        )
        repository = OpportunityRepository(session, as_actor(session, user))
        rows, _ = repository.page(repository.conditions(filters), limit=limit, cursor=None)
        items = [OpportunityRead.model_validate(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table("id", "name", "phase", "state", "value", "close date")
    for item in items:
        table.add_row(
            str(item.id),
            item.name,
            item.pipeline_phase or "",
            item.state,
            _money(item.estimated_value),
            str(item.estimated_close_date or ""),
        )
    out.print(table)


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


@opportunity_app.command("show")
def opportunity_show(opportunity_id: uuid.UUID, user: AsUser) -> None:
    """One opportunity and its current process instance, as JSON."""
    with unit(read_only=True) as session:
        actor = as_actor(session, user)
        record = OpportunityRepository(session, actor).get(opportunity_id)
        view = process_service.view(session, actor=actor, opportunity_id=opportunity_id)
        print_json(
            {
                "opportunity": OpportunityRead.model_validate(record).model_dump(mode="json"),
                "process": view.model_dump(mode="json"),
            }
        )


def _moves(kind: str, doc: str) -> None:
    def command(opportunity_id: uuid.UUID, user: AsUser) -> None:
        with unit() as session:
            view = process_service.move(
                session, actor=as_actor(session, user), opportunity_id=opportunity_id, kind=kind
            )
        _print_stage(view)

    command.__doc__ = doc
    opportunity_app.command(kind.replace("_", "-"))(command)


def _print_stage(view: Any) -> None:
    out.print(
        f"{view.process.key}: [bold]{view.active_stage.name}[/bold] "
        f"({view.status}; path {' → '.join(view.traversed_path)})"
    )


_moves("next", "Move to the next stage (refused, naming the missing steps, when incomplete).")
_moves("previous", "Move back to the previous stage.")
_moves("finish", "Finish the process on its last stage.")
_moves("abandon", "Abandon the current process.")
_moves("reactivate", "Reactivate a finished or abandoned process.")


@opportunity_app.command("set-active")
def opportunity_set_active(opportunity_id: uuid.UUID, stage: str, user: AsUser) -> None:
    """Make an earlier stage of the traversed path active."""
    with unit() as session:
        view = process_service.move(
            session,
            actor=as_actor(session, user),
            opportunity_id=opportunity_id,
            kind="set_active",
            stage=stage,
        )
    _print_stage(view)


@opportunity_app.command("switch")
def opportunity_switch(opportunity_id: uuid.UUID, process: str, user: AsUser) -> None:
    """Make another process current."""
    with unit() as session:
        view = process_service.switch(
            session,
            actor=as_actor(session, user),
            opportunity_id=opportunity_id,
            process_key=process,
        )
    _print_stage(view)


@opportunity_app.command("win")
def opportunity_win(
    opportunity_id: uuid.UUID,
    user: AsUser,
    revenue: Annotated[
        Decimal | None, typer.Option(help="Defaults to the estimated value.")
    ] = None,
    close_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD; defaults to today.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Close as won."""
    _close(
        opportunity_id,
        user,
        sales_service.win,
        WinRequest,
        {"actual_revenue": revenue, "close_date": close_date, "description": description},
    )


@opportunity_app.command("lose")
def opportunity_lose(
    opportunity_id: uuid.UUID,
    user: AsUser,
    reason: Annotated[str, typer.Option(help="canceled or out_sold.")] = "canceled",
    competitor: Annotated[uuid.UUID | None, typer.Option(help="Competitor id.")] = None,
    close_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD; defaults to today.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Close as lost."""
    _close(
        opportunity_id,
        user,
        sales_service.lose,
        LoseRequest,
        {
            "status_reason": reason,
            "competitor_id": competitor,
            "close_date": close_date,
            "description": description,
        },
    )


def _close(
    opportunity_id: uuid.UUID,
    user: str,
    action: Callable[..., Any],
    schema: type[BaseModel],
    values: dict[str, Any],
) -> None:
    with unit() as session:
        data = schema.model_validate({k: v for k, v in values.items() if v is not None})
        record = action(
            session, actor=as_actor(session, user), opportunity_id=opportunity_id, data=data
        )
        out.print(f"{record.name}: {record.state} ({record.status_reason})")


@opportunity_app.command("reopen")
def opportunity_reopen(opportunity_id: uuid.UUID, user: AsUser) -> None:
    """Reopen a won or lost opportunity."""
    with unit() as session:
        record = sales_service.reopen(
            session, actor=as_actor(session, user), opportunity_id=opportunity_id
        )
        out.print(f"{record.name}: {record.state}")


@opportunity_app.command("history")
def opportunity_history(opportunity_id: uuid.UUID, user: AsUser, as_json: JsonOut = False) -> None:
    """Every stage change, oldest first."""
    with unit(read_only=True) as session:
        rows = process_service.history(
            session, actor=as_actor(session, user), opportunity_id=opportunity_id
        )
        items = [
            (r.at, r.process_key, r.kind, r.from_stage, r.to_stage, r.pipeline_phase) for r in rows
        ]
    if as_json:
        print_json(
            [
                dict(
                    zip(
                        ("at", "process_key", "kind", "from_stage", "to_stage", "pipeline_phase"),
                        item,
                        strict=True,
                    )
                )
                for item in items
            ]
        )
        return
    table = Table("at", "process", "kind", "from", "to", "phase")
    for at, *rest in items:
        table.add_row(f"{at:%Y-%m-%d %H:%M}", *[str(v or "") for v in rest])
    out.print(table)


register_admin_commands(app, user_app)
register_lead_commands(app)
register_report_commands(app)
register_webhook_commands(app)
register_backup_commands(app)
register_file_commands(app)
register_catalog_commands(app)
register_quote_commands(app)
register_import_commands(app)
register_export_commands(app)
register_quote_document_commands(quote_app)
