"""``oppflow webhooks …`` (subscriptions, their deliveries, Resend) and ``oppflow worker``.

The operator at the command line manages subscriptions as an administrator does over the API,
through the same service and checks; a refused URL or an unknown id is one line and exit 1.
"""

from __future__ import annotations

import signal
import threading
import uuid
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from oppflow.console import JsonOut, fail, out, print_json, unit
from oppflow.db import session_factory
from oppflow.events import webhooks
from oppflow.events import worker as delivery_worker
from oppflow.events.webhook_schemas import WebhookCreate, WebhookRead, WebhookUpdate

webhooks_app = typer.Typer(help="Webhook subscriptions and their deliveries.", no_args_is_help=True)
Events = Annotated[
    list[str] | None,
    typer.Option("--event", help="An event type or kind (opportunity.*); repeat for more."),
]
Processes = Annotated[list[str] | None, typer.Option("--process", help="Only this process.")]
Phases = Annotated[list[str] | None, typer.Option("--phase", help="Only this pipeline phase.")]


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
    app.command("worker")(worker)


def _model(model: type[Any], **fields: Any) -> Any:
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        # A pattern's text says nothing to a reader: name the value refused instead.
        fail(escape(f"{where}: {first['input']!r} is not valid here"))


def _table(items: list[WebhookRead]) -> Table:
    table = Table(title="Webhook subscriptions")
    for column in ("id", "url", "events", "enabled", "failures in a row"):
        table.add_column(column)
    for item in items:
        enabled = "yes" if item.enabled else f"no: {item.disabled_reason or ''}"
        failures = str(item.consecutive_failures)
        table.add_row(str(item.id), item.url, ", ".join(item.events), enabled, failures)
    return table


@webhooks_app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="Where to POST the events (https).")],
    event: Events = None,
    process: Processes = None,
    phase: Phases = None,
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    json_out: JsonOut = False,
) -> None:
    """Subscribe URL to events; prints the signing secret, shown this once."""
    data = _model(
        WebhookCreate,
        url=url,
        events=event or ["opportunity.*", "lead.*"],
        process_keys=process,
        pipeline_phases=phase,
        description=description,
    )
    with unit() as session:
        created = webhooks.create(session, actor=None, data=data)
    if json_out:
        print_json(created)
        return
    out.print(f"Subscription {created.id} to {created.url}")
    out.print(f"Secret (shown once): {created.secret}", highlight=False)


@webhooks_app.command("list")
def list_command(json_out: JsonOut = False) -> None:
    """Every subscription (without secrets)."""
    with unit(read_only=True) as session:
        items = webhooks.list_all(session, actor=None)
    if json_out:
        print_json({"items": [item.model_dump(mode="json") for item in items]})
    else:
        out.print(_table(items))


@webhooks_app.command("update")
def update(
    subscription_id: uuid.UUID,
    url: Annotated[str | None, typer.Option(help="A new URL.")] = None,
    event: Events = None,
    process: Processes = None,
    phase: Phases = None,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Re-enable or disable it.")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Change a subscription (--enable re-enables one disabled after failures)."""
    data = _model(
        WebhookUpdate,
        url=url,
        events=event,
        process_keys=process,
        pipeline_phases=phase,
        enabled=enable,
    )
    with unit() as session:
        changed = webhooks.update(session, actor=None, subscription_id=subscription_id, data=data)
    if json_out:
        print_json(changed)
    else:
        out.print(_table([changed]))


@webhooks_app.command("delete")
def delete(subscription_id: uuid.UUID) -> None:
    """Remove a subscription with its deliveries."""
    with unit() as session:
        webhooks.delete(session, actor=None, subscription_id=subscription_id)
    out.print(f"Deleted {subscription_id}")


@webhooks_app.command("deliveries")
def deliveries(
    subscription_id: uuid.UUID,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    json_out: JsonOut = False,
) -> None:
    """The delivery log of a subscription, newest first."""
    with unit(read_only=True) as session:
        found = webhooks.deliveries(
            session, actor=None, subscription_id=subscription_id, limit=limit
        )
    if json_out:
        print_json({"items": [item.model_dump(mode="json") for item in found]})
        return
    table = Table(title="Deliveries")
    for column in ("id", "event", "type", "status", "attempts", "last answer"):
        table.add_column(column)
    for item in found:
        answer = str(item.last_status_code or item.last_error or "")
        row = (item.id, item.event_id, item.event_type, item.status, item.attempts, answer)
        table.add_row(*(str(cell) for cell in row))
    out.print(table)


@webhooks_app.command("resend")
def resend(subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """Deliver again (same event id) as soon as a worker is free."""
    with unit() as session:
        webhooks.resend(
            session, actor=None, subscription_id=subscription_id, delivery_id=delivery_id
        )
    out.print(f"Delivery {delivery_id} will be sent again.")


def worker(
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between polls when idle.")] = 1.0,
) -> None:
    """Deliver webhooks and run import jobs until interrupted (run several on PostgreSQL to
    share the work)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    out.print("oppflow worker: delivering webhooks, running imports (Ctrl-C to stop)")
    delivery_worker.run(session_factory(), stop, poll_seconds=poll)
