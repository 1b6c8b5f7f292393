"""An e-mail with one attachment, its headers safe from what users type."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def header_text(value: str) -> str:
    """A header value on one line: control characters (a CR or LF would start a new header)
    become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    attachment: bytes,
    attachment_name: str,
    attachment_type: str = "application/pdf",
) -> EmailMessage:
    """A plain-text message from ``sender`` to ``to`` with ``attachment``."""
    message = EmailMessage()
    message["From"] = header_text(sender)
    message["To"] = header_text(to)
    message["Subject"] = header_text(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="oppflow")
    message.set_content(body)
    maintype, subtype = attachment_type.split("/", 1)
    message.add_attachment(
        attachment, maintype=maintype, subtype=subtype, filename=header_text(attachment_name)
    )
    return message
