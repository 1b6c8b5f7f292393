"""Demo data around the opportunities: leads (some qualified into them), stakeholders, sales
teams, competitors, notes and a few small files, written through the services.

Called by :mod:`oppflow.demo.pipeline` while it plays its plan, under the same simulated time,
with a random generator of its own so the opportunities' plan stays what it was.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from oppflow.clock import simulated_time, utcnow
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import (
    DisqualifyReason,
    DisqualifyRequest,
    LeadCreate,
    LeadSource,
    LeadUpdate,
    QualifyRequest,
)
from oppflow.models import Account, Contact
from oppflow.related import files as file_service
from oppflow.related import service as related_service
from oppflow.related.schemas import (
    CompetitorLinkCreate,
    NoteCreate,
    SalesTeamCreate,
    SalesTeamRole,
    StakeholderCreate,
    StakeholderRole,
    StakeholderUpdate,
)
from oppflow.related.storage import default_store
from oppflow.sales import service as sales_service
from oppflow.sales.repository import AccountRepository, ContactRepository
from oppflow.sales.schemas import OpportunityUpdate
from oppflow.security.actor import Actor

# The share of planned opportunities that began as a qualified lead, and the leads that did not
# (yet) become one.
LEAD_SHARE = 0.2
OTHER_LEADS = 40
SOURCES: tuple[LeadSource, ...] = (
    "web", "web", "web", "trade_show", "partner", "employee_referral", "external_referral",
    "seminar", "advertisement", "word_of_mouth",
)  # fmt: skip
DISQUALIFY_REASONS: tuple[DisqualifyReason, ...] = (
    "lost",
    "cannot_contact",
    "no_longer_interested",
    "canceled",
)
STAKEHOLDER_ROLES: tuple[StakeholderRole, ...] = (
    "decision_maker", "economic_buyer", "champion", "influencer", "end_user", "technical_buyer",
)  # fmt: skip
SALES_TEAM_ROLES: tuple[SalesTeamRole, ...] = (
    "technical_sales_professional", "delivery_professional", "industry_expert",
    "service_professional",
)  # fmt: skip
OPPORTUNITY_NOTES = (
    "Kick-off call held; next step is a workshop with their IT team.",
    "They asked for two customer references in their industry.",
    "Procurement wants the pricing split per site.",
    "Security questionnaire sent back.",
)
LEAD_NOTES = (
    "Left a voicemail.",
    "Asked for a brochure and prices.",
    "Wants to be called back next quarter.",
)
LEAD_TOPICS = (
    "Replace the ageing laptops", "CRM for the sales team", "Network outages at branches",
    "Move the data centre to the cloud", "Point-of-sale upgrade", "Security audit",
    "Training for the new ERP", "IoT sensors on the shop floor",
)  # fmt: skip
LEAD_COMPANIES = (
    "Blue Yonder Bakeries", "Quarry Lane Dental", "Harbor Freight Co-op", "Tallis Architects",
    "Kingfisher Travel", "Moonrise Studios", "Peakview Clinics", "Saltmarsh Fisheries",
)  # fmt: skip


def began_as_a_lead(rng: random.Random, moves: Sequence[str]) -> bool:
    """Whether a planned opportunity begins as a lead: only one that leaves Qualify, since a
    qualified lead lands on Develop."""
    return "next" in moves and rng.random() < LEAD_SHARE


def qualified_opportunity(
    session: Session,
    *,
    actor: Actor,
    fields: dict[str, Any],
    account_id: uuid.UUID,
    contact_id: uuid.UUID,
    rng: random.Random,
) -> uuid.UUID:
    """A lead created now and qualified an hour later into the planned opportunity, linking its
    account and contact; the opportunity then gets the rest of the planned fields."""
    account = AccountRepository(session, actor).get(account_id)
    contact = ContactRepository(session, actor).get(contact_id)
    lead = lead_service.create_lead(
        session, actor=actor, data=_lead_data(rng, fields, account, contact)
    )
    with simulated_time(utcnow() + timedelta(minutes=rng.randint(20, 90))):
        done = lead_service.qualify(
            session,
            actor=actor,
            lead_id=lead.id,
            data=QualifyRequest(existing_account_id=account_id, existing_contact_id=contact_id),
        )
        assert done.opportunity is not None
        rest = {k: v for k, v in fields.items() if k not in ("name", "estimated_value")}
        sales_service.update_opportunity(
            session,
            actor=actor,
            opportunity_id=done.opportunity.id,
            data=OpportunityUpdate.model_validate(rest),
        )
    return done.opportunity.id


def _lead_data(
    rng: random.Random, fields: dict[str, Any], account: Account, contact: Contact
) -> LeadCreate:
    return LeadCreate(
        topic=fields["name"],
        first_name=contact.first_name,
        last_name=contact.last_name,
        company_name=account.name,
        email=contact.email,
        phone=contact.phone,
        estimated_value=fields.get("estimated_value"),
        description=fields.get("description"),
        source=rng.choice(SOURCES),
    )


def decorate(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    name: str,
    contacts: Sequence[uuid.UUID],
    competitors: Sequence[uuid.UUID],
    colleagues: Sequence[Actor],
    rng: random.Random,
) -> None:
    """Stakeholders (the first contact, the opportunity's, is one already: it gets a role),
    sales team, competitors, a note and now and then files, on a new opportunity."""
    for number, contact_id in enumerate(contacts):
        role = rng.choice(STAKEHOLDER_ROLES)
        if rng.random() < 0.5:
            continue
        if number == 0:
            related_service.change_stakeholder(
                session,
                actor=actor,
                opportunity_id=opportunity_id,
                contact_id=contact_id,
                data=StakeholderUpdate(role=role),
            )
        else:
            data = StakeholderCreate(contact_id=contact_id, role=role)
            related_service.add_stakeholder(
                session, actor=actor, opportunity_id=opportunity_id, data=data
            )
    for colleague in colleagues:
        if rng.random() < 0.15:
            member = SalesTeamCreate(user_id=colleague.user_id, role=rng.choice(SALES_TEAM_ROLES))
            related_service.add_sales_team_member(
                session, actor=actor, opportunity_id=opportunity_id, data=member
            )
    for competitor_id in competitors:
        link = CompetitorLinkCreate(competitor_id=competitor_id)
        related_service.add_competitor(
            session, actor=actor, opportunity_id=opportunity_id, data=link
        )
    if rng.random() < 0.3:
        note = NoteCreate(text=rng.choice(OPPORTUNITY_NOTES))
        related_service.add_note(session, actor=actor, opportunity_id=opportunity_id, data=note)
    if rng.random() < 0.06:
        _attach_files(session, actor, opportunity_id, name, rng)


def _attach_files(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, name: str, rng: random.Random
) -> None:
    store = default_store()
    requirements = (
        f"Requirements - {name}\n\n"
        "- Delivery in two phases\n- Support in English and French\n- Single sign-on\n"
    )
    attachments: list[tuple[str, bytes]] = [
        (f"Requirements - {name}.txt", requirements.encode()),
    ]
    if rng.random() < 0.6:
        attachments.append((f"Proposal - {name}.pdf", small_pdf(f"Proposal: {name}")))
    for filename, content in attachments:
        file_service.attach_bytes(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            name=filename,
            content=content,
            store=store,
        )


def small_pdf(title: str) -> bytes:
    """A one-page PDF showing ``title``."""
    text = title.encode("latin-1", "replace").replace(b"\\", b"\\\\")
    text = text.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 20 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    return body + trailer % (len(objects) + 1, xref)


def other_leads(
    session: Session,
    *,
    owners: Sequence[Actor],
    companies: Sequence[str],
    people: tuple[Sequence[str], Sequence[str]],
    cutoff: datetime,
    rng: random.Random,
    tick: Callable[[str], None],
) -> None:
    """Leads that are new, contacted or disqualified; some name a company that is already an
    account, so qualifying them meets duplicate detection. ``people`` are first and last names."""
    for _ in range(OTHER_LEADS):
        moment = cutoff - timedelta(days=rng.randint(3, 120), hours=rng.randint(1, 9))
        with simulated_time(moment):
            _other_lead(session, rng.choice(owners), companies, people, rng)
        tick("Leads")


def _other_lead(
    session: Session,
    actor: Actor,
    companies: Sequence[str],
    people: tuple[Sequence[str], Sequence[str]],
    rng: random.Random,
) -> None:
    first, last = rng.choice(people[0]), rng.choice(people[1])
    company = rng.choice(companies) if rng.random() < 0.3 else rng.choice(LEAD_COMPANIES)
    domain = "".join(c for c in company.lower() if c.isalnum())[:20] + ".example"
    email = "".join(
        c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
    )
    data = LeadCreate.model_validate(
        {
            "topic": f"{rng.choice(LEAD_TOPICS)} ({company})",
            "first_name": first,
            "last_name": last,
            "company_name": company,
            "email": f"{email}@{domain}",
            "estimated_value": Decimal(rng.randint(5, 150) * 1000),
            "source": rng.choice(SOURCES),
            "purchase_timeframe": rng.choice(("this_quarter", "next_quarter", "this_year")),
        }
    )
    lead = lead_service.create_lead(session, actor=actor, data=data)
    roll = rng.random()
    with simulated_time(utcnow() + timedelta(days=rng.randint(1, 2))):
        if roll < 0.3:
            lead_service.disqualify(
                session,
                actor=actor,
                lead_id=lead.id,
                data=DisqualifyRequest(status_reason=rng.choice(DISQUALIFY_REASONS)),
            )
        elif roll < 0.6:
            lead_service.update_lead(
                session,
                actor=actor,
                lead_id=lead.id,
                data=LeadUpdate(status_reason="contacted"),
            )
        if rng.random() < 0.4:
            related_service.add_note(
                session, actor=actor, lead_id=lead.id, data=NoteCreate(text=rng.choice(LEAD_NOTES))
            )
