"""Every summary table the reports read, and what rewrites each whole: after an upgrade whose
migrations left one empty, or on an administrator's demand (``oppflow.migrate``, ``oppflow db
rebuild-summaries``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from oppflow.analytics import closed_deals, phase_moves, spans, stage_stints, totals

# In the order they are rebuilt; the totals are read from the records, the others from the
# change log.
REBUILDS: dict[str, Callable[[Session], None]] = {
    "totals": totals.rebuild,
    "stage_stints": stage_stints.rebuild,
    "phase_moves": phase_moves.rebuild,
    "spans": spans.rebuild,
    "closed_deals": closed_deals.rebuild,
}
