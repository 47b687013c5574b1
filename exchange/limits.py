"""A rate limit per client address: a token bucket each, refilled continuously.

Counters only, in memory: they hold addresses and numbers, never a code or a token, and
are gone when the process ends.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_TRACKED = 100_000  # addresses remembered at once; full buckets are forgotten first


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        """0 when the request may go on; otherwise the seconds until it may."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(address, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[address] = (tokens - 1, now)
                if len(self._buckets) > MAX_TRACKED:
                    self._forget_full(now)
                return 0.0
            self._buckets[address] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for address, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate >= self.capacity:
                del self._buckets[address]
        while len(self._buckets) > MAX_TRACKED:  # a flood from many addresses: oldest go
            del self._buckets[next(iter(self._buckets))]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
