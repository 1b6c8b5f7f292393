"""Prices and line amounts, pure: Decimal in, Decimal out, rounded to the currency's precision.

No float ever takes part. A currency's precision is its number of minor-unit digits (2 for
EUR and USD, 0 for JPY, 3 for KWD), from the CLDR data Babel ships.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import get_currency_precision

from oppflow.errors import ValidationFailed

ZERO = Decimal(0)
# What a Numeric(19, 4) column holds, as the API's money fields say.
MAX_MONEY = Decimal(999_999_999_999_999)
HUNDRED = Decimal(100)
_ROUNDING_MODES = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}


def precision(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (at most 4, what the columns keep)."""
    return min(get_currency_precision(currency), 4)


def in_currency(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the minor unit of ``currency``."""
    return amount.quantize(Decimal(1).scaleb(-precision(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ItemPrice:
    """What a price list item says, with the product's list price and cost beside it."""

    pricing_method: str
    amount: Decimal | None
    percentage: Decimal | None
    rounding: str
    rounding_amount: Decimal | None
    list_price: Decimal | None
    standard_cost: Decimal | None


def unit_price(item: ItemPrice, currency: str) -> Decimal:
    """The price per unit a price list item gives, rounded as the item says."""
    raw = _raw_price(item)
    if item.rounding != "none" and item.rounding_amount:
        step = item.rounding_amount
        raw = (raw / step).quantize(Decimal(1), rounding=_ROUNDING_MODES[item.rounding]) * step
    return in_currency(within_bounds(raw, "price_per_unit"), currency)


def within_bounds(amount: Decimal, field: str) -> Decimal:
    """``amount``, refused (422 naming ``field``) when the money columns could not hold it."""
    if amount > MAX_MONEY:
        raise ValidationFailed(f"{field}: the amount is larger than {MAX_MONEY}.", field=field)
    return amount


def _raw_price(item: ItemPrice) -> Decimal:
    if item.pricing_method == "amount":
        if item.amount is None:
            raise ValidationFailed("amount: this price list item has none.", field="amount")
        return item.amount
    base = item.list_price if item.pricing_method == "percent_of_list" else item.standard_cost
    if base is None or item.percentage is None:
        what = "list price" if item.pricing_method == "percent_of_list" else "standard cost"
        raise ValidationFailed(
            f"product_id: the product has no {what} for this price list item to use.",
            field="product_id",
        )
    return base * item.percentage / HUNDRED


def volume_discount(
    breaks: Iterable[Mapping[str, Any]], quantity: Decimal, price: Decimal, currency: str
) -> Decimal:
    """The discount of the largest quantity break at or below ``quantity``, for the line."""
    reached = [b for b in breaks if Decimal(str(b["from_quantity"])) <= quantity]
    if not reached:
        return ZERO
    best = max(reached, key=lambda b: Decimal(str(b["from_quantity"])))
    if best.get("percentage") is not None:
        off = quantity * price * Decimal(str(best["percentage"])) / HUNDRED
    else:
        off = quantity * Decimal(str(best["amount"]))
    return in_currency(min(off, quantity * price), currency)


@dataclass(frozen=True)
class LineAmounts:
    amount: Decimal  # quantity × price per unit
    volume_discount: Decimal
    manual_discount: Decimal
    tax: Decimal
    extended_amount: Decimal


def line_amounts(
    *,
    quantity: Decimal,
    price_per_unit: Decimal,
    volume_discount: Decimal,
    manual_discount: Decimal,
    tax: Decimal,
    currency: str,
) -> LineAmounts:
    """Extended amount = quantity × price − volume discount − manual discount + tax; a
    discount larger than what is left to discount is refused (422)."""
    amount = in_currency(within_bounds(quantity * price_per_unit, "quantity"), currency)
    manual = in_currency(manual_discount, currency)
    if volume_discount + manual > amount:
        raise ValidationFailed(
            "The discounts are larger than the line's amount.", field="manual_discount"
        )
    taxed = in_currency(tax, currency)
    extended = amount - volume_discount - manual + taxed
    return LineAmounts(amount, volume_discount, manual, taxed, extended)
