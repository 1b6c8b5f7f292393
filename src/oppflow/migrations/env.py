"""Alembic environment: runs on the connection :func:`oppflow.migrate.upgrade` hands it."""

from alembic import context
from sqlalchemy import Connection

from oppflow.migrate import is_modelled, note_summary_to_fill
from oppflow.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=note_summary_to_fill,
        include_name=is_modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    from oppflow.db import get_engine

    with get_engine().connect() as new_connection:
        run_migrations(new_connection)
else:
    run_migrations(connection)
