"""The pure pricing rules: exact decimals in the currency's precision, rounding options, quantity
breaks and the extended amount, checked by example and by property."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oppflow.catalog.pricing import (
    ItemPrice,
    in_currency,
    line_amounts,
    unit_price,
    volume_discount,
)
from oppflow.errors import ValidationFailed

BREAKS = [
    {"from_quantity": "10", "percentage": "5"},
    {"from_quantity": "50", "percentage": "10"},
    {"from_quantity": "100", "amount": "20"},
]


def item(method: str = "amount", **fields: object) -> ItemPrice:
    values: dict[str, object] = {
        "pricing_method": method,
        "amount": None,
        "percentage": None,
        "rounding": "none",
        "rounding_amount": None,
        "list_price": Decimal("1500"),
        "standard_cost": Decimal("100.33"),
    }
    values.update(fields)
    return ItemPrice(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [("EUR", "10.005", "10.01"), ("JPY", "1234.5", "1235"), ("KWD", "1.2345", "1.235")],
)
def test_amounts_round_half_up_to_the_currency_minor_unit(
    currency: str, amount: str, expected: str
) -> None:
    rounded = in_currency(Decimal(amount), currency)
    assert rounded == Decimal(expected)
    assert rounded.as_tuple().exponent == Decimal(expected).as_tuple().exponent


@pytest.mark.parametrize(
    ("priced", "expected"),
    [
        (item(amount=Decimal("19.999")), "20.00"),
        (item("percent_of_list", percentage=Decimal("90")), "1350.00"),
        (item("percent_of_cost", percentage=Decimal("150")), "150.50"),
        (
            item(
                "percent_of_cost",
                percentage=Decimal("150"),
                rounding="up",
                rounding_amount=Decimal(5),
            ),
            "155.00",
        ),
        (
            item(
                "percent_of_cost",
                percentage=Decimal("150"),
                rounding="down",
                rounding_amount=Decimal(5),
            ),
            "150.00",
        ),
        (
            item(
                "percent_of_cost",
                percentage=Decimal("150"),
                rounding="nearest",
                rounding_amount=Decimal("0.25"),
            ),
            "150.50",
        ),
    ],
)
def test_a_price_list_item_gives_its_price(priced: ItemPrice, expected: str) -> None:
    assert unit_price(priced, "EUR") == Decimal(expected)


def test_a_percentage_of_a_missing_cost_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        unit_price(item("percent_of_cost", percentage=Decimal(10), standard_cost=None), "EUR")


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("9", "0"), ("10", "61.73"), ("49", "302.45"), ("50", "617.25"), ("100", "2000.00")],
)
def test_the_largest_break_reached_gives_the_volume_discount(quantity: str, expected: str) -> None:
    found = volume_discount(BREAKS, Decimal(quantity), Decimal("123.45"), "EUR")
    assert found == Decimal(expected)


def test_a_discount_larger_than_the_amount_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        line_amounts(
            quantity=Decimal(1),
            price_per_unit=Decimal(10),
            volume_discount=Decimal(0),
            manual_discount=Decimal("10.01"),
            tax=Decimal(0),
            currency="EUR",
        )
    assert refused.value.extra["field"] == "manual_discount"


cents = st.decimals(min_value=0, max_value=10**9, places=2)


@given(
    quantity=st.decimals(min_value=Decimal("0.0001"), max_value=10**4, places=4),
    price=cents,
    share=st.decimals(min_value=0, max_value=1, places=2),
    tax=cents,
)
def test_the_extended_amount_is_quantity_times_price_less_discounts_plus_tax(
    quantity: Decimal, price: Decimal, share: Decimal, tax: Decimal
) -> None:
    gross = in_currency(quantity * price, "EUR")
    manual = in_currency(gross * share, "EUR")
    amounts = line_amounts(
        quantity=quantity,
        price_per_unit=price,
        volume_discount=Decimal(0),
        manual_discount=manual,
        tax=tax,
        currency="EUR",
    )
    assert amounts.extended_amount == gross - manual + tax
    assert amounts.extended_amount >= tax
    assert amounts.extended_amount.as_tuple().exponent >= -2
