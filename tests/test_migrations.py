"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text

from oppflow import migrate
from oppflow.models import Base


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_name": migrate.is_modelled}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_migration_goes_down_and_up_again_keeping_its_indexes(engine: Engine) -> None:
    indexes_before = set(index_names(engine))
    migrate.downgrade(engine, "base")
    assert "opportunities" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    # Expression indexes (lower(email), ...) are invisible to compare_metadata on SQLite, and a
    # batch rebuild of a table in a downgrade once dropped them silently.
    assert set(index_names(engine)) == indexes_before
    test_the_migrated_schema_is_the_models_schema(engine)


def index_names(engine: Engine) -> list[str]:
    names: list[str] = []
    inspector = inspect(engine)
    for table in inspector.get_table_names():
        names += [str(index["name"]) for index in inspector.get_indexes(table)]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            names += (
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%lower(%'"
                )
                .scalars()
                .all()
            )
    return names


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_indexes_on_large_tables_are_built_without_blocking_writers(engine: Engine) -> None:
    """Migrations 0014, 0015, 0019, 0020 and 0027 index the opportunities and the change log,
    which may hold millions of rows: CONCURRENTLY, each outside a transaction, so writers go
    on meanwhile."""
    migrate.downgrade(engine, "0013")
    statements = _upgrade_statements(engine)
    # Migrations 0016 to 0018 and 0021 index tables they have just created, in their
    # transaction; 0020 indexes phase_moves, which may be large by then.
    with_their_table = (
        " ix_closed_deals_",
        " ix_stage_stints_",
        " ix_phase_moves_period ",
        " ix_opportunity_spans_",
    )
    created = [
        s
        for s in statements
        if s.startswith("CREATE INDEX") and not any(name in s for name in with_their_table)
    ]
    assert len(created) == 12
    assert all(s.startswith("CREATE INDEX CONCURRENTLY") for s in created)
    board = "CREATE INDEX CONCURRENTLY ix_opportunities_state_phase_close_new ON opportunities"
    covered = "estimated_close_date, id, owning_business_unit_id, owner_id"
    assert f"{board} (state, pipeline_phase, {covered})" in created
    assert "DROP INDEX CONCURRENTLY IF EXISTS ix_opportunity_changes_field" in statements
    assert any(
        s.startswith("CREATE INDEX CONCURRENTLY ix_opportunities_open_stale ") for s in created
    )
    assert "DROP INDEX CONCURRENTLY IF EXISTS ix_opportunities_created_at_id" in statements
    assert any(s.startswith("CREATE INDEX CONCURRENTLY ix_phase_moves_entries ") for s in created)
    test_the_migrated_schema_is_the_models_schema(engine)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_concurrent_index_build_waits_for_a_writer_past_the_lock_timeout(engine: Engine) -> None:
    """A build waits for every writer of its table to finish; the connections' lock timeout
    (here 100 ms) must not fail it half-way, leaving an invalid index."""
    migrate.downgrade(engine, "0013")

    def short_timeout(dbapi_connection: Any, *_args: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
        dbapi_connection.commit()

    event.listen(engine, "checkout", short_timeout)
    writer = engine.connect()
    writer.execute(text("LOCK TABLE opportunities IN ROW EXCLUSIVE MODE"))
    ends = threading.Timer(1.0, writer.rollback)
    ends.start()
    try:
        migrate.upgrade(engine)
    finally:
        ends.join()
        writer.close()
        event.remove(engine, "checkout", short_timeout)
        engine.dispose()  # the pooled connections go back to the usual timeout
    test_the_migrated_schema_is_the_models_schema(engine)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_index_made_anew_is_built_beside_the_old_one(engine: Engine) -> None:
    """Migrations 0024 and 0026 remake the spans' partial indexes: each new one is built
    before the old one is dropped, so that the reports reading it always have one (0024 once
    dropped first, leaving none for the minutes a build takes at millions of spans)."""
    migrate.downgrade(engine, "0023")
    statements = _upgrade_statements(engine)
    steps = {name: _index_steps(statements, name) for name in ("open", "won")}
    assert steps == {
        "open": ["build beside", "drop", "rename"],  # 0024
        "won": ["build beside", "drop", "rename"] * 2,  # 0024, then 0026
    }
    test_the_migrated_schema_is_the_models_schema(engine)


def _index_steps(statements: list[str], state: str) -> list[str]:
    name = f"ix_opportunity_spans_{state}"
    steps = {
        f"CREATE INDEX CONCURRENTLY {name}_new": "build beside",
        f"CREATE INDEX CONCURRENTLY {name}": "build in place",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}": "drop",
        f"ALTER INDEX {name}_new RENAME TO {name}": "rename",
    }
    return [
        step
        for statement in statements
        for start, step in steps.items()
        if f"{statement} ".startswith(f"{start} ")
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_index_replacement_interrupted_after_its_drop_resumes_without_a_rebuild(
    engine: Engine,
) -> None:
    """Stopped between the old index's drop and the new one's rename, 0026 run again keeps
    the new index it built: built again, the spans would have no index meanwhile."""
    migrate.downgrade(engine, "0025")
    columns = "to_us, from_us, opportunity_id, actual_close_date, actual_value, estimated_value"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE INDEX ix_opportunity_spans_won_new ON opportunity_spans ({columns}, "
                "owner_id, process_key, state) WHERE state = 'won'"
            )
        )
        connection.execute(text("DROP INDEX ix_opportunity_spans_won"))
    statements = _upgrade_statements(engine)
    assert _index_steps(statements, "won") == ["drop", "rename"]
    test_the_migrated_schema_is_the_models_schema(engine)


def _upgrade_statements(engine: Engine) -> list[str]:
    """The statements ``migrate.upgrade`` runs, whitespace collapsed."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        migrate.upgrade(engine)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return statements
