"""What a sender counts of its beats, for ``stats()`` and the periodic log line."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("heartbeat_agent")


class Tally:
    def __init__(self) -> None:
        self.sent = self.failed = self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_success: float | None = None
        self.last_url: str | None = None
        self._lock = threading.Lock()

    def succeeded(self, url: str, at: float) -> None:
        with self._lock:
            self.sent += 1
            self.consecutive_failures = 0
            self.last_success = at
            self.last_url = url

    def missed(self, error: str) -> None:
        with self._lock:
            self.failed += 1
            self.consecutive_failures += 1
            self.last_error = error

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            beats = self.sent + self.failed
            return {
                "sent": self.sent,
                "failed": self.failed,
                "success_rate": (self.sent / beats) if beats else None,
                "consecutive_failures": self.consecutive_failures,
                "last_error": self.last_error,
                "last_success": self.last_success,
            }

    def log(self) -> None:
        s = self.as_dict()
        rate = "n/a" if s["success_rate"] is None else f"{100 * s['success_rate']:.1f}%"
        log.info(
            "heartbeat stats: sent=%d failed=%d success=%s consecutive_failures=%d last_error=%s",
            s["sent"],
            s["failed"],
            rate,
            s["consecutive_failures"],
            s["last_error"],
        )
