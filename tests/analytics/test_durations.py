"""The Kaplan–Meier median of time in stage against the brute force of ``history``."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from oppflow.analytics.durations import MICROSECONDS_A_DAY, kaplan_meier_median
from tests.analytics import history as brute

# Few distinct lengths, so that stays end and stay open at the same length often.
stays = st.lists(st.tuples(st.integers(0, 12), st.booleans()), max_size=40)


@given(stays)
def test_the_median_is_the_brute_force_one(found: list[tuple[int, bool]]) -> None:
    keys = sorted(length * 2 + (not ended) for length, ended in found)
    durations = [(Decimal(length) / MICROSECONDS_A_DAY, ended) for length, ended in found]

    assert kaplan_meier_median(keys) == brute.kaplan_meier_median(durations)


def test_a_stay_still_open_at_a_length_is_at_risk_when_others_end_there() -> None:
    # Four stays: two end at 1, one is open at 1, one ends at 2. S(1) = 1 - 2/4 = 1/2.
    keys = sorted([1 * 2, 1 * 2, 1 * 2 + 1, 2 * 2])

    assert kaplan_meier_median(keys) == Decimal(1) / MICROSECONDS_A_DAY


def test_no_median_while_more_than_half_are_open() -> None:
    assert kaplan_meier_median(sorted([3 * 2, 5 * 2 + 1, 6 * 2 + 1])) is None
    assert kaplan_meier_median([]) is None
