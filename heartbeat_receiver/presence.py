"""A receiver process announces itself in Redis, so the exporter knows ingest is possible.

One small write every ``ttl / 5`` seconds per process, never one per heartbeat. When every
receiver is gone, or Redis refuses writes (the announcement is a write too), the exporter sees
no live receiver and calls ingest blind: services become ``unknown``, not ``down``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading

from heartbeat_core.outage import Outage
from heartbeat_core.store import HeartbeatStore

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, store: HeartbeatStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self.every = ttl / 5
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._stop = threading.Event()
        self._outage = Outage(
            log, "cannot announce this receiver in the store", "announcing this receiver in the store again"
        )

    def announce(self) -> bool:
        try:
            self.store.receivers.announce(self.id, self.ttl)
        except Exception as exc:  # redis errors, a cluster that cannot be reached: all mean not now
            self._outage.failed(exc)
            return False
        self._outage.ok()
        return True

    def start(self) -> Presence:
        self.announce()  # at once: the exporter should not see a starting receiver as absent
        threading.Thread(target=self._run, name="receiver-presence", daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.announce()

    def stop(self) -> None:
        self._stop.set()
