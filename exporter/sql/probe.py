"""The active database probe: a real query, on a schedule, never on the scrape path."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exporter.sql.database import DeadlineRunner
from exporter.sql.failure import REASONS, Reason, classify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    up: bool
    duration: float
    timestamp: float
    reason: Reason | None = None
    error: str | None = None


TREND_PROBES = 8640  # a day and a half at the default 15 s


class DatabaseProbe:
    def __init__(
        self,
        engine: Engine,
        label: str,
        timeout: float,
        clock: Callable[[], float] = time.time,
        statement: str = "SELECT 1",
    ) -> None:
        self.engine = engine
        self.statement = sa.text(statement)
        self.label = label
        self.timeout = timeout
        self.clock = clock
        self.runner = DeadlineRunner("database-probe")
        self.failures: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self.last: ProbeResult | None = None
        self.last_success: float | None = None
        # (time, latency or None when it failed) of recent probes, for the status page's trend
        self.recent: deque[tuple[float, float | None]] = deque(maxlen=TREND_PROBES)
        self._lock = threading.Lock()

    def _query(self) -> None:
        with self.runner.connect(self.engine) as connection:
            connection.execute(self.statement).scalar_one()

    def run(self) -> ProbeResult:
        started = time.perf_counter()
        now = self.clock()
        try:
            self.runner.run(self._query, self.timeout)
        except Exception as exc:
            reason = classify(exc)
            message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
            log.warning("database probe failed (%s): %s", reason, message)
            if reason in ("timeout", "connect"):
                self.engine.dispose()  # start afresh; a stuck connection is not reused
            result = ProbeResult(False, time.perf_counter() - started, now, reason, message)
        else:
            result = ProbeResult(True, time.perf_counter() - started, now)
        with self._lock:
            self.last = result
            self.recent.append((now, result.duration if result.up else None))
            if result.up:
                self.last_success = now
            elif result.reason:
                self.failures[result.reason] += 1
        return result

    def trend(self, start: float, end: float) -> list[tuple[float, float | None]]:
        with self._lock:
            return [(t, latency) for t, latency in self.recent if start <= t <= end]

    def snapshot(self) -> tuple[ProbeResult | None, float | None, dict[str, int]]:
        with self._lock:
            return self.last, self.last_success, dict(self.failures)
