"""Schema migrations with Alembic, run from the package so an installed oppflow can upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command, op
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database up to ``revision``; at the head, fill the
    summary tables the migrations just made (:func:`_fill_new_summaries`)."""
    config = alembic_config(engine)
    # Not engine.begin(): Alembic owns the transaction, so that a migration may end it to
    # build an index concurrently (create_index_online).
    with engine.connect() as connection, _one_migrator(connection):
        before = MigrationContext.configure(connection).get_current_revision()
        connection.commit()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if revision == "head":
            _fill_new_summaries(connection, before or "0000")


def _fill_new_summaries(connection: Connection, before: str) -> None:
    """Fill each summary table created empty by a migration run just now, from the change
    log, with the code of the head: a migration must not run code written for a later
    schema than its own. Revisions are numbered ``0001``, ``0002``…, so they sort."""
    from oppflow.analytics import closed_deals, phase_moves, spans, stage_stints  # not to migrate

    filled_by = {
        "0017": stage_stints.rebuild,
        "0018": phase_moves.rebuild,
        "0022": spans.rebuild,  # made by 0021, given three more fields by 0022
        "0023": closed_deals.rebuild,  # made by 0016, made again in time by 0023
    }
    with Session(bind=connection) as session:
        for created_by, fill in filled_by.items():
            if before < created_by:
                fill(session)
        session.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema of ``engine``'s database back down to ``revision``."""
    config = alembic_config(engine)
    with engine.connect() as connection, _one_migrator(connection):
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _one_migrator(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, one migrating process per schema at a time (several hosts start
    ``oppflow serve`` together): the others wait, then find the schema up to date. Held
    for the session, so it outlives the transactions a concurrent index build commits."""
    if connection.dialect.name != "postgresql":
        yield
        return
    key = text("SELECT hashtext('oppflow-migrate:' || current_schema())")
    lock = connection.execute(key).scalar_one()
    connection.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": lock})
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # a failed migration may have left its transaction open
        connection.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": lock})
        connection.commit()


def revision(engine: Engine, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a new migration from the difference between the models and ``engine``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


# Inside a migration --------------------------------------------------------------------------


def create_index_online(
    name: str, table: str, columns: list[str], where: str | None = None
) -> None:
    """A new index on a table that may be large and in use: on PostgreSQL built CONCURRENTLY,
    so that writers are not blocked for the minutes it takes at millions of rows (which ends
    the migrations' transaction first: the migrations before it are committed). A build that
    was interrupted leaves an invalid index of that name, dropped first. ``where``: a
    partial index's condition."""
    partial: dict[str, Any] = {}
    if where is not None:
        partial = {"sqlite_where": text(where), "postgresql_where": text(where)}
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, columns, **partial)
        return
    with op.get_context().autocommit_block(), _without_lock_timeout():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(name, table, columns, postgresql_concurrently=True, **partial)


def drop_index_online(name: str, table: str) -> None:
    """Drop an index without blocking the table's readers and writers on PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block(), _without_lock_timeout():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


@contextmanager
def _without_lock_timeout() -> Iterator[None]:
    """A concurrent index build or drop waits for every older transaction in the database,
    however long (a backup's pg_dump, a large report): the connections' lock timeout would
    fail it, leaving an invalid index. Restored after."""
    bind = op.get_bind()
    before = bind.execute(text("SHOW lock_timeout")).scalar_one()
    bind.execute(text("SET lock_timeout = 0"))
    try:
        yield
    finally:
        bind.execute(text("SELECT set_config('lock_timeout', :value, false)"), {"value": before})
