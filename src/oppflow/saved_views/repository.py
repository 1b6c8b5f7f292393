"""Saved views, always those of one user: nobody reads or deletes another's."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.models import SavedView


class SavedViewRepository:
    def __init__(self, session: Session, user_id: uuid.UUID) -> None:
        self.session = session
        self.user_id = user_id

    def list(self) -> list[SavedView]:
        query = select(SavedView).where(SavedView.user_id == self.user_id)
        return list(self.session.scalars(query.order_by(SavedView.name)))

    def count(self) -> int:
        query = select(func.count()).where(SavedView.user_id == self.user_id)
        return int(self.session.scalar(query.select_from(SavedView)) or 0)

    def get(self, view_id: uuid.UUID) -> SavedView:
        query = select(SavedView).where(SavedView.id == view_id, SavedView.user_id == self.user_id)
        found = self.session.scalar(query)
        if found is None:
            raise NotFound(f"No saved view {view_id}.")
        return found

    def find_by_name(self, name: str) -> SavedView | None:
        query = select(SavedView).where(SavedView.user_id == self.user_id, SavedView.name == name)
        return self.session.scalar(query)

    def add(self, view: SavedView) -> SavedView:
        self.session.add(view)
        self.session.flush()
        return view

    def delete(self, view: SavedView) -> None:
        self.session.delete(view)
        self.session.flush()
