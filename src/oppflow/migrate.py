"""Schema migrations with Alembic, run from the package so an installed oppflow can upgrade."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command, op
from alembic.config import Config
from alembic.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# The migrations that leave a summary table empty, for the head's code to fill, and where
# each such summary is noted until it is (:func:`note_summary_to_fill`). Like Alembic's own
# version table, the notes are the migrator's bookkeeping, not one of the models' tables.
EMPTIED_BY = {
    "0017": "stage_stints",
    "0018": "phase_moves",
    "0022": "spans",  # made by 0021, given three more fields by 0022
    "0023": "closed_deals",  # made by 0016, made again in time by 0023
}
SUMMARIES_TO_FILL = "oppflow_summaries_to_fill"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database up to ``revision``; at the head, fill the
    summary tables the migrations left empty (:func:`_fill_summaries_left_empty`), this
    run or an earlier one that stopped before filling them."""
    config = alembic_config(engine)
    # Not engine.begin(): Alembic owns the transaction, so that a migration may end it to
    # build an index concurrently (create_index_online).
    with engine.connect() as connection, _one_migrator(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if revision == "head":
            _fill_summaries_left_empty(connection)


def note_summary_to_fill(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Alembic's hook after each migration, in that migration's transaction: the summary it
    left empty is noted, so that a run stopped before the head fills it (a crash, or a
    concurrent index build failing in a later migration) leaves it noted, not empty unseen."""
    del heads, run_args
    applied = step.is_upgrade and not step.is_stamp  # a stamp runs no migration
    summary = EMPTIED_BY.get(step.up_revision_id or "") if applied else None
    if summary is None or ctx.connection is None:
        return
    ctx.connection.execute(
        text(f"CREATE TABLE IF NOT EXISTS {SUMMARIES_TO_FILL} (summary VARCHAR(40) PRIMARY KEY)")
    )
    noted = {"summary": summary}
    ctx.connection.execute(text(f"DELETE FROM {SUMMARIES_TO_FILL} WHERE summary = :summary"), noted)
    ctx.connection.execute(text(f"INSERT INTO {SUMMARIES_TO_FILL} VALUES (:summary)"), noted)


def is_modelled(name: str | None, kind: str, _parents: Any) -> bool:
    """Whether autogenerate compares this object with the models: not the notes."""
    return kind != "table" or name != SUMMARIES_TO_FILL


def _fill_summaries_left_empty(connection: Connection) -> None:
    """Fill each noted summary, with the code of the head (a migration must not run code
    written for a later schema than its own), and forget the notes in the same
    transaction. Nothing is written when nothing is noted."""
    if not inspect(connection).has_table(SUMMARIES_TO_FILL):
        return
    noted = set(connection.scalars(text(f"SELECT summary FROM {SUMMARIES_TO_FILL}")))
    connection.commit()  # the read's: the session's own transaction is the one to commit
    if noted:
        _rebuild(connection, noted)


def rebuild_summaries(engine: Engine, progress: Callable[[str], None] | None = None) -> list[str]:
    """Rewrite every summary table the reports read, in one transaction, one migrating or
    rebuilding process at a time (an upgrade's notes are forgotten: all is filled); the
    summaries' names, in the order rebuilt. ``progress`` hears each name before its
    rebuild."""
    from oppflow.analytics.summaries import REBUILDS  # code of the head, not to migrate

    with engine.connect() as connection, _one_migrator(connection):
        return _rebuild(connection, set(REBUILDS), progress)


def _rebuild(
    connection: Connection, names: Collection[str], progress: Callable[[str], None] | None = None
) -> list[str]:
    from oppflow.analytics.summaries import REBUILDS

    chosen = [name for name in REBUILDS if name in names]
    noted = inspect(connection).has_table(SUMMARIES_TO_FILL)
    connection.commit()
    with Session(bind=connection) as session:
        for name in chosen:
            if progress is not None:
                progress(name)
            REBUILDS[name](session)
        if noted:
            session.execute(text(f"DELETE FROM {SUMMARIES_TO_FILL}"))
        session.commit()
    return chosen


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


def replace_index_online(
    name: str, table: str, columns: list[str], where: str | None = None
) -> None:
    """Index ``name`` made anew on ``columns``. On PostgreSQL the new one is built beside the
    old one, which is then dropped and its name taken, all without blocking the table: the
    queries that read the index always have one (a drop then a build left none for the
    minutes the build takes at millions of rows). SQLite, which renames no index, drops and
    builds it in the migration's transaction."""
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index(name, table_name=table)
        create_index_online(name, table, columns, where=where)
        return
    building = f"{name}_new"
    # Run again after an interruption, a new index already built is kept: rebuilt, it would
    # leave the table with none if the old one is gone already.
    if not _is_valid_index(building):
        create_index_online(building, table, columns, where=where)
    with op.get_context().autocommit_block(), _without_lock_timeout():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.execute(f"ALTER INDEX {building} RENAME TO {name}")


def _is_valid_index(name: str) -> bool:
    """Whether index ``name`` (in the search path) exists and its build completed."""
    query = text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)")
    return bool(op.get_bind().execute(query, {"name": name}).scalar())


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
