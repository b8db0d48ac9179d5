"""One HTTP request of the agent: its headers and signature, its round trip, what it counts.

A request in flight is registered, so that ``cut()`` (the sender's ``stop()``) can shut its
socket and a stopping program never waits out a hanging receiver.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .limits import DEFAULT_URL, MAX_RTT_MS, SIGNATURE_HEADER, USER_AGENT
from .policy import retry_after


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


def checked_urls(urls: Sequence[str] | str | None) -> list[str]:
    found = [urls] if isinstance(urls, str) else list(urls or [DEFAULT_URL])
    for url in found:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url!r}")
    return found


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class Transport:
    """Posts bodies to the receiver's URLs; keeps each URL's last round trip and failures."""

    def __init__(
        self,
        urls: list[str],
        timeout: float,
        headers: Mapping[str, str] | None,
        token: str | None,
        signed: bool,
        stopped: threading.Event,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        if signed and not token:
            raise ValueError("signed=True needs the token to sign with")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        # a signing token never travels (SPEC §18): each request carries an HMAC of its body
        self.signing_key = token.encode() if signed and token else None
        if token and not signed:
            self.headers["Authorization"] = f"Bearer {token}"
        self.stopped = stopped
        self.clock = clock
        self.wall_clock = wall_clock
        self.attempts = 0
        self.rtt_ms: float | None = None  # the last successful request's round trip
        self.per_url: dict[str, dict[str, Any]] = {url: {"rtt_ms": None, "failures": 0} for url in urls}
        self._lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None

    def cut(self) -> None:
        """Shut the socket of the request in flight, if there is one."""
        with self._lock:
            connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def per_url_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {url: dict(each) for url, each in self.per_url.items()}

    def post(
        self, url: str, body: bytes, *, final: bool = False, timeout: float | None = None, origin: str = ""
    ) -> None:
        """One request; its round trip is kept for ``origin`` (the configured URL it stands for).
        ``final``: the goodbye, sent although the sender is stopping."""
        origin = origin or url
        with self._lock:
            self.attempts += 1
        started = self.clock()
        parts = urllib.parse.urlsplit(url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=timeout or self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.connect()
            with self._lock:
                # registered under the lock that cut() takes: either cut() sees this connection
                # and shuts it, or we see the stop flag here
                if self.stopped.is_set() and not final:
                    raise SendError("stopped", retryable=False)
                self._connection = connection
            connection.request("POST", path, body=body, headers=self.headers_for(body))
            response = connection.getresponse()
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            self._failed(origin)
            if self.stopped.is_set() and not final:
                raise SendError("stopped", retryable=False) from None
            raise SendError(f"{type(exc).__name__}: {exc}") from None
        finally:
            with self._lock:
                self._connection = None
            connection.close()
        # 409 to a signed beat: its signature was taken already, so a retry of it arrived before
        if not 200 <= response.status < 300 and not (response.status == 409 and self.signing_key):
            self._failed(origin)
            raise SendError(
                f"HTTP {response.status}",
                retryable=response.status >= 500 or response.status in (408, 429),
                retry_after=retry_after(response.getheader("Retry-After")),
                status=response.status,
            )
        rtt_ms = round(min((self.clock() - started) * 1000.0, MAX_RTT_MS), 3)
        with self._lock:
            self.rtt_ms = rtt_ms
            self.per_url.setdefault(origin, {"rtt_ms": None, "failures": 0})["rtt_ms"] = rtt_ms

    def headers_for(self, body: bytes) -> Mapping[str, str]:
        """``X-Heartbeat-Signature: t=…,v1=…`` for a signing sender: HMAC-SHA256 of ``"<t>.<body>"``."""
        if self.signing_key is None:
            return self.headers
        t = int(self.wall_clock())
        digest = hmac.new(self.signing_key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return {**self.headers, SIGNATURE_HEADER: f"t={t},v1={digest}"}

    def _failed(self, origin: str) -> None:
        with self._lock:
            self.per_url.setdefault(origin, {"rtt_ms": None, "failures": 0})["failures"] += 1
