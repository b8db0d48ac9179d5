"""Login throttling: failed logins counted per client address and per user over a sliding minute.

Two keys, because each alone is easy to walk around: one address guessing many users, or many
addresses guessing one user. Memory stays bounded: only the most recently failing keys are kept.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from heartbeat_core.errors import ApiError


class LoginThrottle:
    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        clock: Callable[[], float] = time.time,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """429 with ``Retry-After`` when any key has used up its failures for now."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        wait = max(waits, default=0.0)
        if wait > 0:
            raise ApiError(
                429,
                "too_many_logins",
                "too many failed logins from this address or for this user; try again later",
                retry_after=max(1, math.ceil(wait)),
            )

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def _wait(self, key: str, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.period - now
