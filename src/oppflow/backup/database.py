"""The database half of an archive: SQLite's online backup API, or ``pg_dump``/``pg_restore``
in their custom format, each with the row counts of the very state it copied."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text

from oppflow.backup.manifest import row_counts

SQLITE_MEMBER = "database.sqlite"
POSTGRES_MEMBER = "database.pgdump"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in one line."""


def member_name(dialect: str) -> str:
    return SQLITE_MEMBER if dialect == "sqlite" else POSTGRES_MEMBER


# SQLite ----------------------------------------------------------------------------------------


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(database)


def dump_sqlite(engine: Engine, target: Path) -> dict[str, int]:
    """A consistent copy made while the server may go on writing; the copy's row counts."""
    with (
        closing(sqlite3.connect(sqlite_path(engine))) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
    copied = create_engine(f"sqlite:///{target}")
    try:
        with copied.connect() as connection:
            return row_counts(connection)
    finally:
        copied.dispose()


def sqlite_is_empty(engine: Engine) -> bool:
    path = sqlite_path(engine)
    if not path.exists() or path.stat().st_size == 0:
        return True
    return not inspect(engine).get_table_names()


def restore_sqlite(engine: Engine, dump: Path) -> None:
    """Put the copy in place of the (empty) database file, with no stale journal beside it."""
    engine.dispose()
    path = sqlite_path(engine)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(dump, path)


# PostgreSQL ------------------------------------------------------------------------------------


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The connection URL for pg_dump/pg_restore, and an environment carrying the password
    (never on a command line, where ``ps`` would show it)."""
    url = engine.url.set(drivername="postgresql")
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
        url = url.set(password=None)
    return url.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools).") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{command[0]}: {last}")
    return done.stdout


def postgres_schema(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        if schema is None:  # search_path names a schema that does not exist yet
            path = str(connection.scalar(text("SHOW search_path")))
            schema = path.split(",")[0].strip().strip('"')
    return str(schema)


def dump_postgres(engine: Engine, target: Path) -> tuple[str, dict[str, int]]:
    """``pg_dump`` of the current schema from a snapshot exported by a transaction that
    counts the rows of that same snapshot: the counts are the dump's, whatever runs beside."""
    url, env = _libpq(engine)
    with engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            counts = row_counts(connection)
            schema = str(connection.scalar(text("SELECT current_schema()")))
            command = ["pg_dump", "--format=custom", f"--snapshot={snapshot}"]
            command += [f"--schema={schema}", "--no-owner", f"--file={target}", f"--dbname={url}"]
            _run(command, env)
    return schema, counts


def postgres_is_empty(engine: Engine, schema: str) -> bool:
    with engine.connect() as connection:
        found = connection.scalar(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        )
    return not found


def restore_postgres(engine: Engine, dump: Path, schema: str) -> None:
    """``pg_restore`` into the target database; when its schema exists already (``public``
    always does), the dump's CREATE SCHEMA is left out of the restore list."""
    url, env = _libpq(engine)
    listing = _run(["pg_restore", "--list", str(dump)], env)
    exists = _schema_exists(engine, schema)
    kept = [line for line in listing.splitlines() if not (exists and " SCHEMA - " in line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as chosen:
        chosen.write("\n".join(kept) + "\n")
    try:
        command = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
        _run([*command, f"--use-list={chosen.name}", f"--dbname={url}", str(dump)], env)
    finally:
        Path(chosen.name).unlink(missing_ok=True)
    engine.dispose()


def _schema_exists(engine: Engine, schema: str) -> bool:
    with engine.connect() as connection:
        found = connection.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        )
    return bool(found)
