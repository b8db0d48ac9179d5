"""HeartbeatSender: one heartbeat every ``interval`` seconds from a daemon thread.

Each beat carries ``interval``, ``seq``, ``instance``, ``timestamp`` and ``rtt_ms`` (the payload's
own fields win), ``system=True``'s figures and ``report()``'s words. Beats no URL took are cached
(``cache_size``) and go with the next one that gets through, in one ``POST /heartbeat/batch``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .cache import BeatCache, batch_url
from .limits import MAX_BATCH
from .policy import RetryPolicy, next_due
from .runs import job_run
from .system import SystemStats
from .tally import Tally
from .transport import SendError, Transport, checked_urls, encode

if TYPE_CHECKING:  # annotations alone name it, so Python 3.8 and 3.9 never evaluate the union
    Payload = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

log = logging.getLogger("heartbeat_agent")


class HeartbeatSender:
    """Never raises into the host program: every failure is counted, logged and retried.
    ``clock``, ``wall_clock``, ``rand`` and ``wait`` are injectable for tests; ``retry`` is the
    whole retry policy (``max_attempts``, ``backoff_base``, ``backoff_cap`` and ``rand`` make one)."""

    def __init__(
        self,
        urls: Sequence[str] | str | None = None,
        interval: float = 30.0,
        timeout: float = 10.0,
        payload: Payload | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        signed: bool = False,
        max_attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        stats_log_interval: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        progress: Callable[[], Mapping[str, float]] | None = None,
        system: bool = False,
        version: str | None = None,
        cache_size: int = 120,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.urls = checked_urls(urls)
        if interval <= 0 or timeout <= 0:
            raise ValueError("interval and timeout must be positive")
        if not 0 <= cache_size <= MAX_BATCH - 1:
            raise ValueError(f"cache_size must be between 0 and {MAX_BATCH - 1}")
        self.retry = retry or RetryPolicy(max_attempts, backoff_base, backoff_cap, rand)
        self.interval = float(interval)
        self.payload: Payload = payload if payload is not None else {"type": 4}
        self.stats_log_interval = stats_log_interval
        self.clock = clock
        self.wall_clock = wall_clock
        self.progress = progress  # ever-growing counters, e.g. lambda: {"records_out": n}
        self._stop = threading.Event()
        self.transport = Transport(
            self.urls, float(timeout), headers, token, signed, self._stop, clock, wall_clock
        )
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._current = 0  # index of the URL that worked last
        self.tally = Tally()
        self.instance = uuid.uuid4().hex[:16]
        self._seq = -1  # the sequence number of the beat being sent
        self.system = SystemStats(version, clock) if system else None
        self._report: dict[str, Any] = {}  # what report() said, sent with every beat until changed
        self.cache = BeatCache(cache_size)

    @property
    def headers(self) -> dict[str, str]:
        return self.transport.headers

    # -- public face -------------------------------------------------------------------------

    def start(self) -> HeartbeatSender:
        """Start the daemon thread; the first beat goes out at once."""
        with self._lock:
            if self._thread and self._thread.is_alive():
                return self
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_safely, name="heartbeat-agent", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0, *, goodbye: bool = True) -> None:
        """Stop sending; a request in flight is cut off so this returns promptly.

        ``goodbye``: then send one heartbeat with ``"status": "stopping"`` (best effort, no
        retry, within ``timeout``), so the monitor shows the service paused instead of paging.
        """
        deadline = self.clock() + timeout
        was_running = self.running
        self._stop.set()
        self.transport.cut()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if goodbye and was_running:
            self.send_goodbye(max(0.1, deadline - self.clock()))

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def report(
        self, status: str = "ok", message: str | None = None, metrics: Mapping[str, float] | None = None
    ) -> None:
        """What the following beats say of the service, until the next call.

        ``status``: ``"ok"``, ``"warning"`` or ``"failing"``; ``message``: for a person to read;
        ``metrics``: gauges by name (they win over ``system=True``'s of the same name).
        """
        report: dict[str, Any] = {"status": status}
        if message is not None:
            report["message"] = message
        if metrics:
            report["metrics"] = dict(metrics)
        with self._lock:
            self._report = report

    def stats(self) -> dict[str, Any]:
        tally = self.tally.as_dict()
        return {
            **tally,
            "attempts": self.transport.attempts,
            "url": self.tally.last_url or self.urls[self._current],
            "urls": self.transport.per_url_stats(),
            "cached": len(self.cache),
        }

    def run_foreground(self, count: int | None = None) -> None:
        """The schedule in the calling thread (the CLI); ``stop()`` from elsewhere ends it."""
        self.run(self._stop.wait, count=count)

    def send_goodbye(self, timeout: float | None = None) -> bool:
        """One goodbye to the URL that worked last; True when the receiver took it. Never raises."""
        url = self.urls[self._current]
        # a number of its own: a beat still in flight when it was sent, arriving after it, is
        # older by its seq and changes nothing (else it would undo the goodbye, and page)
        self._seq += 1
        try:
            self.transport.post(
                url, encode(self._fields({"status": "stopping"})), final=True, timeout=timeout
            )
        except Exception as exc:  # best effort: the process is on its way out
            log.warning("goodbye to %s failed: %s", url, exc)
            return False
        log.debug("goodbye sent to %s", url)
        return True

    def send_once(self, extra: Mapping[str, Any] | None = None) -> bool:
        """One beat with its retries (failover, backoff); True when the receiver took it.

        ``extra``: fields of this beat alone (a job's ``event`` and ``run_id``).
        """
        return self._beat(self.clock() + self.interval, extra=extra)

    def job(self, run_id: str | None = None) -> contextlib.AbstractContextManager[str]:
        """One run of a job (SPEC §13): a start beat, the block, then its finish with the run's
        duration (``metrics.run_seconds``); an exception in the block makes the finish failing,
        with its summary as the message, and goes on. Yields the run's id."""
        return job_run(self, run_id)

    def log_stats(self) -> None:
        self.tally.log()

    # -- the loop ----------------------------------------------------------------------------

    def _run_safely(self) -> None:
        try:
            self.run(self._stop.wait)
        except Exception:  # a bug of ours must never take the host program down
            log.exception("heartbeat agent stopped by an unexpected error")

    def run(self, wait: Callable[[float], bool], count: int | None = None) -> None:
        """The schedule: beat k is due at ``start + k * interval``. ``wait(s)`` returns True to stop."""
        start = self.clock()
        due = start
        next_stats = start + self.stats_log_interval
        beats = 0
        while count is None or beats < count:
            delay = due - self.clock()
            if delay > 0 and wait(delay):
                return
            if self._stop.is_set():
                return
            self._beat(deadline=next_due(start, self.interval, due), wait=wait)
            beats += 1
            now = self.clock()
            if now >= next_stats:
                self.log_stats()
                next_stats = now + self.stats_log_interval
            due = next_due(start, self.interval, max(now, due))

    def _beat(
        self,
        deadline: float,
        wait: Callable[[float], bool] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Try until success, the policy's last attempt, or the next beat's slot, whichever comes
        first. A beat no URL took is cached, to go with the next one that gets through."""
        wait = wait or self._stop.wait
        error = "no attempt made"
        fields: dict[str, Any] | None = None
        unanswered = False  # no URL took it, but one may later: a beat worth keeping
        for attempt in range(self.retry.max_attempts):
            url = self.urls[(self._current + attempt) % len(self.urls)]
            try:
                if attempt == 0:
                    self._seq += 1  # retries of one beat keep its number
                fields = self._fields(extra)
                self._send(url, fields)
            except SendError as exc:
                error = f"{url}: {exc}"
                unanswered = exc.retryable
                log.warning("heartbeat to %s failed: %s", url, exc)
                if not exc.retryable or attempt + 1 >= self.retry.max_attempts:
                    break
                delay = self.retry.wait_before(attempt, len(self.urls), exc.retry_after)
                if delay is not None and (self.clock() + delay >= deadline or wait(delay)):
                    break
            except Exception as exc:  # a payload callable that raised, a body that is not JSON, ...
                error = f"{type(exc).__name__}: {exc}"
                log.error("heartbeat could not be built or sent: %s", error, exc_info=True)
                break
            else:
                self._succeeded(attempt, url)
                return True
        self.tally.missed(error)
        if fields is not None and unanswered and not self._stop.is_set():
            self.cache.add(fields)
        return False

    def _succeeded(self, attempt: int, url: str) -> None:
        self._current = (self._current + attempt) % len(self.urls)
        self.tally.succeeded(url, self.wall_clock())
        log.debug("heartbeat sent to %s", url)

    def _send(self, url: str, fields: Mapping[str, Any]) -> None:
        """One beat; with the cached ones before it in one batch, when there are any."""
        cached = self.cache.beats()
        if not cached:
            self.transport.post(url, encode(fields))
            return
        try:
            self.transport.post(batch_url(url), encode([*cached, fields]), origin=url)
        except SendError as exc:
            if exc.status not in (404, 405):
                raise
            log.warning(
                "%s takes no batches (HTTP %s): %d cached beats dropped", url, exc.status, len(cached)
            )
            self.transport.post(url, encode(fields))
        self.cache.clear()

    def _fields(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A beat: what the sender adds, then the system's figures, the payload, report()'s words."""
        payload = self.payload() if callable(self.payload) else self.payload
        with self._lock:
            report = dict(self._report)
        rtt_ms = self.transport.rtt_ms
        fields: dict[str, Any] = {
            "interval": self.interval,
            "seq": max(self._seq, 0),
            "instance": self.instance,
            "timestamp": self.wall_clock(),
        }
        if rtt_ms is not None:
            fields["rtt_ms"] = rtt_ms
        if self.progress:
            fields["progress"] = dict(self.progress())
        if self.system is not None:
            fields["metrics"], fields["info"] = self.system.metrics(), self.system.info()
        fields.update(payload)
        if "metrics" in report:  # reported gauges join the system's, winning where names meet
            report["metrics"] = {**fields.get("metrics", {}), **report["metrics"]}
        fields.update(report)
        if extra and "metrics" in extra:  # a beat's own gauges join the others too
            extra = {**extra, "metrics": {**fields.get("metrics", {}), **extra["metrics"]}}
        fields.update(extra or {})
        return fields
