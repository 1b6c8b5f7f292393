"""Python's cyclic garbage collector, tuned where oppflow's work is unlike a script's: paused
while a bulk load builds a batch (:func:`paused`), and set up for serving in each worker
process (:func:`tuned_for_serving`). Decision 0050 gives the measurements."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (less deallocations) between two collections of the youngest generation, when
# serving. With Python's default of 700, 1,500 list pages of 50 records made 1,353 of them,
# each walking a page's rows while they were still in use (2026-12-08).
SERVING_THRESHOLD = 10_000

_pauses = 0
_enabled_before = False
_pausing = threading.Lock()


def tuned_for_serving() -> None:
    """For a worker process once its application is built: what exists now (modules, routes,
    schemas, mapped classes) is set aside from every later collection, and the youngest
    generation is collected after :data:`SERVING_THRESHOLD` allocations rather than 700.
    A request's objects mostly die with it, before a collection would walk them."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(SERVING_THRESHOLD, middle, old)


@contextmanager
def paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a batch is built and loaded.

    A batch keeps tens of thousands of row dicts alive until it is loaded (about 48,000 for
    2,000 opportunities), and each time the survivors grow by a quarter the collector walks
    every object of the process: a fifth of a bulk import's time (2026-12-08). The rows hold
    no cycles, so they are freed as soon as the batch is done; whatever cyclic garbage the
    batch made is collected once the collector is back.

    Re-entrant across threads (the worker imports on a thread of ``oppflow serve`` on
    SQLite): the collector comes back when the last pause ends, and only if it was on before
    the first.
    """
    global _pauses, _enabled_before
    with _pausing:
        if _pauses == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pausing:
            _pauses -= 1
            if _pauses == 0 and _enabled_before:
                gc.enable()
