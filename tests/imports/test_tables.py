"""Imports of contacts, leads and opportunities with lookups, on SQLite and PostgreSQL: lookups
see only what the importer may read, opportunities reach the file's stage through the engine's
gates (or are refused whole), and won or lost rows close through the sales service."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.imports.report import RowProblem
from oppflow.imports.service import import_rows
from oppflow.models import (
    Account,
    AuditEntry,
    Contact,
    Lead,
    Opportunity,
    OpportunityChange,
    OpportunityClose,
    ProcessInstance,
    StageHistory,
    User,
)
from oppflow.security.service import actor_by_username
from tests.imports.support import account, contact, run_import, user


def test_contacts_find_their_account_by_name_or_external_id_among_the_readable(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "alice")
    user(factory, "erin", unit="East")
    fabrikam = account(factory, "alice", "Fabrikam", external_id="ACC-1")
    account(factory, "alice", "Twin")
    account(factory, "alice", "twin")
    account(factory, "erin", "Hidden East")  # a salesperson reads their own unit only
    result = run_import(
        factory,
        "alice",
        "contacts",
        tmp_path / "contacts.csv",
        "lastname,Account Name,accountid\n"
        "Ng,fabrikam,\n"
        "Oz,,ACC-1\n"
        "Pi,Nowhere,\n"
        "Qu,Hidden East,\n"
        "Ra,Twin,\n",
    )
    assert (result.created, result.refused) == (2, 3)
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (3, "account_name", "Nowhere"),
        (4, "account_name", "Hidden East"),
        (5, "account_name", "Twin"),
    ]
    # An account out of reach answers as an unknown one: the report does not tell it exists.
    assert (
        result.problems[0].why
        == result.problems[1].why
        == ("no account with that name that you can read")
    )
    assert "more than one" in result.problems[2].why
    with factory() as session:
        linked = dict(session.execute(select(Contact.last_name, Contact.account_id)).all())
    assert {name: str(account_id) for name, account_id in linked.items()} == {
        "Ng": fabrikam,
        "Oz": fabrikam,
    }


def test_leads_start_on_their_process_take_an_owner_by_email_and_import_once(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "admin", role="system-administrator")
    user(factory, "bob")
    text = (
        "leadid,subject,lastname,emailaddress1,ownerid,estimatedamount\n"
        "L-1,Fleet renewal,Ng,ng@contoso.example.org,bob@example.com,1200\n"
        "L-2,Second,Oz,,nobody@example.com,\n"
        "L-3,Third,Pi,,,not money\n"
    )
    first = run_import(factory, "admin", "leads", tmp_path / "leads.csv", text)
    again = run_import(factory, "admin", "leads", tmp_path / "leads.csv", text)
    assert (first.created, first.existing, first.refused) == (1, 0, 2)
    assert [(p.row, p.column) for p in first.problems] == [(2, "owner"), (3, "estimated_value")]
    # The refused rows are not counted as imported: running the file again retries them.
    assert (again.created, again.existing, again.refused) == (0, 1, 2)
    with factory() as session:
        lead = session.scalars(select(Lead)).one()
        instance = session.scalars(select(ProcessInstance)).one()
        bob = session.scalar(select(User.id).where(User.username == "bob"))
    assert (lead.external_id, lead.topic, lead.state) == ("L-1", "Fleet renewal", "open")
    assert instance.lead_id == lead.id
    assert instance.active_stage == "qualify"
    assert lead.owner_id == bob != lead.created_by_id


QUALIFIED = "Ng,ng@contoso.example.org,Fabrikam"


def test_opportunities_reach_the_file_stage_through_the_gates(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "alice")
    account(factory, "alice", "Fabrikam")
    contact(factory, "alice", "Ng", "ng@contoso.example.org")
    result = run_import(
        factory,
        "alice",
        "opportunities",
        tmp_path / "opportunities.csv",
        "opportunityid,name,contactname,contact email,account name,stepname,"
        "customerneed,proposedsolution\n"
        f"O-1,At develop,{QUALIFIED},2-Develop,,\n"
        f"O-2,At propose,{QUALIFIED},Proposer,Fleet,Leasing\n"
        f"O-3,Gate refused,{QUALIFIED},propose,Fleet,\n"
        "O-4,No contact,Ng,,Fabrikam,Develop,,\n"
        f"O-5,Unknown stage,{QUALIFIED},Negotiate,,\n",
    )
    assert (result.created, result.refused) == (2, 3)
    assert result.problems == [
        RowProblem(3, "stage", "propose", "Develop needs Proposed Solution first"),
        RowProblem(4, "stage", "Develop", "Qualify needs Identify Contact first"),
        RowProblem(5, "stage", "Negotiate", "not a stage of the process opportunity-sales-process"),
    ]
    with factory() as session:
        placed = dict(session.execute(select(Opportunity.name, Opportunity.pipeline_phase)).all())
        moves = session.execute(
            select(Opportunity.name, StageHistory.kind, StageHistory.to_stage)
            .join(StageHistory, StageHistory.opportunity_id == Opportunity.id)
            .order_by(Opportunity.name, StageHistory.seq)
        ).all()
        logged = session.scalar(select(func.count(func.distinct(OpportunityChange.opportunity_id))))
    assert placed == {"At develop": "2-Develop", "At propose": "3-Propose"}
    assert [tuple(move) for move in moves] == [
        ("At develop", "start", "qualify"),
        ("At develop", "next", "develop"),
        ("At propose", "start", "qualify"),
        ("At propose", "next", "develop"),
        ("At propose", "next", "propose"),
    ]
    # Nothing of a refused row is kept: no record, no history, no change log.
    assert logged == 2


def test_won_and_lost_rows_close_through_the_sales_service(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "alice")
    result = run_import(
        factory,
        "alice",
        "opportunities",
        tmp_path / "closed.csv",
        "name,estimatedvalue,statecode,statuscode,actualvalue,actualclosedate\n"
        "Won deal,1000,1,,900,2026-03-01\n"
        "Lost deal,500,lost,out_sold,,2026-02-01\n"
        "Bad reason,500,lost,sunk,,\n"
        "Bad state,500,maybe,,,\n"
        "Open deal,100,open,,,\n",
    )
    assert (result.created, result.refused) == (3, 2)
    assert [(p.row, p.column) for p in result.problems] == [(3, "status_reason"), (4, "state")]
    with factory() as session:
        states = {
            row.name: (row.state, row.status_reason, row.actual_value)
            for row in session.scalars(select(Opportunity))
        }
        closes = dict(
            session.execute(select(OpportunityClose.outcome, OpportunityClose.close_date)).all()
        )
    assert states["Won deal"] == ("won", "won", Decimal(900))
    assert states["Lost deal"][:2] == ("lost", "out_sold")
    assert states["Open deal"][:2] == ("open", "in_progress")
    assert {outcome: day.isoformat() for outcome, day in closes.items()} == {
        "won": "2026-03-01",
        "lost": "2026-02-01",
    }


def test_past_creation_dates_are_for_administrators_and_date_the_history(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "alice")
    user(factory, "admin", role="system-administrator")
    text = (
        "opportunityid,name,createdon\nO-1,Old deal,2024-01-15T09:30:00Z\nO-2,Future,2999-01-01\n"
    )
    # A salesperson's file (an export of theirs) is imported, its creation dates left out.
    mine = run_import(
        factory, "alice", "opportunities", tmp_path / "a.csv", text.replace("O-", "A-")
    )
    assert (mine.created, mine.problems) == (2, [])
    # Asked for by name, backdating stays for administrators.
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        columns = {"opportunityid": "external_id", "name": "name", "createdon": "created_at"}
        rows = [{"opportunityid": "E-1", "name": "Old deal", "createdon": "2024-01-15"}]
        refused = import_rows(session, actor, "opportunities", rows, columns)
    assert refused.created == 0
    assert refused.problems[0].why == "only administrators import past creation dates"
    result = run_import(factory, "admin", "opportunities", tmp_path / "b.csv", text)
    assert (result.created, result.refused) == (1, 1)
    assert result.problems[0].why == "this date is in the future"
    born = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)
    with factory() as session:
        opportunity = session.scalars(
            select(Opportunity).where(Opportunity.external_id == "O-1")
        ).one()
        history_at = session.scalar(
            select(StageHistory.at).where(StageHistory.opportunity_id == opportunity.id)
        )
        started = session.scalar(
            select(ProcessInstance.active_stage_started_at).where(
                ProcessInstance.opportunity_id == opportunity.id
            )
        )
        changes = session.execute(
            select(OpportunityChange.effective_at, OpportunityChange.recorded_at).where(
                OpportunityChange.opportunity_id == opportunity.id
            )
        ).all()
        mine_born = session.scalars(
            select(Opportunity.created_at).where(Opportunity.external_id.like("A-%"))
        ).all()
    assert all(at.year > 2024 for at in mine_born)
    assert opportunity.created_at == history_at == started == born
    assert {effective for effective, _ in changes} == {born}
    # oppflow learned them now: "as we knew it then" reports do not see them in 2024.
    assert all(recorded.year > 2024 for _, recorded in changes)


def test_the_external_id_is_set_at_creation_not_by_an_update_after(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user(factory, "alice")
    for table, text in (
        ("accounts", "accountid,name\nA-1,Fabrikam\n"),
        ("contacts", "contactid,lastname\nC-1,Ng\n"),
        ("leads", "leadid,subject,lastname\nL-1,Fleet,Oz\n"),
        ("opportunities", "opportunityid,name\nO-1,Leasing\n"),
    ):
        result = run_import(factory, "alice", table, tmp_path / f"{table}.csv", text)
        assert result.created == 1, result.problems
    with factory() as session:
        for model in (Account, Contact, Lead, Opportunity):
            record = session.scalars(select(model)).one()
            # One INSERT: no UPDATE after it, so no second audit entry and no version bump.
            assert (record.external_id, record.version) == (f"{model.__name__[0]}-1", 1)
            entries = session.scalars(
                select(AuditEntry.action).where(AuditEntry.record_id == record.id)
            ).all()
            assert entries == ["create"], model
