"""The quote as a PDF document, typeset by typst in the quote's language.

:class:`QuoteDocument` is a plain value (what the page shows, nothing of the database);
:func:`render_pdf` formats its numbers, amounts and dates with Babel for the language, and hands
them to the template ``templates/quote.typ`` as JSON in ``sys.inputs``. User text is never
spliced into typst markup, so a line named ``#set page(...)`` or holding ``]`` or ``"`` prints
as written: the template only places strings, it never evaluates them.
"""

from __future__ import annotations

import gettext
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import typst
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

TEMPLATE = Path(__file__).resolve().parent / "templates" / "quote.typ"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "fr")


def N_(message: str) -> str:  # noqa: N802 - the gettext marker `make messages` extracts
    return message


# The document's own words, translated with the web pages' catalog.
LABELS: dict[str, str] = {
    "quote": N_("Quote"),
    "draft": N_("Draft: not valid as an offer"),
    "number": N_("Quote number"),
    "revision": N_("Revision"),
    "date": N_("Date"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid until"),
    "seller": N_("From"),
    "customer": N_("Customer"),
    "contact": N_("Contact"),
    "prepared_by": N_("Prepared by"),
    "line": N_("No."),
    "product": N_("Product"),
    "quantity": N_("Quantity"),
    "unit_price": N_("Unit price"),
    "discount": N_("Discount"),
    "tax": N_("Tax"),
    "amount": N_("Amount"),
    "subtotal": N_("Detail amount"),
    "total_discount": N_("Total discount"),
    "total_tax": N_("Total tax"),
    "total": N_("Total amount"),
    "terms": N_("Terms"),
    "page": N_("Page"),
}


@dataclass(frozen=True)
class DocumentLine:
    """One line as printed: ``discount`` is the volume and manual discounts together."""

    number: int
    name: str
    description: str | None
    quantity: Decimal
    unit: str | None
    price_per_unit: Decimal
    discount: Decimal
    tax: Decimal
    extended_amount: Decimal


@dataclass(frozen=True)
class QuoteDocument:
    """Everything the PDF shows, already read and checked."""

    language: str
    quote_number: str
    revision_number: int
    name: str
    is_draft: bool
    issued_on: date
    currency: str
    seller: str
    prepared_by: str | None
    customer: str | None
    contact: str | None
    effective_from: date | None
    effective_to: date | None
    lines: tuple[DocumentLine, ...]
    total_line_amount: Decimal
    total_discount: Decimal
    total_tax: Decimal
    total_amount: Decimal
    terms: str | None = None
    description: str | None = None

    @property
    def file_name(self) -> str:
        """``QUO-000123-1.pdf``: the number and revision, never user text."""
        return f"{self.quote_number}-{self.revision_number}.pdf"


def render_pdf(document: QuoteDocument) -> bytes:
    """The PDF bytes of ``document``, with the fonts built into typst only (the same
    output on every machine)."""
    return _compile(document, "pdf")


def render_preview(document: QuoteDocument, ppi: int = 96) -> bytes:
    """The same document as one PNG, its pages run together (``page(height: auto)``): an
    image the quote's page shows, where a browser may have no PDF viewer to embed."""
    return _compile(document, "png", preview=True, ppi=ppi)


def _compile(
    document: QuoteDocument,
    kind: Literal["pdf", "png"],
    *,
    preview: bool = False,
    ppi: int | None = None,
) -> bytes:
    data = json.dumps(document_data(document) | {"preview": preview}, ensure_ascii=False)
    output = typst.compile(
        _template(), sys_inputs={"data": data}, ignore_system_fonts=True, format=kind, ppi=ppi
    )
    first: bytes = output[0] if isinstance(output, list) else output
    return first


@lru_cache(maxsize=1)
def _template() -> bytes:
    return TEMPLATE.read_bytes()


def document_data(document: QuoteDocument) -> dict[str, Any]:
    """What the template receives: every value a string, formatted for the language."""
    language = document.language if document.language in LANGUAGES else "en"
    fmt = _Formats(language, document.currency)
    return {
        "lang": language,
        "labels": _labels(language),
        # ": " in English, " : " (with a narrow no-break space) in French.
        "colon": translate(language, "%(label)s: %(value)s") % {"label": "", "value": ""},
        "quote_number": document.quote_number,
        "revision": str(document.revision_number),
        "name": document.name,
        "draft": document.is_draft,
        "issued_on": fmt.day(document.issued_on),
        "valid_from": fmt.day(document.effective_from),
        "valid_to": fmt.day(document.effective_to),
        "seller": document.seller,
        "prepared_by": document.prepared_by or "",
        "customer": document.customer or "",
        "contact": document.contact or "",
        "lines": [_line_data(line, fmt) for line in document.lines],
        "totals": {
            "subtotal": fmt.money(document.total_line_amount),
            "discount": fmt.money(document.total_discount),
            "tax": fmt.money(document.total_tax),
            "total": fmt.money(document.total_amount),
        },
        "terms": document.terms or "",
        "description": document.description or "",
    }


def _line_data(line: DocumentLine, fmt: _Formats) -> dict[str, str]:
    quantity = fmt.number(line.quantity)
    return {
        "number": str(line.number),
        "name": line.name,
        "description": line.description or "",
        "quantity": f"{quantity} {line.unit}" if line.unit else quantity,
        "unit_price": fmt.money(line.price_per_unit),
        "discount": fmt.money(line.discount) if line.discount else "",
        "tax": fmt.money(line.tax) if line.tax else "",
        "amount": fmt.money(line.extended_amount),
    }


@dataclass(frozen=True)
class _Formats:
    language: str
    currency: str

    def money(self, value: Decimal) -> str:
        """With the currency's own decimals: ``1 234,50 €``, ``€1,234.50``, ``¥1,235``."""
        return format_currency(value, self.currency, locale=self.language)

    def number(self, value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=self.language)

    def day(self, value: date | None) -> str:
        return format_date(value, "long", locale=self.language) if value else ""


def _labels(language: str) -> dict[str, str]:
    return {key: translate(language, message) for key, message in LABELS.items()}


def translate(language: str, message: str) -> str:
    """``message`` in ``language`` (the document's, not the reader's page)."""
    return _translations(language if language in LANGUAGES else "en").gettext(message)


def money(document: QuoteDocument, value: Decimal) -> str:
    """An amount of ``document`` as it prints."""
    return _Formats(document.language, document.currency).money(value)


@lru_cache(maxsize=len(LANGUAGES))
def _translations(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")
