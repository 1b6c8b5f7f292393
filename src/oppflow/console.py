"""What every CLI command shares: the unit of work, the acting user, and output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from typer.core import TyperGroup

from oppflow import audit
from oppflow.db import driver_reason, is_busy, unit_of_work
from oppflow.errors import OppflowError
from oppflow.security import service as security_service
from oppflow.security.actor import Actor

out = Console()
err = Console(stderr=True)

AsUser = Annotated[str, typer.Option("--as", envvar="OPPFLOW_USER", help="Act as this user.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def unit(*, read_only: bool = False) -> Iterator[Session]:
    """One unit of work for a command; product errors end the command with one line.
    ``read_only``: a command that only reads, which on SQLite then neither takes nor waits
    for the write lock."""
    try:
        with unit_of_work(read_only=read_only) as session:
            audit.attribute(session, None, None, "cli")
            yield session
    except OppflowError as error:
        fail(error.detail)
    except (StaleDataError, IntegrityError) as error:
        detail = "a concurrent change won" if isinstance(error, StaleDataError) else str(error.orig)
        fail(f"conflict: {detail}; nothing was changed")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        fail(f"{where}: {message}" if where else message)


class CommandGroup(TyperGroup):
    """The ``oppflow`` command group: a database that stays locked past its wait (SQLite's
    busy timeout, PostgreSQL's lock timeout), that cannot be reached or opened, or that fails,
    ends any command with one line, not a traceback, whether or not the command went through
    :func:`unit`."""

    # ctx: typer's own (vendored) click Context, which typer does not export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OperationalError as error:
            if is_busy(error):
                fail(BUSY)
            fail(f"the database failed: {driver_reason(error)}")
        except DatabaseError as error:
            # Its own kind only (a file that is not a database): its subclasses are refusals
            # (unit() words them) or mistakes in the SQL, whose traceback is wanted.
            if type(error) is not DatabaseError:
                raise
            fail(f"the database failed: {driver_reason(error)}")


BUSY = "the database is locked by another connection; try again when it is free"


def fail(message: str) -> NoReturn:
    # soft_wrap: one line whatever the terminal width, so that scripts can read it.
    # escape: a message may quote what a user or a driver wrote, brackets included.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def as_actor(session: Session, username: str) -> Actor:
    """The user a command acts as; their changes are attributed to them in the audit log."""
    actor = security_service.actor_by_username(session, username)
    audit.attribute(session, actor.user_id, actor.business_unit_id, "cli")
    return actor


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        out.print_json(data.model_dump_json())
    else:
        out.print_json(json.dumps(data, default=str))
