"""The quote's document and its sending: the PDF read from the database, and the e-mail to the
quote's contact with the PDF attached, kept as a file of the opportunity.

Sending marks the quote sent and keeps the file first, then hands the message to the SMTP
server last: when the server cannot be reached or refuses, the error rolls the whole unit of
work back, so there is neither a "sent" mark nor a kept file for a message that did not go.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage

from sqlalchemy.orm import Session

from oppflow.clock import today
from oppflow.config import get_settings
from oppflow.errors import ValidationFailed
from oppflow.mail import smtp
from oppflow.mail.errors import MailNotConfigured
from oppflow.mail.message import compose
from oppflow.models import Contact, Quote, QuoteLine
from oppflow.quotes import service
from oppflow.quotes.document import (
    N_,
    DocumentLine,
    QuoteDocument,
    money,
    render_pdf,
    translate,
)
from oppflow.quotes.document_repository import DocumentRepository
from oppflow.related import files
from oppflow.related.storage import FileStore
from oppflow.security.actor import Actor

SUBJECT = N_("Quote %(number)s: %(name)s")
BODY = N_(
    "Hello %(contact)s,\n\nPlease find attached our quote %(number)s (revision %(revision)s), "
    "%(name)s, for a total of %(total)s.\n\nBest regards,\n%(sender)s"
)


def quote_document(session: Session, *, actor: Actor, quote_id: uuid.UUID) -> QuoteDocument:
    """What the quote's PDF shows (404 when the quote is not readable)."""
    quote = service.get_quote(session, actor=actor, quote_id=quote_id)
    lines = service.list_quote_lines(session, actor=actor, quote_id=quote.id)
    names = DocumentRepository(session)
    account, contact = names.account(quote.account_id), names.contact(quote.contact_id)
    owner = names.owner_of(quote.opportunity_id)
    return QuoteDocument(
        language=quote.language,
        quote_number=quote.quote_number,
        revision_number=quote.revision_number,
        name=quote.name,
        is_draft=quote.state == "draft",
        issued_on=(quote.activated_at.date() if quote.activated_at else today()),
        currency=quote.currency,
        seller=names.organisation(),
        prepared_by=owner.full_name if owner else None,
        customer=account.name if account else None,
        contact=_full_name(contact) if contact else None,
        effective_from=quote.effective_from,
        effective_to=quote.effective_to,
        lines=_document_lines(names, lines),
        total_line_amount=quote.total_line_amount,
        total_discount=quote.total_discount,
        total_tax=quote.total_tax,
        total_amount=quote.total_amount,
        terms=quote.terms,
        description=quote.description,
    )


def _document_lines(names: DocumentRepository, lines: list[QuoteLine]) -> tuple[DocumentLine, ...]:
    products = names.product_names(line.product_id for line in lines)
    units = names.unit_names(line.unit_id for line in lines)
    return tuple(
        DocumentLine(
            number=line.line_number,
            name=line.write_in_name
            or (products.get(line.product_id, "") if line.product_id else ""),
            description=line.description,
            quantity=line.quantity,
            unit=units.get(line.unit_id) if line.unit_id else None,
            price_per_unit=line.price_per_unit,
            discount=line.volume_discount + line.manual_discount,
            tax=line.tax,
            extended_amount=line.extended_amount,
        )
        for line in lines
    )


def _full_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part)


def quote_pdf(
    session: Session, *, actor: Actor, quote_id: uuid.UUID
) -> tuple[QuoteDocument, bytes]:
    """The quote's document and its PDF bytes."""
    document = quote_document(session, actor=actor, quote_id=quote_id)
    return document, render_pdf(document)


def send_quote(session: Session, *, actor: Actor, quote_id: uuid.UUID, store: FileStore) -> Quote:
    """E-mail the quote's PDF to its contact, keep the PDF as a file of the opportunity and
    mark the quote sent (a draft or active quote; write on it)."""
    quote = service.get_quote(session, actor=actor, quote_id=quote_id)
    recipient = _recipient(session, quote)
    server = smtp.configured_server()
    document, pdf = quote_pdf(session, actor=actor, quote_id=quote.id)
    service.record_sending(session, actor=actor, quote_id=quote.id, sent_to=recipient)
    files.attach_bytes(
        session,
        actor=actor,
        opportunity_id=quote.opportunity_id,
        name=document.file_name,
        content=pdf,
        store=store,
        declared_type="application/pdf",
    )
    sender = _sender(session, actor)
    smtp.send(server, _message(document, pdf, sender=sender, to=recipient))
    return quote


def _recipient(session: Session, quote: Quote) -> str:
    contact = DocumentRepository(session).contact(quote.contact_id)
    if contact is None or not contact.email:
        raise ValidationFailed(
            "contact_id: the quote needs a contact with an e-mail address to be sent.",
            field="contact_id",
        )
    return contact.email


def _sender(session: Session, actor: Actor) -> str:
    configured = get_settings().mail_from
    user = DocumentRepository(session).user(actor.user_id)
    sender = configured or (user.email if user else None)
    if not sender:
        raise MailNotConfigured("No sender address: set OPPFLOW_MAIL_FROM.")
    return sender


def _message(document: QuoteDocument, pdf: bytes, *, sender: str, to: str) -> EmailMessage:
    language = document.language
    values = {
        "number": document.quote_number,
        "revision": document.revision_number,
        "name": document.name,
        "contact": document.contact or "",
        "total": money(document, document.total_amount),
        "sender": document.prepared_by or document.seller,
    }
    return compose(
        sender=sender,
        to=to,
        subject=translate(language, SUBJECT) % values,
        body=translate(language, BODY) % values,
        attachment=pdf,
        attachment_name=document.file_name,
    )
