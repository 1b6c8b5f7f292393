"""Users' time zone and language, through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.errors import PermissionDenied, ValidationFailed
from oppflow.models import User
from oppflow.security import preferences
from oppflow.security import service as security_service
from oppflow.security.preferences import PreferencesUpdate
from tests.web.support import make_user

Factory = sessionmaker[Session]


def set_as(factory: Factory, username: str, target: str, **values: str | None) -> None:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        user_id = security_service.actor_by_username(session, target).user_id
        data = PreferencesUpdate.model_validate(values)
        preferences.set_preferences(session, actor=actor, user_id=user_id, data=data)


def stored(factory: Factory, username: str) -> tuple[str | None, str | None]:
    with unit_of_work(factory) as session:
        user_id = security_service.actor_by_username(session, username).user_id
        user = session.get(User, user_id)
        assert user is not None
        return user.time_zone, user.language


def test_users_set_their_own_and_null_goes_back_to_the_browser(factory: Factory) -> None:
    make_user(factory, "alice")
    set_as(factory, "alice", "alice", time_zone="Asia/Tokyo", language="fr")
    assert stored(factory, "alice") == ("Asia/Tokyo", "fr")
    set_as(factory, "alice", "alice", language="en")
    assert stored(factory, "alice") == ("Asia/Tokyo", "en")
    set_as(factory, "alice", "alice", time_zone=None)
    assert stored(factory, "alice") == (None, "en")


@pytest.mark.parametrize(
    "values",
    [{"time_zone": "Mars/Olympus"}, {"time_zone": "../etc/passwd"}, {"language": "de"}],
)
def test_unknown_zones_and_languages_are_refused_and_change_nothing(
    factory: Factory, values: dict[str, str]
) -> None:
    make_user(factory, "alice")
    with pytest.raises(ValidationFailed):
        set_as(factory, "alice", "alice", **values)
    assert stored(factory, "alice") == (None, None)


def test_another_users_preferences_need_write_on_users(factory: Factory) -> None:
    make_user(factory, "alice")
    make_user(factory, "bob")
    make_user(factory, "root", roles=["system-administrator"])
    with pytest.raises(PermissionDenied):
        set_as(factory, "alice", "bob", time_zone="Europe/Paris")
    set_as(factory, "root", "bob", time_zone="Europe/Paris")
    assert stored(factory, "bob") == ("Europe/Paris", None)
