"""Heartbeat agent: sends heartbeats to a Heartbeat Monitor receiver on a fixed schedule.

Standard library only, and self-contained on purpose: this one file can be copied into another
program (or a PyInstaller build) and used as ``from agent import HeartbeatSender``, or run as
``python agent.py --once``.

    sender = HeartbeatSender(urls=["http://127.0.0.1:26002/heartbeat"], interval=30, payload={"type": 4})
    sender.start()
    ...
    sender.stop()  # says goodbye: the monitor shows the service paused, not down
    print(sender.stats())

Python 3.8 or newer. Every beat carries ``interval``, ``seq`` (up by one per beat, from 0 at each start),
``instance`` (unique per sender) and ``timestamp`` (this host's clock); the payload's own
fields win over them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_URL", "HeartbeatSender", "backoff_delay", "main", "next_due"]

DEFAULT_URL = "http://127.0.0.1:26002/heartbeat"
USER_AGENT = "heartbeat-agent/0.1"

if TYPE_CHECKING:  # annotations alone name it, so Python 3.8 and 3.9 never evaluate the union
    Payload = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

log = logging.getLogger("heartbeat_agent")


def next_due(start: float, interval: float, now: float) -> float:
    """The first slot ``start + k * interval`` strictly after ``now``.

    Beats are pinned to this grid, so a slow request delays one beat but never shifts the
    ones after it, and slots missed while the host was suspended are skipped, not sent in a burst.
    """
    if now < start:
        return start
    k = int((now - start) // interval) + 1
    return start + k * interval


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)).

    Full jitter spreads a fleet of agents that failed together (a receiver restart) so that they
    do not all come back in the same instant.
    """
    return rand() * min(cap, base * (2.0**attempt))


class SendError(Exception):
    """One attempt failed; ``retry_after`` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class HeartbeatSender:
    """Sends one heartbeat every ``interval`` seconds from a daemon thread.

    Never raises into the host program: every failure is counted, logged and retried.
    ``clock``, ``wall_clock``, ``rand`` and ``wait`` are injectable for tests.
    """

    def __init__(
        self,
        urls: Sequence[str] | str | None = None,
        interval: float = 30.0,
        timeout: float = 10.0,
        payload: Payload | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        max_attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        stats_log_interval: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        progress: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        if isinstance(urls, str):
            urls = [urls]
        self.urls = list(urls or [DEFAULT_URL])
        for url in self.urls:
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"not an http(s) URL: {url!r}")
        if interval <= 0 or timeout <= 0 or max_attempts < 1:
            raise ValueError("interval and timeout must be positive, max_attempts at least 1")
        self.interval = float(interval)
        self.timeout = float(timeout)
        self.payload: Payload = payload if payload is not None else {"type": 4}
        self.headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats_log_interval = stats_log_interval
        self.clock = clock
        self.wall_clock = wall_clock
        self.rand = rand
        self.progress = progress  # ever-growing counters, e.g. lambda: {"records_out": n}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._current = 0  # index of the URL that worked last
        self._sent = 0
        self._failed = 0
        self._attempts = 0
        self._consecutive_failures = 0
        self._last_error: str | None = None
        self._last_success: float | None = None
        self._last_url: str | None = None
        self.instance = uuid.uuid4().hex[:16]
        self._seq = -1  # the sequence number of the beat being sent

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
        with self._lock:
            connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if goodbye and was_running:
            self.send_goodbye(max(0.1, deadline - self.clock()))

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            beats = self._sent + self._failed
            return {
                "sent": self._sent,
                "failed": self._failed,
                "attempts": self._attempts,
                "success_rate": (self._sent / beats) if beats else None,
                "consecutive_failures": self._consecutive_failures,
                "last_error": self._last_error,
                "last_success": self._last_success,
                "url": self._last_url or self.urls[self._current],
            }

    def run_foreground(self, count: int | None = None) -> None:
        """The schedule in the calling thread (the CLI); ``stop()`` from elsewhere ends it."""
        self.run(self._stop.wait, count=count)

    def send_goodbye(self, timeout: float | None = None) -> bool:
        """One goodbye to the URL that worked last; True when the receiver took it. Never raises."""
        url = self.urls[self._current]
        try:
            self._post(url, self._body({"status": "stopping"}), final=True, timeout=timeout)
        except Exception as exc:  # best effort: the process is on its way out
            log.warning("goodbye to %s failed: %s", url, exc)
            return False
        log.debug("goodbye sent to %s", url)
        return True

    def send_once(self) -> bool:
        """One beat with its retries (failover, backoff); True when the receiver took it."""
        deadline = self.clock() + self.interval
        return self._beat(deadline)

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
            next_slot = next_due(start, self.interval, due)
            self._beat(deadline=next_slot, wait=wait)
            beats += 1
            now = self.clock()
            if now >= next_stats:
                self.log_stats()
                next_stats = now + self.stats_log_interval
            due = next_due(start, self.interval, max(now, due))

    def _beat(self, deadline: float, wait: Callable[[float], bool] | None = None) -> bool:
        """Try until success, ``max_attempts``, or the next beat's slot, whichever comes first."""
        wait = wait or self._stop.wait
        error = "no attempt made"
        for attempt in range(self.max_attempts):
            url = self.urls[(self._current + attempt) % len(self.urls)]
            try:
                if attempt == 0:
                    self._seq += 1  # retries of one beat keep its number
                body = self._body()
                self._post(url, body)
            except SendError as exc:
                error = f"{url}: {exc}"
                log.warning("heartbeat to %s failed: %s", url, exc)
                if not exc.retryable or attempt + 1 >= self.max_attempts:
                    break
                if (attempt + 1) % len(self.urls):
                    continue  # fail over to the next URL at once; back off after a full round
                round_ = attempt // len(self.urls)
                delay = backoff_delay(round_, self.backoff_base, self.backoff_cap, self.rand)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                if self.clock() + delay >= deadline:
                    break
                if wait(delay):
                    break
            except Exception as exc:  # a payload callable that raised, a body that is not JSON, ...
                error = f"{type(exc).__name__}: {exc}"
                log.error("heartbeat could not be built or sent: %s", error, exc_info=True)
                break
            else:
                with self._lock:
                    self._current = (self._current + attempt) % len(self.urls)
                    self._sent += 1
                    self._consecutive_failures = 0
                    self._last_success = self.wall_clock()
                    self._last_url = url
                log.debug("heartbeat sent to %s", url)
                return True
        with self._lock:
            self._failed += 1
            self._consecutive_failures += 1
            self._last_error = error
        return False

    def _body(self, extra: Mapping[str, Any] | None = None) -> bytes:
        payload = self.payload() if callable(self.payload) else self.payload
        fields = {
            "interval": self.interval,
            "seq": max(self._seq, 0),
            "instance": self.instance,
            "timestamp": self.wall_clock(),
            **({"progress": dict(self.progress())} if self.progress else {}),
            **payload,
            **(extra or {}),
        }
        return json.dumps(fields, ensure_ascii=False).encode("utf-8")

    def _post(self, url: str, body: bytes, *, final: bool = False, timeout: float | None = None) -> None:
        with self._lock:
            self._attempts += 1
        parts = urllib.parse.urlsplit(url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=timeout or self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.connect()
            with self._lock:
                # registered under the lock that stop() takes: either stop() sees this connection
                # and cuts it, or we see the stop flag here
                if self._stop.is_set() and not final:
                    raise SendError("stopped", retryable=False)
                self._connection = connection
            connection.request("POST", path, body=body, headers=self.headers)
            response = connection.getresponse()
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            if self._stop.is_set() and not final:
                raise SendError("stopped", retryable=False) from None
            raise SendError(f"{type(exc).__name__}: {exc}") from None
        finally:
            with self._lock:
                self._connection = None
            connection.close()
        if not 200 <= response.status < 300:
            retryable = response.status >= 500 or response.status in (408, 429)
            raise SendError(
                f"HTTP {response.status}",
                retryable=retryable,
                retry_after=_retry_after(response.getheader("Retry-After")),
            )

    def log_stats(self) -> None:
        s = self.stats()
        rate = "n/a" if s["success_rate"] is None else f"{100 * s['success_rate']:.1f}%"
        log.info(
            "heartbeat stats: sent=%d failed=%d success=%s consecutive_failures=%d last_error=%s",
            s["sent"],
            s["failed"],
            rate,
            s["consecutive_failures"],
            s["last_error"],
        )


# -- command line ----------------------------------------------------------------------------


def _type_value(raw: str) -> int | str:
    return int(raw) if raw.lstrip("-").isdigit() else raw


def build_payload(service: str | None, type_: str | None, data: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if data:
        loaded = json.loads(data)
        if not isinstance(loaded, dict):
            raise ValueError("--data must be a JSON object")
        payload.update(loaded)
    if service:
        payload["service"] = service
    if type_:
        payload["type"] = _type_value(type_)
    if not payload:
        payload = {"type": 4}
    return payload


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heartbeat-agent", description="Send heartbeats to a receiver.")
    parser.add_argument("--url", action="append", help=f"receiver URL, repeatable (default {DEFAULT_URL})")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between beats (30)")
    parser.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds (10)")
    parser.add_argument("--service", help="service name")
    parser.add_argument("--type", dest="type_", help="service type label or numeric code")
    parser.add_argument("--data", help="extra JSON fields, e.g. '{\"user_id\": 7}'")
    parser.add_argument("--token", help="ingest token (Authorization: Bearer)")
    parser.add_argument("--once", action="store_true", help="send one beat; exit 0 on success, 1 on failure")
    parser.add_argument(
        "--goodbye", action="store_true", help="send one goodbye (the service stops on purpose); exit 0 or 1"
    )
    parser.add_argument("--count", type=int, help="send N beats, then exit")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        payload = build_payload(args.service, args.type_, args.data)  # every beat carries its timestamp
        sender = HeartbeatSender(
            args.url, args.interval, args.timeout, payload, token=args.token, max_attempts=3
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.goodbye:
        ok = sender.send_goodbye()
        print(json.dumps({"goodbye": ok}), flush=True)
        return 0 if ok else 1
    if args.once:
        ok = sender.send_once()
        print(json.dumps(sender.stats()), flush=True)
        return 0 if ok else 1
    # systemctl stop, docker stop and kill send SIGTERM: stopped on purpose, like Ctrl-C
    main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        sender.run_foreground(args.count)
    except KeyboardInterrupt:
        sender.send_goodbye()  # stopped on purpose: paused, not down
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, before)
        sender.stop(goodbye=False)
        print(json.dumps(sender.stats()), flush=True)
    if args.count is not None:
        return 0 if sender.stats()["failed"] == 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
