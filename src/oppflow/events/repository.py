"""Every query on the events, with their row-level security."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    cast,
    exists,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from oppflow.events.cursor import Cursor
from oppflow.models import Event, Lead, Opportunity, Quote
from oppflow.security.actor import Actor
from oppflow.security.scope import (
    ownership_reach,
    read_scope,
    table_of,
    through_opportunity,
)

# On PostgreSQL, transactions commit out of `seq` order: only the rows of transactions older
# than the oldest one still running are final, so readers stop there.
_SETTLED = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger())


def _readable_of(actor: Actor, model: type[Opportunity] | type[Lead]) -> ColumnElement[bool]:
    """Events about a ``model`` record: readable now, or, once the record is deleted, reached
    by its last owner and unit at the caller's depth (shares and teams went with it)."""
    current = exists().where(model.id == Event.record_id, read_scope(actor, model))
    gone = not_(exists().where(model.id == Event.record_id))
    depth = actor.depth(table_of(model), "read")
    by_owner = ownership_reach(actor, depth, Event.owner_id, Event.owning_business_unit_id)
    return and_(
        Event.record_type == table_of(model),
        or_(current, and_(gone, by_owner)),
    )


def _readable_quotes(actor: Actor) -> ColumnElement[bool]:
    """Events about quotes: their quote readable now (through its opportunity), or, once it
    is gone, its opportunity's last owner and unit reached at the quote read depth."""
    current = exists().where(
        Quote.id == Event.record_id,
        Opportunity.id == Quote.opportunity_id,
        through_opportunity(actor, "quote", "read"),
    )
    gone = not_(exists().where(Quote.id == Event.record_id))
    depth = actor.depth("quote", "read")
    by_owner = ownership_reach(actor, depth, Event.owner_id, Event.owning_business_unit_id)
    return and_(Event.record_type == "quote", or_(current, and_(gone, by_owner)))


def readable(actor: Actor) -> ColumnElement[bool]:
    """The events ``actor`` may read."""
    return or_(_readable_of(actor, Opportunity), _readable_of(actor, Lead), _readable_quotes(actor))


def _types(patterns: Sequence[str]) -> ColumnElement[bool]:
    if not patterns:
        return true()
    exact = [p for p in patterns if not p.endswith(".*")]
    prefixes = [Event.type.startswith(p[:-1], autoescape=True) for p in patterns if p not in exact]
    return or_(Event.type.in_(exact), *prefixes)


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _settled(self) -> ColumnElement[bool]:
        if self.session.get_bind().dialect.name == "postgresql":
            return Event.tx_id < cast(_SETTLED, BigInteger)
        return true()

    def after(self, cursor: Cursor, limit: int) -> Select[Event]:
        """Settled events after ``cursor``, in feed order."""
        return (
            select(Event)
            .where(tuple_(Event.tx_id, Event.seq) > tuple_(cursor.tx_id, cursor.seq))
            .where(self._settled())
            .order_by(Event.tx_id, Event.seq)
            .limit(limit)
        )

    def batch_after(self, cursor: Cursor, limit: int) -> list[Event]:
        return list(self.session.scalars(self.after(cursor, limit)))

    def feed(self, actor: Actor, cursor: Cursor, types: Sequence[str], limit: int) -> list[Event]:
        """The events after ``cursor`` that ``actor`` may read, of ``types`` (``x.*`` allowed)."""
        query = self.after(cursor, limit).where(readable(actor), _types(types))
        return list(self.session.scalars(query))

    def last(self) -> Cursor:
        """The position of the newest settled event (the start when there is none)."""
        query = select(Event.tx_id, Event.seq).where(self._settled())
        found = self.session.execute(
            query.order_by(Event.tx_id.desc(), Event.seq.desc()).limit(1)
        ).first()
        return Cursor(found[0], found[1]) if found else Cursor(0, 0)
