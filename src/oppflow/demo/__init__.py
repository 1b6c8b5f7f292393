"""Demo data: the small demo played through the services (:mod:`.pipeline`, :mod:`.related`),
and the bulk generator of data sets at size (:mod:`.bulk`, :mod:`.stories`, :mod:`.loader`).

The names callers import stay here, so ``from oppflow.demo import load_demo`` reads as before.
"""

from oppflow.demo.pipeline import (
    DEMO_USERS,
    PROBABILITY,
    DemoCredentials,
    DemoUser,
    is_empty,
    load_demo,
)

__all__ = ["DEMO_USERS", "PROBABILITY", "DemoCredentials", "DemoUser", "is_empty", "load_demo"]
