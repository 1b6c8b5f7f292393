"""``oppflow quote pdf ID FILE`` and ``oppflow quote send ID``: the quote's document, written
to a file or e-mailed to its contact, on the same services as the API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from oppflow.console import AsUser, as_actor, fail, out, unit
from oppflow.quotes import sending
from oppflow.related.storage import default_store


def register(quote_app: typer.Typer) -> None:
    quote_app.command("pdf")(quote_pdf)
    quote_app.command("send")(quote_send)


def quote_pdf(
    quote_id: uuid.UUID,
    file: Annotated[Path, typer.Argument(help="Where to write the PDF ('-' for stdout).")],
    user: AsUser,
) -> None:
    """Write the quote's PDF to FILE."""
    with unit(read_only=True) as session:
        document, pdf = sending.quote_pdf(session, actor=as_actor(session, user), quote_id=quote_id)
    if str(file) == "-":
        typer.get_binary_stream("stdout").write(pdf)
        return
    try:
        file.write_bytes(pdf)
    except OSError as error:
        fail(f"cannot write {file}: {error.strerror}")
    out.print(f"{document.quote_number} rev {document.revision_number} → {file}", highlight=False)


def quote_send(quote_id: uuid.UUID, user: AsUser) -> None:
    """E-mail the quote's PDF to its contact (OPPFLOW_SMTP_URL) and mark it sent."""
    with unit() as session:
        quote = sending.send_quote(
            session, actor=as_actor(session, user), quote_id=quote_id, store=default_store()
        )
        out.print(f"{quote.quote_number} sent to {quote.sent_to}", highlight=False)
