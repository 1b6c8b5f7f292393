"""The list's and the board's row-level security as one set of ids (``readable_by_id``) reads
exactly the opportunities the security matrix says each built-in role reads: depth, business
units, shares with the user and with their team, sales teams."""

from __future__ import annotations

import pytest

from oppflow.analytics.repository import AnalyticsRepository
from oppflow.db import unit_of_work
from oppflow.models import Opportunity
from oppflow.security.privileges import BUILTIN_ROLES
from oppflow.security.service import actor_by_username
from tests.security.conftest import database, security_postgres, world  # noqa: F401
from tests.security.test_visibility import place_all, readable_ids
from tests.security.world import World


@pytest.mark.parametrize("role", list(BUILTIN_ROLES), scope="module")
def test_readable_by_id_reads_exactly_the_readable_rows(world: World, role: str) -> None:  # noqa: F811
    place_all(world, "opportunities")
    placed = {record["id"] for _, record in world.placed["opportunities"]}
    with unit_of_work(world.factory) as session:
        repository = AnalyticsRepository(session, actor_by_username(session, "actor"))
        by_id = {
            str(i)
            for i in session.scalars(repository.readable_by_id().with_only_columns(Opportunity.id))
        }
        by_or = {
            str(i) for i in session.scalars(repository.readable().with_only_columns(Opportunity.id))
        }
    assert by_id & placed == readable_ids(world, "opportunities")
    assert by_id == by_or
