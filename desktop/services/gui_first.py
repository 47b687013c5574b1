"""The GUI thread first: background threads give way when it has waited for the GIL.

Python's GIL has no priorities. When its holder lets go, whichever waiting thread the OS wakes
first takes it, and while a sync's threads read and build pages the GUI thread lost that race
over and over: a 5 ms timer on it ticked tens of milliseconds late. So while a
sync runs, the GUI thread beats every BEAT_MS, and a background thread that finds the last
beat late gives way between two pieces of its work: it waits until the GUI thread has had its
turn, which is the next beat.

A wait also ends when the beat grows so old that the GUI thread is plainly busy with something
of its own, or gone (BUSY): then the work goes on. Without beats (the headless sync, tests of
the engine alone) nothing ever waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BEAT_MS = 5
LATE = 0.010  # a beat older than this: the GUI thread is waiting for its turn
BUSY = 0.25  # older than this: the GUI thread is busy or gone, and waiting would not help


class GuiFirst:
    def __init__(self, clock: Callable[[], float] = time.monotonic, busy: float = BUSY) -> None:
        self._clock = clock
        self._busy = busy
        self._beat: float | None = None  # None: no GUI thread beats
        self._turn = threading.Condition()
        self.waits = 0  # how often a thread gave way

    def beat(self) -> None:
        """On the GUI thread, every BEAT_MS while background work runs."""
        with self._turn:
            self._beat = self._clock()
            self._turn.notify_all()

    def stop(self) -> None:
        """No more beats: nothing waits for one (call it before waiting for the threads)."""
        with self._turn:
            self._beat = None
            self._turn.notify_all()

    @property
    def beating(self) -> bool:
        return self._beat is not None

    def give_way(self) -> None:
        """On a background thread, between two pieces of its work: when the GUI thread's beat
        is late, wait until it beats again."""
        if not self._gui_waits():  # the usual case, without taking the lock
            return
        with self._turn:
            self.waits += 1
            self._turn.wait_for(lambda: not self._gui_waits(), timeout=self._busy)

    def _gui_waits(self) -> bool:
        beat = self._beat
        return beat is not None and LATE < self._clock() - beat < self._busy
