"""Duplicate detection's name comparison (pure)."""

from __future__ import annotations

import pytest

from oppflow.leads.matching import company_key, email_key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Contoso", "CONTOSO"),
        ("Contoso Ltd.", "contoso"),
        ("Contoso, Inc.", "Contoso Incorporated"),
        ("Fabrikam S.A.", "Fabrikam SAS"),
        ("Müller GmbH & Co. KG", "Muller"),
        ("A.C.M.E. Corp", "Acme"),
        ("Smith & Jones LLP", "Smith-Jones"),
        ("  Northwind   Traders ", "Northwind Traders Limited"),
    ],
)
def test_names_that_match(first: str, second: str) -> None:
    assert company_key(first) == company_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Contoso", "Contoso Robotics"),
        ("Fabrikam", "Fabrikam Health"),
        ("SA", "AS"),
    ],
)
def test_names_that_differ(first: str, second: str) -> None:
    assert company_key(first) != company_key(second)


def test_a_name_made_of_a_legal_form_keeps_it() -> None:
    assert company_key("S.A.") == "sa"
    assert company_key("Inc") == "inc"


def test_email_ignores_case_and_spaces() -> None:
    assert email_key(" Dana.Lopez@Fabrikam.EXAMPLE ") == "dana.lopez@fabrikam.example"
