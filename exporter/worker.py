"""The one background worker: probe the database, then poll the traffic, every poll interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from exporter.pipeline import EdgeRates
from exporter.probe import DatabaseProbe
from exporter.traffic import TrafficCounter

log = logging.getLogger(__name__)


class Worker:
    """Runs in a daemon thread so that scrapes only ever read results, never wait for SQL."""

    def __init__(
        self,
        probe: DatabaseProbe,
        traffic: TrafficCounter,
        interval: float,
        rates: EdgeRates | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.probe = probe
        self.traffic = traffic
        self.interval = interval
        self.rates = rates
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def cycle(self) -> None:
        self.probe.run()
        if self.traffic.poll() and self.rates is not None:
            self.rates.observe(self.traffic.snapshot(), self.clock())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.cycle()
            except Exception:  # never let the worker die: the next cycle may well succeed
                log.exception("background cycle failed")
            self._stop.wait(self.interval)

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self._run, name="exporter-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
