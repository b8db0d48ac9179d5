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
``instance`` (unique per sender), ``timestamp`` (this host's clock) and ``rtt_ms`` (the previous
request's round trip); the payload's own fields win over them. ``system=True`` adds the
program's and host's figures (:class:`SystemStats`); ``report()`` sets the status, message and
metrics of the beats that follow. Beats that no URL took are cached (``cache_size``, 120 by
default) and sent with the next one that gets through, in one ``POST /heartbeat/batch``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import os
import platform
import random
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_URL", "HeartbeatSender", "SystemStats", "backoff_delay", "main", "next_due"]

DEFAULT_URL = "http://127.0.0.1:26002/heartbeat"
USER_AGENT = "heartbeat-agent/0.1"
MAX_BATCH = 1000  # beats the receiver takes in one POST /heartbeat/batch
MAX_RTT_MS = 3_600_000.0
SIGNATURE_HEADER = "X-Heartbeat-Signature"

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

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when the server answered


def _signing_key(token: str | None, signed: bool) -> bytes | None:
    """A signing token never travels (SPEC §18): each request carries an HMAC of its body."""
    if signed and not token:
        raise ValueError("signed=True needs the token to sign with")
    return token.encode() if signed and token else None


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
    ) -> None:
        self.urls = _checked_urls(urls)
        if interval <= 0 or timeout <= 0 or max_attempts < 1:
            raise ValueError("interval and timeout must be positive, max_attempts at least 1")
        if not 0 <= cache_size <= MAX_BATCH - 1:
            raise ValueError(f"cache_size must be between 0 and {MAX_BATCH - 1}")
        self.interval = float(interval)
        self.timeout = float(timeout)
        self.payload: Payload = payload if payload is not None else {"type": 4}
        self.headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        self._signing_key = _signing_key(token, signed)
        if token and not signed:
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
        self._sent = self._failed = self._attempts = self._consecutive_failures = 0
        self._last_error: str | None = None
        self._last_success: float | None = None
        self._last_url: str | None = None
        self.instance = uuid.uuid4().hex[:16]
        self._seq = -1  # the sequence number of the beat being sent
        self.system = SystemStats(version, clock) if system else None
        self._report: dict[str, Any] = {}  # what report() said, sent with every beat until changed
        # beats no URL took, oldest first; sent in one batch once a URL answers. Bounded: the
        # newest cache_size are kept, whatever the outage's length
        self._cache: collections.deque[dict[str, Any]] = collections.deque(maxlen=cache_size)
        self._per_url: dict[str, dict[str, Any]] = {url: {"rtt_ms": None, "failures": 0} for url in self.urls}
        self._rtt_ms: float | None = None  # the last successful request's round trip

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
                "urls": {url: dict(each) for url, each in self._per_url.items()},
                "cached": len(self._cache),
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
            self._post(url, self._body({"status": "stopping"}), final=True, timeout=timeout)
        except Exception as exc:  # best effort: the process is on its way out
            log.warning("goodbye to %s failed: %s", url, exc)
            return False
        log.debug("goodbye sent to %s", url)
        return True

    def send_once(self, extra: Mapping[str, Any] | None = None) -> bool:
        """One beat with its retries (failover, backoff); True when the receiver took it.

        ``extra``: fields of this beat alone (a job's ``event`` and ``run_id``).
        """
        deadline = self.clock() + self.interval
        return self._beat(deadline, extra=extra)

    @contextlib.contextmanager
    def job(self, run_id: str | None = None) -> Iterator[str]:
        """One run of a job (SPEC §13): a start beat, the block, then its finish with the run's
        duration (``metrics.run_seconds``); an exception in the block makes the finish failing,
        with its summary as the message, and goes on. Yields the run's id."""
        run = run_id or uuid.uuid4().hex[:12]
        started = self.clock()
        self.send_once({"event": "start", "run_id": run})
        try:
            yield run
        except BaseException as exc:
            summary = f"{type(exc).__name__}: {exc}"[-1000:]
            self.send_once(self._finish(run, started, {"status": "failing", "message": summary}))
            raise
        self.send_once(self._finish(run, started, {}))

    def _finish(self, run: str, started: float, fields: Mapping[str, Any]) -> dict[str, Any]:
        metrics = {"run_seconds": round(self.clock() - started, 3)}
        return {"event": "finish", "run_id": run, "metrics": metrics, **fields}

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

    def _beat(
        self,
        deadline: float,
        wait: Callable[[float], bool] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Try until success, ``max_attempts``, or the next beat's slot, whichever comes first.

        A beat no URL took is cached, to go with the next one that gets through.
        """
        wait = wait or self._stop.wait
        error = "no attempt made"
        fields: dict[str, Any] | None = None
        unanswered = False  # no URL took it, but one may later: a beat worth keeping
        for attempt in range(self.max_attempts):
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
            if fields is not None and unanswered and not self._stop.is_set():
                self._cache.append(fields)
        return False

    def _send(self, url: str, fields: Mapping[str, Any]) -> None:
        """One beat; with the cached ones before it in one batch, when there are any."""
        with self._lock:
            cached = list(self._cache)
        if not cached:
            self._post(url, _encode(fields))
            return
        try:
            self._post(_batch_url(url), _encode([*cached, fields]), origin=url)
        except SendError as exc:
            if exc.status not in (404, 405):
                raise
            log.warning(
                "%s takes no batches (HTTP %s): %d cached beats dropped", url, exc.status, len(cached)
            )
            self._post(url, _encode(fields))
        with self._lock:
            self._cache.clear()

    def _fields(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A beat: what the sender adds, then the system's figures, the payload, report()'s words."""
        payload = self.payload() if callable(self.payload) else self.payload
        with self._lock:
            report, rtt_ms = dict(self._report), self._rtt_ms
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

    def _body(self, extra: Mapping[str, Any] | None = None) -> bytes:
        return _encode(self._fields(extra))

    def _post(
        self, url: str, body: bytes, *, final: bool = False, timeout: float | None = None, origin: str = ""
    ) -> None:
        """One request; its round trip is kept for ``origin`` (the configured URL it stands for)."""
        origin = origin or url
        with self._lock:
            self._attempts += 1
        started = self.clock()
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
            connection.request("POST", path, body=body, headers=self._headers_for(body))
            response = connection.getresponse()
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            self._count_failure(origin)
            if self._stop.is_set() and not final:
                raise SendError("stopped", retryable=False) from None
            raise SendError(f"{type(exc).__name__}: {exc}") from None
        finally:
            with self._lock:
                self._connection = None
            connection.close()
        # 409 to a signed beat: its signature was taken already, so a retry of it arrived before
        if not 200 <= response.status < 300 and not (response.status == 409 and self._signing_key):
            self._count_failure(origin)
            retryable = response.status >= 500 or response.status in (408, 429)
            raise SendError(
                f"HTTP {response.status}",
                retryable=retryable,
                retry_after=_retry_after(response.getheader("Retry-After")),
                status=response.status,
            )
        rtt_ms = round(min((self.clock() - started) * 1000.0, MAX_RTT_MS), 3)
        with self._lock:
            self._rtt_ms = rtt_ms
            self._per_url.setdefault(origin, {"rtt_ms": None, "failures": 0})["rtt_ms"] = rtt_ms

    def _headers_for(self, body: bytes) -> Mapping[str, str]:
        """``X-Heartbeat-Signature: t=…,v1=…`` for a signing sender: HMAC-SHA256 of ``"<t>.<body>"``."""
        if self._signing_key is None:
            return self.headers
        t = int(self.wall_clock())
        digest = hmac.new(self._signing_key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return {**self.headers, SIGNATURE_HEADER: f"t={t},v1={digest}"}

    def _count_failure(self, origin: str) -> None:
        with self._lock:
            self._per_url.setdefault(origin, {"rtt_ms": None, "failures": 0})["failures"] += 1

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


# -- what system=True adds -------------------------------------------------------------------


class SystemStats:
    """The program's and its host's figures, from the standard library alone.

    Each figure comes from one source per OS (below); one the OS does not offer, or that fails to
    read, is left out of the beat rather than guessed, and never stops the beat.

    * ``process_cpu_ratio``: ``time.process_time()`` over the monotonic time since the last beat
      (1.0 is one core busy), everywhere.
    * ``process_memory_bytes``: Linux ``/proc/self/statm`` (resident pages × page size); Windows
      ``GetProcessMemoryInfo`` (working set, psapi); macOS ``getrusage`` ``ru_maxrss`` (the peak
      resident size: macOS offers no current one without a native module).
    * ``system_memory_used_ratio``: Linux ``/proc/meminfo`` (1 − MemAvailable / MemTotal); Windows
      ``GlobalMemoryStatusEx`` (dwMemoryLoad); macOS ``sysctl`` ``hw.memsize`` and
      ``vm.page_free_count`` (free pages only, so it reads high).
    * ``disk_free_ratio``: ``shutil.disk_usage`` of the program's own drive, everywhere.
    * ``load1``: ``os.getloadavg()`` (Linux and macOS; Windows has none).
    * ``uptime_seconds``: since this sender was made, on its monotonic clock.
    * info ``version`` (when given), ``python`` (``platform.python_version()``), ``os``
      (``platform.system()`` and ``platform.release()``).
    """

    def __init__(self, version: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self._cpu = (time.process_time(), self.started)
        self._info = {
            "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"[:128],
        }
        if version:
            self._info["version"] = str(version)[:128]
        self._drive = os.path.dirname(os.path.abspath(sys.argv[0] if sys.argv and sys.argv[0] else "."))

    def info(self) -> dict[str, str]:
        return dict(self._info)

    def metrics(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for name, read in (
            ("process_cpu_ratio", self._cpu_ratio),
            ("process_memory_bytes", _process_memory),
            ("system_memory_used_ratio", _memory_used),
            ("disk_free_ratio", self._disk_free),
            ("load1", _load1),
        ):
            try:
                value = read()
            except Exception:  # a source this OS lacks or refuses: the figure is left out
                value = None
            if value is not None:
                found[name] = round(float(value), 6)
        found["uptime_seconds"] = round(self.clock() - self.started, 3)
        return found

    def _cpu_ratio(self) -> float | None:
        cpu, wall = time.process_time(), self.clock()
        last_cpu, last_wall = self._cpu
        self._cpu = (cpu, wall)
        return (cpu - last_cpu) / (wall - last_wall) if wall > last_wall else None

    def _disk_free(self) -> float:
        usage = shutil.disk_usage(self._drive)
        return usage.free / usage.total


def _process_memory() -> float | None:
    if sys.platform.startswith("linux"):
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if sys.platform == "win32":
        return _windows_working_set()
    import resource  # Unix only

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # bytes on macOS


def _memory_used() -> float | None:
    if sys.platform.startswith("linux"):
        with open("/proc/meminfo") as meminfo:
            values = {line.split(":")[0]: int(line.split()[1]) for line in meminfo if line.count(":") == 1}
        return 1.0 - values["MemAvailable"] / values["MemTotal"]
    if sys.platform == "win32":
        return _windows_memory_load()
    if sys.platform == "darwin":
        total, free = _sysctl("hw.memsize"), _sysctl("vm.page_free_count") * os.sysconf("SC_PAGE_SIZE")
        return 1.0 - free / total
    return None


def _load1() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _sysctl(name: str) -> int:
    import ctypes

    libc = ctypes.CDLL(None)
    value, size = ctypes.c_uint64(0), ctypes.c_size_t(8)
    if libc.sysctlbyname(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
        raise OSError(f"sysctl {name} failed")
    return value.value if size.value == 8 else value.value & 0xFFFFFFFF


def _windows_working_set() -> float:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t)
            for name in (
                "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage",
            )
        ]  # fmt: skip

    counters = Counters()
    counters.cb = ctypes.sizeof(counters)
    process = ctypes.windll.kernel32.GetCurrentProcess()  # type: ignore[attr-defined]
    if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):  # type: ignore[attr-defined]
        raise OSError("GetProcessMemoryInfo failed")
    return float(counters.WorkingSetSize)


def _windows_memory_load() -> float:
    import ctypes
    from ctypes import wintypes

    class Status(ctypes.Structure):
        _fields_ = [("dwLength", wintypes.DWORD), ("dwMemoryLoad", wintypes.DWORD)] + [
            (name, ctypes.c_ulonglong)
            for name in (
                "ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual",
            )
        ]  # fmt: skip

    status = Status()
    status.dwLength = ctypes.sizeof(status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        raise OSError("GlobalMemoryStatusEx failed")
    return float(status.dwMemoryLoad) / 100.0


def _checked_urls(urls: Sequence[str] | str | None) -> list[str]:
    found = [urls] if isinstance(urls, str) else list(urls or [DEFAULT_URL])
    for url in found:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url!r}")
    return found


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _batch_url(url: str) -> str:
    """The batch route beside a heartbeat URL: ``…/heartbeat`` (or ``…/heartbeat/report``) + ``/batch``."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/report"):
        path = path[: -len("/report")]
    return urllib.parse.urlunsplit(parts._replace(path=path + "/batch"))


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


STOP_SECONDS = 2.0  # Ctrl-C or SIGTERM to exit, the goodbye included


def _run_until_signalled(sender: HeartbeatSender, count: int | None) -> bool:
    """The schedule on a thread of its own until it ends or SIGINT/SIGTERM comes; True for a signal.

    The handlers only set a flag: raised in the middle of a request, a KeyboardInterrupt could
    leave a lock held or a connection half used, and the goodbye after it then waited out its
    whole timeout (one run in fifteen). systemctl stop, docker stop and kill send SIGTERM:
    stopped on purpose, like Ctrl-C.
    """
    signalled = threading.Event()  # set from the handler: nothing else there takes a lock
    worker = threading.Thread(
        target=sender.run_foreground, args=(count,), name="heartbeat-agent", daemon=True
    )
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handlers[signum] = signal.signal(signum, lambda *_: signalled.set())
    worker.start()
    try:
        while worker.is_alive() and not signalled.is_set():
            worker.join(0.1)
    finally:
        for signum, before in handlers.items():
            signal.signal(signum, before)
    return signalled.is_set()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heartbeat-agent", description="Send heartbeats to a receiver.")
    parser.add_argument("--url", action="append", help=f"receiver URL, repeatable (default {DEFAULT_URL})")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between beats (30)")
    parser.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds (10)")
    parser.add_argument("--service", help="service name")
    parser.add_argument("--type", dest="type_", help="service type label or numeric code")
    parser.add_argument("--data", help="extra JSON fields, e.g. '{\"user_id\": 7}'")
    parser.add_argument("--token", help="ingest token (Authorization: Bearer)")
    parser.add_argument("--signed", action="store_true", help="sign each beat with --token; never send it")
    parser.add_argument("--once", action="store_true", help="send one beat; exit 0 on success, 1 on failure")
    parser.add_argument(
        "--goodbye", action="store_true", help="send one goodbye (the service stops on purpose); exit 0 or 1"
    )
    parser.add_argument("--count", type=int, help="send N beats, then exit")
    parser.add_argument(
        "--system",
        action="store_true",
        help="add this process's and host's figures (CPU, memory, disk, load)",
    )
    parser.add_argument("--app-version", help="the program's version, sent as info when --system is on")
    parser.add_argument("--log-level", default="INFO")
    return parser


OUTPUT_TAIL = 10_000  # bytes of a wrapped command's output kept for its finish's message


def _pump(source: Any, sink: Any, tail: collections.deque[bytes], lock: threading.Lock) -> None:
    """Copy a child's stream to ours as it comes, keeping the last OUTPUT_TAIL bytes of both."""
    for chunk in iter(lambda: source.read1(65536), b""):
        sink.write(chunk)
        sink.flush()
        with lock:
            tail.append(chunk)
            while sum(map(len, tail)) - len(tail[0]) >= OUTPUT_TAIL:
                tail.popleft()


def _wrapped(command: list[str], tail: collections.deque[bytes]) -> int:
    """Run ``command``, its stdout and stderr passed through to ours; its exit status."""
    import subprocess

    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:  # not found, not executable: the run failed, as a shell says 127
        sys.stderr.write(f"heartbeat-agent run: {exc}\n")
        tail.append(str(exc).encode())
        return 127
    lock = threading.Lock()
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, sys.stdout.buffer, tail, lock), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, sys.stderr.buffer, tail, lock), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    status = child.wait()
    for pump in pumps:
        pump.join()
    return status if status >= 0 else 128 - status  # killed by signal N: 128 + N, as a shell says


def run_command(argv: list[str]) -> int:
    """``heartbeat-agent run --service NAME [--url URL]… -- CMD …``: a cron wrapper (SPEC §13).

    A start beat, the command (stdin, stdout and stderr passed through), then a finish with its
    exit status, its duration and the end of its output as the message; exits with the
    command's status. The monitor being unreachable never fails the command: each beat gets
    one short try.
    """
    if "--" not in argv:
        sys.stderr.write(
            "usage: heartbeat-agent run --service NAME [--url URL]... [--token T [--signed]] -- CMD ...\n"
        )
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="heartbeat-agent run", description="Run a command as a job.")
    parser.add_argument("--url", action="append", help=f"receiver URL, repeatable (default {DEFAULT_URL})")
    parser.add_argument("--service", required=True, help="the job's service name")
    parser.add_argument("--token", help="ingest token (Authorization: Bearer)")
    parser.add_argument("--signed", action="store_true", help="sign each beat with --token; never send it")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a beat may take (5)")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("no command after --")
    if args.signed and not args.token:
        parser.error("--signed needs --token")
    sender = HeartbeatSender(
        args.url,
        60.0,
        args.timeout,
        {"service": args.service},
        token=args.token,
        signed=args.signed,
        max_attempts=1,
        cache_size=0,
    )
    run = uuid.uuid4().hex[:12]
    started = sender.clock()
    sender.send_once({"event": "start", "run_id": run})
    tail: collections.deque[bytes] = collections.deque()
    status = _wrapped(command, tail)
    output = b"".join(tail)[-OUTPUT_TAIL:].decode("utf-8", "replace").strip()
    # a message holds 1,000 characters: the end of the output
    ended = {"exit_status": min(status, 255), "message": output[-1000:] or None}
    sender.send_once(sender._finish(run, started, ended))
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_command(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        payload = build_payload(args.service, args.type_, args.data)  # every beat carries its timestamp
        sender = HeartbeatSender(
            args.url,
            args.interval,
            args.timeout,
            payload,
            token=args.token,
            signed=args.signed,
            max_attempts=3,
            system=args.system,
            version=args.app_version,
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
    interrupted = _run_until_signalled(sender, args.count)
    sender.stop(STOP_SECONDS / 2, goodbye=False)
    if interrupted:
        sender.send_goodbye(STOP_SECONDS / 2)  # stopped on purpose: paused, not down
    print(json.dumps(sender.stats()), flush=True)
    if args.count is not None:
        return 0 if sender.stats()["failed"] == 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
