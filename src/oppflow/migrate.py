"""Schema migrations with Alembic, run from the package so an installed oppflow can upgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database up to ``revision``."""
    config = alembic_config(engine)
    # Not engine.begin(): Alembic owns the transaction, so that a migration may end it to
    # build an index concurrently (create_index_online).
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema of ``engine``'s database back down to ``revision``."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def revision(engine: Engine, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a new migration from the difference between the models and ``engine``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


# Inside a migration --------------------------------------------------------------------------


def create_index_online(name: str, table: str, columns: list[str]) -> None:
    """A new index on a table that may be large and in use: on PostgreSQL built CONCURRENTLY,
    so that writers are not blocked for the minutes it takes at millions of rows (which ends
    the migrations' transaction first: the migrations before it are committed). A build that
    was interrupted leaves an invalid index of that name, dropped first."""
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, columns)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(name, table, columns, postgresql_concurrently=True)


def drop_index_online(name: str, table: str) -> None:
    """Drop an index without blocking the table's readers and writers on PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
