"""Imports at size (issue 12): ``oppflow import opportunities FILE --bulk`` of N opportunities
(default 1,000,000) on SQLite and PostgreSQL, beside a raw load of the same opportunity rows
alone into the same table (executemany on SQLite, COPY on PostgreSQL).

The CSV is generated once into ``--cache-dir``. Each database is fresh (SQLite file; on
PostgreSQL the schema ``oppflow_bench_imports``), migrated, with a bench administrator and
``--accounts`` accounts (default 200) with a contact each, which the rows name at random.
The import runs as a child process (the CLI), whose peak resident memory is its
``ru_maxrss``, read by ``peak.py``, which starts it: read here, it would count this process's
own memory too (until session 38 it did). The raw load then reads the imported opportunity
rows back a chunk at a time and inserts them again (new ids, no external id) through the
driver alone, timing the inserts only.

On SQLite, a second raw load writes **every row the import wrote**, in every table (process
instances, stage history, change log, summaries, audit, events, stakeholders, totals), as the
driver reads them back, into a copy of the database taken before the import, in batches of
the importer's size, each committed, timing the inserts and commits only: the floor of an
import that writes what this one writes, whatever Python does before.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DIR, commit_label, console, open_as_the_product, postgres_url
from oppflow import migrate
from oppflow.db import make_engine, unit_of_work
from oppflow.imports import bulk
from oppflow.install import ensure_builtin_data
from oppflow.models import Base
from oppflow.models.base import new_id
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, ContactCreate
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import UserCreate

SCHEMA = "oppflow_bench_imports"
USER = "bench-importer"
ACCOUNTS = 200
CHUNK = 50_000
HEADER = (
    "opportunityid", "name", "account name", "contact email", "stepname", "estimatedvalue",
    "estimatedclosedate", "closeprobability", "customerneed", "proposedsolution",
)  # fmt: skip
STAGES = ("Qualify", "Develop", "Propose")


def main() -> None:
    options = _options()
    path = _csv(options.cache_dir, options.rows, options.accounts)
    title = f"Import of {options.rows:,} opportunities over {options.accounts:,} accounts from CSV"
    table = Table(title=f"{title} ({commit_label()})")
    columns = ("database", "rows/s", "seconds", "peak MB", "raw rows/s", "raw ÷ import")
    for column in (*columns, "raw, every table, file rows/s"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as directory:
        urls = {"SQLite": f"sqlite:///{directory}/bench.db", "PostgreSQL": postgres_url(SCHEMA)}
        for name, url in urls.items():
            if url is not None and name in options.databases:
                table.add_row(name, *_measure(url, path, options.rows, options.accounts))
    console.print(table)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--cache-dir", type=Path, default=BENCH_DIR / ".cache")
    parser.add_argument("--databases", nargs="+", default=["SQLite", "PostgreSQL"])
    return parser.parse_args()


def _csv(cache: Path, rows: int, accounts: int) -> Path:
    """The file of ``rows`` opportunities over ``accounts`` accounts, made once: a third at
    each of three stages, with the steps their gates require filled."""
    cache.mkdir(parents=True, exist_ok=True)
    over = "" if accounts == ACCOUNTS else f"-over-{accounts}"
    path = cache / f"import-opportunities-{rows}{over}.csv"
    if path.exists():
        return path
    rng = random.Random(12)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for number in range(1, rows + 1):
            writer.writerow(_line(rng, number, accounts))
    partial.rename(path)
    return path


def _line(rng: random.Random, number: int, accounts: int) -> tuple[Any, ...]:
    customer = rng.randrange(accounts)
    month = 1 + number % 12
    return (
        f"BENCH-{number}", f"Deal {number}", f"Account {customer}",
        f"contact{customer}@example.com", STAGES[number % 3], rng.randrange(1_000, 500_000),
        f"2027-{month:02d}-15", rng.randrange(5, 95), "Fleet renewal", "Leasing",
    )  # fmt: skip


def _measure(url: str, path: Path, rows: int, accounts: int) -> tuple[str, ...]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    _prepare(sessionmaker(bind=engine, expire_on_commit=False), accounts)
    before = _copy_before(engine)
    seconds, peak_mb = _import(url, path)
    engine.dispose()
    # Before _raw, which adds rows of its own to the imported database.
    every_row = "–" if before is None else f"{rows / _raw_every_row(engine, before):,.0f}"
    raw_seconds = _raw(engine)
    engine.dispose()
    rate, raw_rate = rows / seconds, rows / raw_seconds
    return (
        f"{rate:,.0f}", f"{seconds:.1f}", f"{peak_mb:.0f}", f"{raw_rate:,.0f}",
        f"{raw_rate / rate:.1f}×", every_row,
    )  # fmt: skip


def _prepare(factory: sessionmaker[Session], accounts: int) -> None:
    with unit_of_work(factory) as session:
        ensure_builtin_data(session)
        root = BusinessUnitRepository(session).root().id
        data = UserCreate(
            username=USER,
            full_name="Bench Importer",
            password="bench-importer-password-1",
            business_unit_id=root,
            roles=["system-administrator"],
        )
        security_service.create_user(session, actor=None, data=data)
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, USER)
        for number in range(accounts):
            made = sales_service.create_account(
                session, actor=actor, data=AccountCreate(name=f"Account {number}")
            )
            contact = ContactCreate(
                last_name=f"Contact {number}",
                email=f"contact{number}@example.com",
                account_id=made.id,
            )
            sales_service.create_contact(session, actor=actor, data=contact)


def _import(url: str, path: Path) -> tuple[float, float]:
    """Seconds and peak resident MB of the CLI importing ``path`` (a child process, started
    through ``peak.py``: a child of this process would report this process's size)."""
    env = {**os.environ, "OPPFLOW_DATABASE_URL": url, "OPPFLOW_USER": USER}
    command = [sys.executable, "-m", "oppflow", "import", "opportunities", str(path), "--bulk"]
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as directory:
        peak = Path(directory) / "peak"
        started = time.perf_counter()
        # To a file, not a pipe: a full pipe would stop the child.
        status = subprocess.call(
            [sys.executable, str(BENCH_DIR / "peak.py"), str(peak), *command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read().decode()
        if status != 0:
            raise SystemExit(f"the import failed:\n{output}")
        peak_kb = int(peak.read_text())
    console.print(output.strip(), highlight=False)
    return seconds, peak_kb / 1024  # kilobytes on Linux


def _raw(engine: Engine) -> float:
    """Seconds to insert the imported opportunity rows again, driver alone."""
    spent = 0.0
    last = ""
    while True:
        with engine.begin() as connection:
            columns, rows = _chunk(connection, last)
            if not rows:
                return spent
            last = str(rows[-1][columns.index("external_id")])
            fresh = [_renamed(columns, row) for row in rows]
            started = time.perf_counter()
            _insert(connection, columns, fresh)
            spent += time.perf_counter() - started


def _copy_before(engine: Engine) -> Path | None:
    """A copy of the SQLite file as it is before the import (None on PostgreSQL)."""
    if engine.dialect.name != "sqlite" or engine.url.database is None:
        return None
    engine.dispose()
    source = Path(engine.url.database)
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = source.with_name("before-import.db")
    shutil.copyfile(source, copy)
    return copy


def _raw_every_row(engine: Engine, before: Path) -> float:
    """Seconds to write every row the import added to ``engine``'s database into ``before``
    (a copy from before it), table after table in foreign-key order, by executemany in
    batches of ``CHUNK`` rows (an import's batch of 2,000 opportunities writes some 48,000),
    each committed."""
    assert engine.url.database is not None
    source = sqlite3.connect(engine.url.database)
    target = open_as_the_product(str(before))
    # The page cache the importer gives its batches: the floor is the same database's.
    target.execute(f"PRAGMA cache_size=-{bulk.BATCH_PAGE_CACHE_KB}")
    spent = 0.0
    for table in Base.metadata.sorted_tables:
        rows = source.execute(f'SELECT * FROM "{table.name}" WHERE {_added(target, table.name)}')
        marks = ", ".join("?" for _ in rows.description)
        insert = f'INSERT INTO "{table.name}" VALUES ({marks})'
        while batch := rows.fetchmany(CHUNK):
            started = time.perf_counter()
            target.execute("BEGIN IMMEDIATE")
            target.executemany(insert, batch)
            target.execute("COMMIT")
            spent += time.perf_counter() - started
    source.close()
    target.close()
    before.unlink()
    return spent


def _added(target: sqlite3.Connection, table: str) -> str:
    """The condition on the imported database's rows of ``table`` that ``target`` lacks: past
    its last rowid, or, for a table without rowids, every row if it has none."""
    (ddl,) = target.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    if "WITHOUT ROWID" not in ddl.upper():
        (last,) = target.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()
        return f"rowid > {int(last)}"
    (count,) = target.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return "1" if count == 0 else "0"


def _chunk(connection: Any, last: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The next rows as the driver reads them (stored form on SQLite). Keyset on external_id:
    the rows inserted again have none, so they are never read back."""
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    query = (
        f"SELECT * FROM opportunities WHERE external_id > {mark} ORDER BY external_id LIMIT {CHUNK}"
    )
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(query, (last,))
    columns = [description[0] for description in cursor.description]
    return columns, [tuple(row) for row in cursor.fetchall()]


def _renamed(columns: list[str], row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row)
    fresh = new_id()  # as the importer makes them (decision 0048)
    values[columns.index("id")] = fresh.hex if isinstance(row[0], str) else fresh
    values[columns.index("external_id")] = None
    return tuple(values)


def _insert(connection: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{name}"' for name in columns)
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY opportunities ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    driver.executemany(f"INSERT INTO opportunities ({names}) VALUES ({marks})", rows)


if __name__ == "__main__":
    main()
