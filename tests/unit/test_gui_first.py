"""Background threads give way to the GUI thread only while its beat is late, and never for long."""

from __future__ import annotations

import threading

from desktop.services.gui_first import BUSY, LATE, GuiFirst


class Clock:
    """Time that moves only when the test says; `waiting` is set once a thread other than the
    test's has read it twice (the second read is give_way's, under its lock, about to wait)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waiting = threading.Event()
        self._reads = 0
        self._test = threading.get_ident()

    def __call__(self) -> float:
        if threading.get_ident() != self._test:
            self._reads += 1
            if self._reads == 2:
                self.waiting.set()
        return self.now


def give_way_in_a_thread(first: GuiFirst) -> threading.Thread:
    thread = threading.Thread(target=first.give_way, name="background")
    thread.start()
    return thread


def test_without_beats_nothing_waits():
    clock = Clock()
    first = GuiFirst(clock)
    clock.now += 10
    first.give_way()
    assert first.waits == 0


def test_a_recent_beat_lets_the_work_go_on():
    clock = Clock()
    first = GuiFirst(clock)
    first.beat()
    clock.now += LATE / 2
    first.give_way()
    assert first.waits == 0


def test_a_late_beat_holds_the_work_until_the_gui_thread_beats_again():
    clock = Clock()
    first = GuiFirst(clock, busy=60)  # a wait that did not end at the beat would last a minute
    first.beat()
    clock.now += LATE * 2
    background = give_way_in_a_thread(first)
    assert clock.waiting.wait(10)
    assert background.is_alive()
    first.beat()
    background.join(10)
    assert not background.is_alive()
    assert first.waits == 1


def test_stopping_the_beats_lets_a_waiting_thread_go_on():
    clock = Clock()
    first = GuiFirst(clock, busy=60)
    first.beat()
    clock.now += LATE * 2
    background = give_way_in_a_thread(first)
    assert clock.waiting.wait(10)
    first.stop()
    background.join(10)
    assert not background.is_alive()
    clock.now += LATE * 2
    first.give_way()  # no beats any more: no wait
    assert first.waits == 1


def test_a_gui_thread_busy_for_long_is_not_waited_for():
    clock = Clock()
    first = GuiFirst(clock)
    first.beat()
    clock.now += BUSY * 2
    first.give_way()
    assert first.waits == 0
