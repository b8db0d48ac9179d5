"""Simulated services and pipeline traffic, so that a first run shows live data at once."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping

from sqlalchemy.engine import Engine

from exporter.sql.demo_rows import insert_demo_rows
from heartbeat_agent import HeartbeatSender
from heartbeat_core.sections import TableSpec

log = logging.getLogger(__name__)

# (name, seconds it keeps beating; None: for ever) — one of them falls silent to show a failure
SERVICES: tuple[tuple[str, float | None], ...] = (
    ("数据采集-1", None),
    ("collector-2", None),
    ("kafka-broker-1", None),
    ("redis-cache-1", None),
    ("后端-api-1", None),
    ("backend-api-2", None),
    ("前端-web-1", None),
    ("frontend-web-2", 45.0),
)


class Demo:
    def __init__(
        self, receiver_url: str, engine: Engine, tables: Mapping[str, TableSpec], interval: float = 5.0
    ) -> None:
        self.senders = [
            (HeartbeatSender(receiver_url, interval=interval, payload={"service": name}), lifetime)
            for name, lifetime in SERVICES
        ]
        self.engine = engine
        self.tables = tables  # the configured names: the user's tables may not have the default ones
        self._stop = threading.Event()
        self._rng = random.Random()

    def _traffic(self) -> None:
        while not self._stop.wait(2.0):
            try:
                insert_demo_rows(self.engine, self._rng.randint(5, 40), specs=self.tables, rng=self._rng)
            except Exception as exc:  # the demo must never take the monitor down
                log.warning("demo traffic not written: %s", exc)

    def start(self) -> None:
        for sender, lifetime in self.senders:
            sender.start()
            if lifetime is not None:
                timer = threading.Timer(
                    lifetime, sender.stop, kwargs={"goodbye": False}
                )  # a crash, not a goodbye
                timer.daemon = True
                timer.start()
        threading.Thread(target=self._traffic, name="demo-traffic", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for sender, _ in self.senders:
            sender.stop()
