"""The batch path of opportunity imports (``imports/bulk.py``), on SQLite and PostgreSQL: the
same file imported both ways leaves the same rows in every table, refuses the same rows with
the same words, is idempotent by external id and resumes after a kill."""

from __future__ import annotations

import gc
import json
import re
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import totals
from oppflow.db import unit_of_work
from oppflow.errors import OppflowError
from oppflow.imports import bulk, runs
from oppflow.imports.mapping import auto_mapping
from oppflow.imports.opportunities import may_backdate
from oppflow.imports.reading import read_rows
from oppflow.imports.service import ImportResult, import_rows
from oppflow.lookup import repository
from oppflow.models import Account, Contact, ImportRun, Opportunity, User
from oppflow.security.service import actor_by_username
from tests.analytics.closed import (
    assert_phase_moves_follow_the_log,
    assert_stage_stints_follow_the_log,
)
from tests.conftest import TABLES, with_builtin_data
from tests.imports.support import account, contact, user

Importer = Callable[..., ImportResult]
# Columns that differ by nature between two runs: ids, sequence numbers and instants.
VOLATILE = {
    "id", "seq", "created_at", "modified_at", "at", "occurred_at", "recorded_at",
    "effective_at", "active_stage_started_at", "last_used_at", "tx_id", "started_at",
    "updated_at", "finished_at", "last_login_at", "password_hash", "security_epoch",
    "born_at", "closed_at", "cycle_microseconds", "entered_us", "left_us", "at_us",
    "stage_entered_at", "from_us", "to_us",
}  # fmt: skip
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEADER = (
    "opportunityid,name,contact email,account name,owner,stepname,customerneed,"
    "proposedsolution,estimatedvalue,estimatedclosedate,closeprobability,statecode,actualvalue\n"
)
GOOD = "ng@contoso.example.org,Fabrikam"
FILE = HEADER + (
    f"O-1,At develop,{GOOD},,Develop,,,1000.50,2027-01-01,20,,\n"
    f"O-2,At propose,{GOOD},bob,Proposer,Fleet,Leasing,2000,2027-02-01,,,\n"
    f"O-3,Gate refused,{GOOD},,propose,Fleet,,10,,,,\n"
    "O-4,No contact,,Fabrikam,,Develop,,,,,,,\n"
    f"O-5,Unknown stage,{GOOD},,Negotiate,,,,,,,\n"
    ",No stage no id,,,,,,,5,,,,\n"
    f"O-6,Unknown owner,{GOOD},nobody,,,,,,,,\n"
    "O-7,Bad value,,,,,,,lots,,,,\n"
    f"O-1,Same id again,{GOOD},,,,,,,,,\n"
    f"O-8,Won,{GOOD},,,,,700,2026-01-01,,won,650\n"
    "O-9,Bad state,,,,,,,,,,maybe,\n"
    f"O-10,Last stage,{GOOD},,Close,Fleet,Leasing,1,,,,\n"
)


def _people(factory: sessionmaker[Session]) -> None:
    user(factory, "alice", "sales-manager")
    user(factory, "bob")
    account(factory, "alice", "Fabrikam")
    contact(factory, "alice", "Ng", "ng@contoso.example.org")


def _the_file(factory: sessionmaker[Session], tmp_path: Path) -> Path:
    """:data:`FILE` in ``tmp_path``, and the people and customers its rows name."""
    path = tmp_path / "opportunities.csv"
    path.write_text(FILE, encoding="utf-8")
    _people(factory)
    return path


def _run(
    factory: sessionmaker[Session], importer: Importer, path: Path, **options: Any
) -> ImportResult:
    headers, rows = read_rows(path)
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        mapping = auto_mapping("opportunities", headers, may_backdate=may_backdate(actor))
        return importer(session, actor, rows, mapping, **options)


def _rowwise(session: Session, actor: Any, rows: Any, mapping: Any, **options: Any) -> Any:
    return import_rows(session, actor, "opportunities", rows, mapping, **options)


def _labels(engine: Engine) -> dict[str, str]:
    """Each record's id -> a name that is the same in both databases."""
    named = {
        "users": "username", "business_units": "name", "accounts": "name", "contacts": "email",
        "opportunities": "name", "processes": "key", "roles": "key",
    }  # fmt: skip
    labels: dict[str, str] = {}
    with engine.connect() as connection:
        for table in TABLES:
            if table.name in named and "id" in table.c:
                for row in connection.execute(select(table.c.id, table.c[named[table.name]])):
                    labels[str(row[0])] = f"{table.name}:{row[1]}"
    return labels


def _snapshot(engine: Engine) -> dict[str, Counter[str]]:
    """Every table's rows, without volatile columns, ids replaced by labels (in JSON too)."""
    labels = _labels(engine)

    def named(match: re.Match[str]) -> str:
        return labels.get(match.group(0), "?")

    tables: dict[str, Counter[str]] = {}
    with engine.connect() as connection:
        for table in TABLES:
            rows = connection.execute(table.select()).mappings()
            kept = [{k: _plain(v) for k, v in row.items() if k not in VOLATILE} for row in rows]
            text = [UUID_TEXT.sub(named, json.dumps(r, sort_keys=True)) for r in kept]
            tables[table.name] = Counter(text)
    # What a reader of the totals sees: a total plus its unfolded deltas. How much of it is
    # folded depends on how many commits this process made before (one in 32 folds).
    for name in ("pipeline_totals", "forecast_totals"):
        del tables[name]
    tables["total_deltas"] = _net_deltas(engine, labels)
    return tables


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value if isinstance(value, str | int | float | bool | list | dict | None) else str(value)


def _net_deltas(engine: Engine, labels: dict[str, str]) -> Counter[str]:
    """The totals and their deltas summed per bucket: one delta per flush row by row, one per
    batch in bulk, folded or not, the same sums (zero sums dropped)."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    summaries = {"total_deltas": None, "pipeline_totals": "pipeline", "forecast_totals": "forecast"}
    with engine.connect() as connection:
        for table in (t for t in TABLES if t.name in summaries):
            for row in connection.execute(table.select()).mappings():
                summary = summaries[table.name] or row["summary"]
                key = UUID_TEXT.sub(lambda m: labels.get(m.group(0), "?"), row["bucket"])
                columns = ("open_count", "value_sum", "probable_sum", "unweighted_sum")
                for index, column in enumerate(columns):
                    sums[f"{summary}|{key}"][index] += Decimal(row[column])
    return Counter(
        f"{k}={[format(s.normalize(), 'f') for s in v]}" for k, v in sums.items() if any(v)
    )


def _instants_of_open_births(engine: Engine) -> set[int]:
    """How many distinct instants the change rows of each open opportunity hold."""
    query = text(
        "SELECT count(DISTINCT c.effective_at) FROM opportunity_changes c "
        "JOIN opportunities o ON o.id = c.opportunity_id WHERE o.state = 'open' "
        "GROUP BY c.opportunity_id"
    )
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def _empty(engine: Engine) -> sessionmaker[Session]:
    with engine.begin() as connection:
        for table in reversed(TABLES):
            connection.execute(table.delete())
    return with_builtin_data(engine)


def test_both_ways_write_the_same_rows(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _the_file(factory, tmp_path)
    one_by_one = _run(factory, _rowwise, path)
    expected = _snapshot(engine)
    # Created and placed at its stage at one instant, as the batch path writes it: no stay of
    # a few microseconds in each stage it was moved through (time in stage counted those).
    assert _instants_of_open_births(engine) == {1}
    factory = _empty(engine)
    _people(factory)
    monkeypatch.setattr(totals, "FOLD_ROWS", 1)  # folded at every commit: the sums still agree
    batched = _run(factory, bulk.import_opportunities, path, batch_size=5)
    found = _snapshot(engine)
    assert (batched.created, batched.existing, batched.refused) == (
        one_by_one.created,
        one_by_one.existing,
        one_by_one.refused,
    )
    assert sorted(map(repr, batched.problems)) == sorted(map(repr, one_by_one.problems))
    assert (batched.created, batched.existing, batched.refused) == (4, 1, 7)
    assert [name for name in expected if found[name] != expected[name]] == []
    assert assert_stage_stints_follow_the_log(factory) == 4
    assert assert_phase_moves_follow_the_log(factory) > 4


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector on, as a process has it, and given back as this test found it."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_a_batch_is_built_and_loaded_with_the_collector_paused(
    factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _the_file(factory, tmp_path)
    collecting: list[bool] = []
    load = bulk._load

    def watched(session: Session, rows: Any) -> None:
        collecting.append(gc.isenabled())
        load(session, rows)

    monkeypatch.setattr(bulk, "_load", watched)
    _run(factory, bulk.import_opportunities, path, batch_size=5)
    assert collecting
    assert not any(collecting)
    assert gc.isenabled()


def test_a_batch_writes_through_a_larger_page_cache_on_sqlite_then_gives_it_back(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    path = _the_file(factory, tmp_path)
    sizes, connections = _watch_the_page_cache(monkeypatch)
    before = _default_page_cache(engine)
    _run(factory, bulk.import_opportunities, path, batch_size=5)
    assert set(sizes) == {-bulk.BATCH_PAGE_CACHE_KB}
    assert {_page_cache(connection) for connection in connections} == {before}


@pytest.mark.usefixtures("collector_on")
def test_a_batch_that_fails_gives_back_the_collector_and_the_page_cache(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _the_file(factory, tmp_path)
    _sizes, connections = _watch_the_page_cache(monkeypatch, fail=True)
    with pytest.raises(RuntimeError, match="the disk is full"):
        _run(factory, bulk.import_opportunities, path, batch_size=5)
    assert gc.isenabled()
    if engine.dialect.name == "sqlite":
        assert {_page_cache(connection) for connection in connections} == {
            _default_page_cache(engine)
        }


def _watch_the_page_cache(
    monkeypatch: pytest.MonkeyPatch, *, fail: bool = False
) -> tuple[list[int], list[Any]]:
    """Each batch's page cache as it loads, and its driver connection (the batch then fails,
    with ``fail``)."""
    sizes: list[int] = []
    connections: list[Any] = []
    load = bulk._load

    def watched(session: Session, rows: Any) -> None:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connections.append(connection.connection.dbapi_connection)
            sizes.append(_page_cache(connections[-1]))
        if fail:
            raise RuntimeError("the disk is full")
        load(session, rows)

    monkeypatch.setattr(bulk, "_load", watched)
    return sizes, connections


def _page_cache(dbapi_connection: Any) -> int:
    return int(dbapi_connection.execute("PRAGMA cache_size").fetchone()[0])


def _default_page_cache(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_a_remembered_refusal_does_not_keep_the_frames_of_earlier_rows(
    factory: sessionmaker[Session],
) -> None:
    _people(factory)
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        run = bulk._BulkRun(session, actor, True, None, None)
        depths = []
        for _ in range(3):  # the same unknown owner: checked once, then remembered
            with pytest.raises(OppflowError) as refused:
                run._owned({"owner_id": uuid.UUID(int=7)})
            depths.append(len(traceback.extract_tb(refused.value.__traceback__)))
        session.rollback()
    assert depths[1] == depths[2] <= depths[0]


def test_refused_rows_are_reported_and_leave_nothing(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _the_file(factory, tmp_path)
    result = _run(factory, bulk.import_opportunities, path)
    why = {(p.row, p.column): p.why for p in result.problems}
    assert why[(3, "stage")] == "Develop needs Proposed Solution first"
    assert why[(4, "stage")] == "Qualify needs Identify Contact first"
    assert why[(7, "owner")].startswith("no active user")
    assert (8, "estimated_value") in why
    assert why[(11, "state")] == "open, won or lost (or statecode 0, 1, 2)"
    with factory() as session:
        names = set(session.scalars(select(Opportunity.name)))
    assert why[(12, "stage")] == "Propose needs Present Proposal first"
    assert names == {"At develop", "At propose", "No stage no id", "Won"}


def test_importing_twice_creates_nothing_new(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _the_file(factory, tmp_path)
    _run(factory, bulk.import_opportunities, path)
    again = _run(factory, bulk.import_opportunities, path)
    # Only the row without an external id is created again (as row by row).
    assert (again.created, again.existing) == (1, 4)


class Stopped(Exception):
    """Stands for the process dying mid-file."""


def test_resume_carries_on_from_the_last_committed_batch(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "many.csv"
    lines = [f"B-{n},Deal {n},Develop,Fabrikam,{GOOD.split(',')[0]}" for n in range(1, 26)]
    path.write_text(
        "opportunityid,name,stepname,account name,contact email\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    _people(factory)
    _resumable(factory, path, stop_at=17)
    with factory() as session:
        assert session.query(Opportunity).count() == 15  # three batches of five committed
    result = _resumable(factory, path, stop_at=None)
    with factory() as session:
        run = session.scalars(select(ImportRun)).one()
        assert session.query(Opportunity).count() == 25
    assert result is not None
    assert result.created == 10
    assert (run.rows_done, run.created, run.status) == (25, 25, "done")


def _resumable(
    factory: sessionmaker[Session], path: Path, stop_at: int | None
) -> ImportResult | None:
    """Import ``path`` in batches of five as the CLI does (``--resume``), dying at a row."""

    def stop(number: int) -> None:
        if number == stop_at:
            raise Stopped

    headers, rows = read_rows(path)
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        run = runs.begin(session, actor, "opportunities", path, resume=True)
        session.commit()
        try:
            result = bulk.import_opportunities(
                session,
                actor,
                rows,
                auto_mapping("opportunities", headers, may_backdate=may_backdate(actor)),
                on_row=stop,
                skip=run.rows_done,
                batch_size=5,
                on_batch=runs.checkpoint(run),
            )
        except Stopped:
            return None
        runs.finish(session, run)
        return result


@pytest.mark.parametrize("size", [1, 3])
def test_batch_size_does_not_change_the_outcome(
    factory: sessionmaker[Session], tmp_path: Path, size: int
) -> None:
    path = _the_file(factory, tmp_path)
    result = _run(factory, bulk.import_opportunities, path, batch_size=size)
    assert (result.created, result.existing, result.refused) == (4, 1, 7)


def _statements_of_import(
    factory: sessionmaker[Session], engine: Engine, path: Path, deals: int
) -> tuple[ImportResult, list[str]]:
    """A batch of ``deals`` rows, each naming an account and a contact of its own, plus a row
    naming an ambiguous account and one naming an unknown contact; and the statements that
    read accounts or contacts."""
    lines = [f"D-{n},Deal {n},Account {n},c{n}@example.org\n" for n in range(deals)]
    lines += ["D-twin,Twin deal,Twin,\n", "D-none,Nobody's deal,,nobody@example.org\n"]
    path.write_text("opportunityid,name,account name,contact email\n" + "".join(lines))
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = _run(factory, bulk.import_opportunities, path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, [s for s in seen if "FROM accounts" in s or "FROM contacts" in s]


def test_a_batch_looks_up_its_accounts_and_contacts_in_a_statement_per_field(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    """Looked up one name at a time, each distinct account and contact cost a statement, and
    their check as references another (four per row of a file of distinct customers)."""
    user(factory, "alice", "sales-manager")
    for number in range(40):
        account(factory, "alice", f"Account {number}")
        contact(factory, "alice", f"Contact {number}", f"c{number}@example.org")
    account(factory, "alice", "Twin")
    account(factory, "alice", "twin")
    few, few_statements = _statements_of_import(factory, engine, tmp_path / "few.csv", 5)
    _empty_opportunities(engine)
    many, many_statements = _statements_of_import(factory, engine, tmp_path / "many.csv", 40)
    assert (few.created, many.created) == (5, 40)
    assert len(few_statements) == len(many_statements) == 2  # one per lookup field
    for result in (few, many):
        assert [(p.column, p.value, p.why) for p in result.problems] == [
            ("account_name", "Twin", "more than one account with that name; give an external id"),
            (
                "contact_email",
                "nobody@example.org",
                "no contact with that e-mail that you can read",
            ),
        ]
    with unit_of_work(factory) as session:
        query = (
            select(Account.name, Contact.email)
            .join(Opportunity, Opportunity.account_id == Account.id)
            .join(Contact, Opportunity.contact_id == Contact.id)
            .where(Opportunity.name == "Deal 39")
        )
        assert session.execute(query).all() == [("Account 39", "c39@example.org")]


def _empty_opportunities(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(TABLES):
            if "opportunity_id" in table.c or table.name == "opportunities":
                connection.execute(table.delete())


def test_a_batch_finds_the_owners_the_row_by_row_path_finds(
    factory: sessionmaker[Session],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Owners by user name or by e-mail in any case, an inactive user refused, accounts
    looked up two names per statement: the same deals and refusals both ways."""
    monkeypatch.setattr(repository, "AMONG_CHUNK", 2)
    _people(factory)
    user(factory, "carol")
    with unit_of_work(factory) as session:
        session.execute(update(User).where(User.username == "carol").values(is_active=False))
    for name in ("Northwind", "Contoso", "Adatum"):
        account(factory, "alice", name)
    path = tmp_path / "owners.csv"
    path.write_text(
        "opportunityid,name,account name,owner\n"
        "W-1,By name,Northwind,bob\nW-2,By e-mail,Contoso,BOB@Example.COM\n"
        "W-3,Inactive,Adatum,carol\nW-4,Unknown,Fabrikam,nobody\nW-5,Own,fabrikam,\n"
    )
    found = []
    for importer in (_rowwise, bulk.import_opportunities):
        result = _run(factory, importer, path)
        with engine.connect() as connection:
            owners = connection.execute(
                select(Opportunity.external_id, User.username)
                .join(User, User.id == Opportunity.owner_id)
                .order_by(Opportunity.external_id)
            ).all()
        found.append((result.created, sorted(map(repr, result.problems)), owners))
        _empty_opportunities(engine)
    assert found[0] == found[1]
    created, problems, owners = found[1]
    assert (created, owners) == (3, [("W-1", "bob"), ("W-2", "bob"), ("W-5", "alice")])
    assert len(problems) == 2
    assert "carol" in problems[0] + problems[1]


def test_the_batch_path_counts_its_deltas_toward_a_fold(
    factory: sessionmaker[Session],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch loads its deltas around the flush hook, which would not count them."""
    monkeypatch.setattr(totals, "FOLD_ROWS", 1)
    monkeypatch.setattr(totals, "FOLD_BATCH", 1)  # a fold takes what is owed, no more
    owed = totals._Owed()
    owed.rows = 0
    monkeypatch.setattr(totals, "_owed", owed)
    path = tmp_path / "opportunities.csv"
    path.write_text(HEADER + "".join(f"N-{n},Deal {n},{GOOD},,,,,10,,,,\n" for n in range(3)))
    _people(factory)
    result = _run(factory, bulk.import_opportunities, path)
    assert (result.created, result.problems) == (3, [])
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM total_deltas")).scalar()
    assert left == 0  # the batch's own commit folded what it loaded
