"""The alerts firing now, read from Alertmanager's API for the status page, and a test alert.

Alertmanager is the one place that knows what pages: which alerts are active, not silenced and
not inhibited. The page asks it rather than re-evaluating rules. One read every ``CACHE_SECONDS``
serves every open page, so a hundred viewers cost Alertmanager one request per 5 s. An
Alertmanager that cannot be reached is logged once, shown on the page, and read again on the next
request after the cache expires: nothing to restart.

The test notification is an alert posted to Alertmanager like Prometheus posts them, so it takes
the shipped route for its severity, through the configured receivers: what the button proves is
the path a real page takes, not a sender of our own.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heartbeat_core.errors import ApiError
from heartbeat_core.outage import Outage

log = logging.getLogger(__name__)

WATCHDOG = "HeartbeatWatchdog"
TEST_ALERT = "HeartbeatTestNotification"
CACHE_SECONDS = 5.0
TIMEOUT = 2.0
TEST_LASTS = 300.0  # the test alert resolves itself after five minutes
MOST_SHOWN = 200  # alerts in one answer; a storm beyond that is counted, not listed


@dataclass(frozen=True)
class Firing:
    """One read of Alertmanager: its active alerts (its own JSON objects), or why there are none."""

    reachable: bool
    alerts: tuple[Mapping[str, Any], ...] = ()
    error: str = ""
    at: float = 0.0

    @property
    def watchdog(self) -> bool:
        """The always-firing alert arrived: Prometheus evaluates rules and reaches Alertmanager."""
        return any(a.get("labels", {}).get("alertname") == WATCHDOG for a in self.alerts)

    @property
    def paging(self) -> list[Mapping[str, Any]]:
        return [a for a in self.alerts if a.get("labels", {}).get("alertname") != WATCHDOG]


@dataclass
class FiringAlerts:
    url: str
    clock: Callable[[], float] = time.time
    timeout: float = TIMEOUT
    cache_seconds: float = CACHE_SECONDS
    _last: Firing | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _outage: Outage = field(init=False)

    def __post_init__(self) -> None:
        self._outage = Outage(
            log, f"Alertmanager at {self.url} cannot be read", f"Alertmanager at {self.url} can be read again"
        )

    def read(self) -> Firing:
        with self._lock:  # concurrent pages share one request
            now = self.clock()
            if self._last is None or now - self._last.at >= self.cache_seconds:
                self._last = self._fetch(now)
            return self._last

    def _fetch(self, now: float) -> Firing:
        query = "active=true&silenced=false&inhibited=false&unprocessed=false"
        try:
            alerts = self._call("GET", f"/api/v2/alerts?{query}")
        except (OSError, ValueError) as error:
            self._outage.failed(error)  # reported once, its end too
            return Firing(False, error=f"Alertmanager cannot be reached ({type(error).__name__})", at=now)
        self._outage.ok()
        if not isinstance(alerts, list):
            return Firing(False, error="Alertmanager answered something other than a list of alerts", at=now)
        return Firing(True, tuple(a for a in alerts if isinstance(a, dict)), at=now)

    def send_test(self, requested_by: str) -> Mapping[str, Any]:
        """Post one critical test alert, resolving itself after ``TEST_LASTS``; each has an id of its
        own, so a second click is a new alert rather than a repeat Alertmanager would swallow."""
        now = self.clock()
        alert = {
            "labels": {"alertname": TEST_ALERT, "severity": "critical", "test_id": secrets.token_hex(4)},
            "annotations": {
                "summary": "A test notification from the status page",
                "description": f"{requested_by} asked the status page to send a test notification; "
                "it resolves itself after five minutes.",
            },
            "startsAt": _rfc3339(now),
            "endsAt": _rfc3339(now + TEST_LASTS),
        }
        try:
            self._call("POST", "/api/v2/alerts", [alert])
        except (OSError, ValueError) as error:
            raise ApiError(
                503, "alertmanager_unavailable", f"Alertmanager cannot be reached ({type(error).__name__})"
            ) from None
        with self._lock:
            self._last = None  # the next read shows it
        return alert

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(self.url.rstrip("/") + path, data, headers, method=method)  # noqa: S310 (configured URL)
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
            text = answer.read(4 * 1024 * 1024)
        return json.loads(text) if text.strip() else None


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
