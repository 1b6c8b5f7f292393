"""Record ids are version-7 UUIDs, ordered by the moment they were made (decision 0048)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oppflow.clock import simulated_time
from oppflow.models.base import RANDOM_BITS, id_made_at, new_id, time_ordered_id

MOMENTS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)
BITS = st.integers(min_value=0, max_value=(1 << RANDOM_BITS) - 1)


@given(MOMENTS, BITS)
def test_a_time_ordered_id_is_an_rfc_9562_version_7_uuid(moment: datetime, bits: int) -> None:
    made = time_ordered_id(moment, bits)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == _milliseconds(moment)
    # Every random bit is kept, none is lost under the version and variant.
    assert (made.int >> 64 & 0xFFF) << 62 | made.int & (1 << 62) - 1 == bits


@given(MOMENTS, MOMENTS, BITS, BITS)
def test_ids_sort_by_their_millisecond_as_bytes_and_as_hex(
    first: datetime, second: datetime, first_bits: int, second_bits: int
) -> None:
    earlier, later = sorted((first, second))
    assume(_milliseconds(earlier) != _milliseconds(later))
    one, two = time_ordered_id(earlier, first_bits), time_ordered_id(later, second_bits)
    # PostgreSQL compares uuid as bytes; SQLite keeps the hex text.
    assert one.bytes < two.bytes
    assert one.hex < two.hex


def test_a_moment_before_1970_or_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="version-7"):
        time_ordered_id(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), 0)
    with pytest.raises(ValueError, match="aware"):
        time_ordered_id(datetime(2026, 3, 1, 12), 0)


def test_the_millisecond_is_counted_exactly_where_a_float_would_round_it_up() -> None:
    # 3000-01-04T08:56:09.231999: milliseconds since 1970 times 1000 as a float give .232.
    moment = datetime(3000, 1, 4, 8, 56, 9, 231_999, tzinfo=UTC)
    assert time_ordered_id(moment, 0).int >> 80 == _milliseconds(moment)
    assert (time_ordered_id(moment, 0).int >> 80) % 1000 == 231


def test_new_ids_follow_the_product_clock_and_differ_within_a_millisecond() -> None:
    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with simulated_time(moment):
        made = [new_id() for _ in range(1000)]
    with simulated_time(moment + timedelta(milliseconds=1)):
        after = new_id()
    assert len(set(made)) == len(made)
    assert {found.int >> 80 for found in made} == {_milliseconds(moment)}
    assert max(made) < after
    assert id_made_at(moment).int >> 80 == _milliseconds(moment)
    assert id_made_at(moment) != id_made_at(moment)


def _milliseconds(moment: datetime) -> int:
    """Whole milliseconds since 1970, counted without floats."""
    since = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (since.days * 86_400 + since.seconds) * 1000 + since.microseconds // 1000
