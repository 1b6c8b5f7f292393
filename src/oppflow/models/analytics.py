"""The change log: the single source every pipeline report is computed from (ANALYTICS.md §1)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.models.base import SEQUENCE_ID, Base


class OpportunityChange(Base):
    """Append-only: one row per tracked field of an opportunity that took a new value.

    ``effective_at`` is when the value became true, ``recorded_at`` when oppflow learned it;
    they differ only for history imported as it was. Values are text (ISO dates, decimal
    strings, UUIDs) so that one column holds every field's type exactly.
    """

    __tablename__ = "opportunity_changes"
    __table_args__ = (
        Index("ix_opportunity_changes_timeline", "opportunity_id", "effective_at", "seq"),
        # Every column a report streams, so an opportunity's rows of some fields are read
        # from the index alone (migration 0015).
        Index(
            "ix_opportunity_changes_covering",
            "opportunity_id",
            "field",
            "effective_at",
            "seq",
            "new_value",
            "recorded_at",
        ),
        # What changed in a period: a report over one starts from it.
        Index("ix_opportunity_changes_period", "field", "effective_at", "opportunity_id"),
    )

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(String(24))
    old_value: Mapped[str | None] = mapped_column(String(64), default=None)
    new_value: Mapped[str | None] = mapped_column(String(64), default=None)
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class PipelineTotal(Base):
    """The open pipeline summed per owner, owning unit, process and stage: kept in the same
    transaction as every change that moves it (``analytics/totals.py``), so the funnel of now
    reads a few hundred rows whatever the number of opportunities.

    Sums are exact decimals kept as text (SQLite has no exact decimal arithmetic). Weighted
    value = ``probable_sum`` / 100 + the stage's default probability × ``unweighted_sum`` / 100.
    """

    __tablename__ = "pipeline_totals"

    bucket: Mapped[str] = mapped_column(String(300), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    active_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    pipeline_phase: Mapped[str | None] = mapped_column(String(40), default=None)
    open_count: Mapped[int] = mapped_column(default=0)
    # Σ estimated value; Σ value × own probability; Σ value of those with no probability.
    value_sum: Mapped[str] = mapped_column(String(48), default="0")
    probable_sum: Mapped[str] = mapped_column(String(48), default="0")
    unweighted_sum: Mapped[str] = mapped_column(String(48), default="0")


class ForecastTotal(Base):
    """Open and won value per owner, owning unit, process, stage, forecast category and close
    month (estimated when open, actual when won; ``none`` for no date), kept like
    :class:`PipelineTotal`, so the forecast of now reads a few thousand rows at most."""

    __tablename__ = "forecast_totals"

    bucket: Mapped[str] = mapped_column(String(300), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    active_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    forecast_category: Mapped[str] = mapped_column(String(16))
    month: Mapped[str] = mapped_column(String(7))
    open_count: Mapped[int] = mapped_column(default=0)
    value_sum: Mapped[str] = mapped_column(String(48), default="0")
    probable_sum: Mapped[str] = mapped_column(String(48), default="0")
    unweighted_sum: Mapped[str] = mapped_column(String(48), default="0")


class TotalDelta(Base):
    """A change to a maintained total, appended by the transaction that made it and folded
    into :class:`PipelineTotal` or :class:`ForecastTotal` later (``analytics/totals.py``).

    Writers only append here, so two writers never wait on each other's total rows; readers
    add the unfolded deltas to the totals in the same statement. ``summary`` names the total
    (``pipeline`` or ``forecast``); the key columns of the other stay empty.
    """

    __tablename__ = "total_deltas"

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    summary: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[uuid.UUID]
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    active_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    pipeline_phase: Mapped[str | None] = mapped_column(String(40), default=None)
    forecast_category: Mapped[str | None] = mapped_column(String(16), default=None)
    month: Mapped[str | None] = mapped_column(String(7), default=None)
    open_count: Mapped[int]
    value_sum: Mapped[str] = mapped_column(String(48))
    probable_sum: Mapped[str] = mapped_column(String(48))
    unweighted_sum: Mapped[str] = mapped_column(String(48))


class ClosedDeal(Base):
    """A stretch of time over which an opportunity stood closed (won or lost) with the same
    values, as its change log says: kept in the same transaction as every close, reopen and
    backdated change (``analytics/closed_deals.py``), so win/loss and calibration read one
    row per deal, not its whole history, now and as of any instant.

    A row holds from ``from_us`` until ``to_us`` (excluded), microseconds since 1970-01-01
    UTC as in :class:`OpportunitySpan`; the row of a deal closed now ends at
    :data:`OPEN_END`. A reopen ends it; a change while closed (an assign, imported
    history) ends it and begins the next. ``phases_reached`` holds the pipeline
    phases entered before the close, in order, joined by ``|``; the ``outlook_`` columns are
    its state 30 days before the close (the prediction calibration scores), kept raw so that
    a changed stage default applies to them too; ``owner_id`` and ``process_key`` are the
    log's text, as the spans keep them, for the filters as of an instant.
    """

    __tablename__ = "closed_deals"
    __table_args__ = (
        # Win/loss reads a period's deals, now or at an instant: from the index alone, but for
        # an owner or process filter at an instant (the row's own).
        Index(
            "ix_closed_deals_period",
            "actual_close_date",
            "to_us",
            "from_us",
            "won",
            "cycle_microseconds",
            "closed_value",
            "status_reason",
            "phases_reached",
            "opportunity_id",
        ),
        # Calibration groups the deals closed now by these: read in their order from the
        # index alone; at an instant, the rows that end after it, from the index alone.
        Index(
            "ix_closed_deals_calibration",
            "to_us",
            "won",
            "phases_reached",
            "outlook_state",
            "outlook_probability",
            "outlook_process_key",
            "outlook_stage",
            "from_us",
        ),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    from_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    to_us: Mapped[int] = mapped_column(BigInteger)
    won: Mapped[bool]
    born_at: Mapped[datetime]
    closed_at: Mapped[datetime]
    # The record's close date (the reports' period).
    actual_close_date: Mapped[date | None] = mapped_column(default=None)
    # Birth to close, exactly; and what win/loss reads of the record, fixed while it is
    # closed (a closed opportunity is read-only until reopened).
    cycle_microseconds: Mapped[int] = mapped_column(BigInteger)
    closed_value: Mapped[str] = mapped_column(String(48))
    status_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    phases_reached: Mapped[str] = mapped_column(String(400), default="")
    outlook_state: Mapped[str | None] = mapped_column(String(16), default=None)
    outlook_probability: Mapped[int | None] = mapped_column(default=None)
    outlook_process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    outlook_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    owner_id: Mapped[str | None] = mapped_column(String(36), default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)


class StageStint(Base):
    """A stay of an open opportunity in one stage of one process, as its change log says:
    kept in the same transaction as every move, close, reopen and backdated change
    (``analytics/stage_stints.py``), so time in stage of now reads the stints entered in its
    period, not every opportunity's history.

    Instants are microseconds since 1970-01-01 UTC: a stay's length is then exact integer
    arithmetic on both databases, and reading a million of them parses no timestamp.
    ``left_us`` is empty while the opportunity is still there.
    """

    __tablename__ = "stage_stints"
    __table_args__ = (
        # Time in stage reads a period's stints: from the index alone.
        Index(
            "ix_stage_stints_period",
            "entered_us",
            "process_key",
            "stage",
            "left_us",
            "opportunity_id",
        ),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    entered_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    left_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    stage: Mapped[str] = mapped_column(String(64))


class PhaseMove(Base):
    """An entry into or an exit from a pipeline phase of an open opportunity, as its change
    log says: kept in the same transaction as every move, close, reopen and backdated change
    (``analytics/phase_moves.py``), so flow of now counts a period's rows.

    ``move`` is ``entry`` or where an exit went: ``next`` (a phase of a higher number or the
    same), ``back``, ``won`` or ``lost``; ``reopened`` marks an entry by a reopen. ``at_us`` is
    microseconds since 1970-01-01 UTC, as in :class:`StageStint`.
    """

    __tablename__ = "phase_moves"
    __table_args__ = (
        # Flow reads a period's moves: from the index alone.
        Index("ix_phase_moves_period", "at_us", "phase", "move", "reopened", "opportunity_id"),
        # A cohort's members' entries, each member's in time order: from the index alone (0020).
        Index("ix_phase_moves_entries", "opportunity_id", "move", "at_us", "phase"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    at_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    phase: Mapped[str] = mapped_column(String(40), primary_key=True)
    move: Mapped[str] = mapped_column(String(8))
    reopened: Mapped[bool] = mapped_column(default=False)


class OpportunitySpan(Base):
    """A stretch of time over which an opportunity's reported fields all held the same values,
    as its change log says: kept in the same transaction as every change of one of them
    (``analytics/spans.py``), so a report as of a past instant reads the spans that hold it
    from one index, not each field's value from the log, opportunity by opportunity.

    A span holds from ``from_us`` until ``to_us`` (excluded), microseconds since 1970-01-01 UTC
    as in :class:`StageStint`; the span that still holds ends at :data:`OPEN_END`, not NULL,
    so that "holds at t" is one range of one index. Values are the log's text, decoded as
    the log's are.
    """

    __tablename__ = "opportunity_spans"
    __table_args__ = (
        # The snapshot funnel and the forecast as of t: the open spans that end after t, from
        # the index alone.
        Index(
            "ix_opportunity_spans_open",
            "to_us",
            "from_us",
            "opportunity_id",
            "pipeline_phase",
            "process_key",
            "active_stage",
            "estimated_value",
            "probability",
            "estimated_close_date",
            "owner_id",
            "forecast_category",
            # The partial condition's column: without it SQLite reads each span's row (0024).
            "state",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        # The forecast as of t: the won spans that end after t, from the index alone (0022),
        # their ids tested against a salesperson's readable ids there too (0026).
        Index(
            "ix_opportunity_spans_won",
            "to_us",
            "from_us",
            "opportunity_id",
            "actual_close_date",
            "actual_value",
            "estimated_value",
            "owner_id",
            "process_key",
            "state",
            sqlite_where=text("state = 'won'"),
            postgresql_where=text("state = 'won'"),
        ),
        # On SQLite, kept in the order of the key: an opportunity's spans lie together, and
        # the one holding an instant is read with its key (0025).
        {"sqlite_with_rowid": False},
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    from_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    to_us: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str | None] = mapped_column(String(16), default=None)
    pipeline_phase: Mapped[str | None] = mapped_column(String(40), default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    active_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    estimated_value: Mapped[str | None] = mapped_column(String(40), default=None)
    probability: Mapped[str | None] = mapped_column(String(8), default=None)
    estimated_close_date: Mapped[str | None] = mapped_column(String(10), default=None)
    owner_id: Mapped[str | None] = mapped_column(String(36), default=None)
    forecast_category: Mapped[str | None] = mapped_column(String(16), default=None)
    actual_close_date: Mapped[str | None] = mapped_column(String(10), default=None)
    actual_value: Mapped[str | None] = mapped_column(String(40), default=None)


# The end of a span that still holds: the largest BIGINT.
OPEN_END = 2**63 - 1
