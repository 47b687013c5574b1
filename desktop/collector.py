"""Python's garbage collector, set for a process that imports Stripe data.

Only reference cycles need the collector; a page's objects have none, and reference counting
frees them. But the collector counts container objects made since its last run, and a page of
100 objects is thousands of dicts: with Python's threshold of 700, the youngest generation was
collected hundreds of times a second during an import, each run walking the pages still in
flight and holding the GIL meanwhile (the GUI thread's too).
"""

from __future__ import annotations

import gc

# Container objects made (and not yet freed) before the youngest generation is collected:
# enough for a few pages, so an import runs it a few times a second instead of hundreds.
YOUNG_THRESHOLD = 10_000


def settle_for_imports() -> None:
    """Freeze what start-up made (it lives as long as the process, and every full collection
    would walk it again), and collect young objects less often (see the module's note)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
