"""Python's garbage collector, set for a process that imports Stripe data.

Only reference cycles need the collector; a page's objects have none, and reference counting
frees them. But the collector counts container objects made since its last run, and a page of
100 objects is thousands of dicts: with Python's threshold of 700, the youngest generation was
collected about 200 times a second during an import, each run walking the pages still in
flight and holding the GIL meanwhile (the GUI thread's too). Measured (2026-12-02): a tenth of
the headless import's time went to collecting, with single pauses of 50-180 ms, and 0.75 s of
an 11 s sync in the GUI process.
"""

from __future__ import annotations

import gc

# Container objects made (and not yet freed) before the youngest generation is collected.
# With 10,000 an import runs it a few times instead of hundreds: ingest 20,000-21,800 ->
# 22,300-24,800 objects/s (CPU 37-40 -> 31-35 µs an object), and the GUI's share of
# collecting during a sync of 200,000 charges 750 -> 20 ms (two pairs each, in turns).
YOUNG_THRESHOLD = 10_000


def settle_for_imports() -> None:
    """Freeze what start-up made (it lives as long as the process, and a full collection
    walked it for 40-70 ms), and collect young objects less often (see the module's note)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
