"""The one background worker: probe the database, then poll the traffic, every poll interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from exporter.sql.probe import DatabaseProbe
from exporter.sql.traffic import TrafficCounter
from exporter.state.pipeline import EdgeRates
from exporter.state.rollup import Rollup
from heartbeat_core.outage import Outage

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
        rollup: Rollup | None = None,
    ) -> None:
        self.probe = probe
        self.rollup = rollup
        self._rolled: dict[str, float] = {}  # per table, the poll whose counts the rollup has
        self._rollup_outage = Outage(
            log, "cannot write the traffic rollup", "the traffic rollup is written again"
        )
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
        if self.rollup is not None:
            self._roll(self.rollup)

    def _roll(self, rollup: Rollup) -> None:
        """Hand each new successful poll's counts to the rollup, once."""
        for name, counter in self.traffic.tables.items():
            state = counter.state
            if state.last_success is None or self._rolled.get(name) == state.last_success:
                continue
            try:
                rollup.write(name, state.delta, state.last_success)
            except Exception as exc:  # redis down: these counts are lost to the rollup, so its
                rollup.forget(name)  # cover restarts, and SQL counts the minutes it missed
                self._rollup_outage.failed(exc)
                continue
            self._rollup_outage.ok()
            self._rolled[name] = state.last_success

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
        """Stop polling; the rollup's lease, if held, goes back at once (a rolling update hands the
        rollup to the other exporter at its next poll, not when the lease runs out)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.rollup is not None:
            try:
                if self.rollup.release():
                    log.info("gave back the traffic rollup's lease")
            except Exception as exc:  # redis down: the lease runs out by itself
                log.warning("cannot give back the traffic rollup's lease: %s", exc)
