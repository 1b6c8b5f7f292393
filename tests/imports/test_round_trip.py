"""The round trip of issue 12, on SQLite and PostgreSQL: accounts, contacts and opportunities
(open at several stages, won, lost) imported from files, exported by the export service,
imported from those exports into a fresh database, give the same records field by field:
names, values, stages and their history, states, owners and the lookups between them.

The rule of decision 0021: an exported ``id`` becomes the record's external id in the new
database, so the exported ``account_id`` and ``contact_id`` find it again, and importing the
same exports twice creates nothing new.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import make_engine, unit_of_work
from oppflow.exports import service as exports
from oppflow.models import Account, Contact, Opportunity, StageHistory, User
from oppflow.security import service as security_service
from tests.conftest import _empty_postgres, with_builtin_data
from tests.imports.support import run_import, user

TABLES = ("accounts", "contacts", "opportunities")
SOURCE = {
    "accounts": (
        "accountid,name,city,websiteurl,owner\n"
        "ACC-1,Fabrikam,Lyon,https://fabrikam.example,alice\n"
        "ACC-2,Contoso,Paris,,bob\n"
        "ACC-3,Northwind,,,alice\n"
    ),
    "contacts": (
        "contactid,lastname,firstname,emailaddress1,jobtitle,accountid,owner\n"
        "C-1,Ng,Mai,ng@fabrikam.example,Buyer,ACC-1,alice\n"
        "C-2,Oz,,oz@contoso.example,,ACC-2,bob\n"
        "C-3,Pi,,,,,alice\n"
    ),
    "opportunities": (
        "opportunityid,name,estimatedvalue,estimatedclosedate,closeprobability,accountid,"
        "contact email,owner,stepname,customerneed,proposedsolution,statecode,statuscode,"
        "actualvalue,actualclosedate\n"
        "O-1,Fleet renewal,12000.50,2027-03-31,20,ACC-1,ng@fabrikam.example,alice,,,,,,,\n"
        "O-2,Leasing,48000,2027-06-30,40,ACC-1,ng@fabrikam.example,alice,2-Develop,Fleet,,,,,\n"
        "O-3,Servers,9000,,,ACC-2,oz@contoso.example,bob,Propose,Servers,Rack,,,,\n"
        "O-4,Won deal,1000,,,ACC-2,oz@contoso.example,bob,Propose,Need,Answer,won,,900,"
        "2026-03-01\n"
        "O-5,Lost deal,500,,,ACC-1,,alice,,,,lost,out_sold,,2026-02-01\n"
    ),
}


def test_import_export_import_into_a_fresh_database_gives_the_same_records(
    factory: sessionmaker[Session], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _users(factory)
    for table in TABLES:
        result = run_import(factory, "root", table, tmp_path / f"{table}.csv", SOURCE[table])
        assert (result.created, result.problems) == (3 if table != "opportunities" else 5, [])
    before = snapshot(factory)
    exported = {table: export(factory, table) for table in TABLES}
    ids = {name: record_id for name, (record_id, _fields) in before["opportunities"].items()}

    with fresh_database(factory, request, tmp_path / "fresh") as fresh:
        _users(fresh)
        for table in TABLES:
            result = run_import(
                fresh, "root", table, tmp_path / f"{table}-export.csv", exported[table]
            )
            assert (result.created, result.problems) == (len(before[table]), []), table
        after = snapshot(fresh)
        assert _fields(after) == _fields(before)
        # Each record's external id is its id in the database it was exported from.
        for name, (_record_id, fields) in after["opportunities"].items():
            assert fields["external_id"] == ids[name]
        # Importing the exports again creates nothing: they are known by their external ids.
        for table in TABLES:
            again = run_import(
                fresh, "root", table, tmp_path / f"{table}-again.csv", exported[table]
            )
            assert (again.created, again.existing) == (0, len(before[table])), table


def _users(factory: sessionmaker[Session]) -> None:
    user(factory, "root", role="system-administrator")
    user(factory, "alice")
    user(factory, "bob")


def export(factory: sessionmaker[Session], table: str, username: str = "root") -> str:
    """The table's CSV export, as ``username`` reads it, through the export service."""
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
    plan = exports.plan(actor, exports.ExportRequest(table=table))
    return "".join(exports.stream(plan, lambda: unit_of_work(factory, read_only=True)))


class fresh_database:  # noqa: N801 - used as a context manager, read as a phrase
    """A second database of the same kind, migrated and with the built-in data only: a new
    copy of the SQLite template, or the test's PostgreSQL schema emptied (the first one's
    records were read before)."""

    def __init__(
        self, first: sessionmaker[Session], request: pytest.FixtureRequest, directory: Path
    ) -> None:
        self.engine: Engine = first.kw["bind"]
        self.request, self.directory = request, directory
        self.made: Engine | None = None

    def __enter__(self) -> sessionmaker[Session]:
        if self.engine.dialect.name == "postgresql":
            _empty_postgres(self.engine)
            return with_builtin_data(self.engine)
        self.directory.mkdir()
        path = self.directory / "oppflow.db"
        shutil.copy(self.request.getfixturevalue("sqlite_template"), path)
        self.made = make_engine(f"sqlite:///{path}")
        return with_builtin_data(self.made)

    def __exit__(self, *_exc: object) -> None:
        if self.made is not None:
            self.made.dispose()


Snapshot = dict[str, dict[str, tuple[str, dict[str, Any]]]]


def snapshot(factory: sessionmaker[Session]) -> Snapshot:
    """Each table's records by name: (id, the fields compared), lookups and owners by name."""
    with factory() as session:
        users = dict(session.execute(select(User.id, User.username)).all())
        accounts = {a.id: a for a in session.scalars(select(Account))}
        contacts = {c.id: c for c in session.scalars(select(Contact))}
        opportunities = list(session.scalars(select(Opportunity)))
        return {
            "accounts": {a.name: (str(a.id), _account(a, users)) for a in accounts.values()},
            "contacts": {
                c.last_name: (str(c.id), _contact(c, users, accounts)) for c in contacts.values()
            },
            "opportunities": {
                o.name: (str(o.id), _opportunity(session, o, users, accounts, contacts))
                for o in opportunities
            },
        }


def _account(account: Account, users: dict[Any, str]) -> dict[str, Any]:
    fields = ("name", "city", "website", "email", "phone", "external_id")
    return {**{f: getattr(account, f) for f in fields}, "owner": users[account.owner_id]}


def _contact(
    contact: Contact, users: dict[Any, str], accounts: dict[Any, Account]
) -> dict[str, Any]:
    fields = ("first_name", "last_name", "email", "job_title", "external_id")
    account = accounts[contact.account_id].name if contact.account_id else None
    return {
        **{f: getattr(contact, f) for f in fields},
        "owner": users[contact.owner_id],
        "account": account,
    }


OPPORTUNITY_FIELDS = (
    "name", "estimated_value", "estimated_close_date", "probability", "forecast_category",
    "state", "status_reason", "actual_value", "actual_close_date", "process_key",
    "active_stage", "pipeline_phase", "customer_need", "proposed_solution", "currency",
    "external_id",
)  # fmt: skip


def _opportunity(
    session: Session,
    opportunity: Opportunity,
    users: dict[Any, str],
    accounts: dict[Any, Account],
    contacts: dict[Any, Contact],
) -> dict[str, Any]:
    moves = session.execute(
        select(StageHistory.kind, StageHistory.to_stage)
        .where(StageHistory.opportunity_id == opportunity.id)
        .order_by(StageHistory.seq)
    ).all()
    return {
        **{f: getattr(opportunity, f) for f in OPPORTUNITY_FIELDS},
        "owner": users[opportunity.owner_id],
        "account": accounts[opportunity.account_id].name if opportunity.account_id else None,
        "contact": contacts[opportunity.contact_id].last_name if opportunity.contact_id else None,
        "moves": [tuple(move) for move in moves],
    }


def _fields(found: Snapshot) -> dict[str, dict[str, dict[str, Any]]]:
    """The snapshot without ids and external ids, which differ between the two databases."""
    return {
        table: {
            name: {k: v for k, v in fields.items() if k != "external_id"}
            for name, (_id, fields) in records.items()
        }
        for table, records in found.items()
    }


ALICES = {
    "accounts": "name,city,owner\nFabrikam,Lyon,alice\n",
    "opportunities": (
        "name,estimatedvalue,accountname,owner,stepname,customerneed,proposedsolution,statecode,"
        "actualvalue,actualclosedate\n"
        "Fleet renewal,12000.50,Fabrikam,alice,,,,,,\n"
        "Leasing,48000,Fabrikam,alice,,Fleet,,,,\n"
        "Won deal,1000,Fabrikam,alice,,,,won,900,2026-03-01\n"
    ),
}


def test_a_salesperson_reimports_their_own_export(
    factory: sessionmaker[Session], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 12: the export's created_at column refused every row of a non-administrator."""
    _users(factory)
    for table, text in ALICES.items():
        made = run_import(factory, "alice", table, tmp_path / f"{table}.csv", text)
        assert (made.created, made.problems) == (text.count("\n") - 1, []), table
    before = snapshot(factory)
    exported = {table: export(factory, table, "alice") for table in ALICES}
    assert "created_at" in exported["opportunities"].partition("\n")[0]

    # Into the same database: the rows are its own records, so nothing is created again.
    for table in ALICES:
        again = run_import(factory, "alice", table, tmp_path / f"{table}-x.csv", exported[table])
        assert (again.created, again.existing, again.problems) == (
            0,
            1 + 2 * (table != "accounts"),
            [],
        )
    assert snapshot(factory) == before

    # Into a fresh database: the same records, created now (a salesperson does not backdate).
    with fresh_database(factory, request, tmp_path / "fresh") as fresh:
        _users(fresh)
        for table in ALICES:
            moved = run_import(fresh, "alice", table, tmp_path / f"{table}-y.csv", exported[table])
            assert (moved.created, moved.problems) == (len(before[table]), []), table
        assert _fields(snapshot(fresh)) == _fields(before)
