"""WSGI apps on Granian's RSGI interface: bodies are read on the event loop, with a deadline.

On a threaded server a client that sends its body slowly holds a thread for as long as it likes;
a few of them and every other request waits. Here the body is awaited on the worker's event
loop, so a slow body costs a coroutine, not a thread, and is cut off after ``client_timeout``
seconds (Granian itself cuts off slow headers). Only then does the WSGI app run, on a thread of
a pool of its own, with the whole body in hand. Answers are sent whole, except event streams
(``text/event-stream``), which are sent chunk by chunk from a pool of their own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from werkzeug.test import EnvironBuilder, run_wsgi_app

from heartbeat_core.errors import ApiError
from heartbeat_core.web.headers import HEADERS

T = TypeVar("T")
log = logging.getLogger(__name__)
STREAMS = 32  # event streams served at once
DISCONNECTED = "heartbeat.disconnected"  # environ: a threading.Event, set when the client goes away


class Scope(Protocol):
    proto: str
    method: str
    path: str
    query_string: str
    client: str
    scheme: str

    @property
    def headers(self) -> Any: ...


class Headers:
    """RSGI's headers (lower-case names) looked up by any spelling."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def get(self, key: str, /) -> str | None:
        value = self.raw.get(key.lower())
        return None if value is None else str(value)


def host_of(client: str) -> str:
    """``1.2.3.4:5678`` or ``[::1]:5678`` → the address alone."""
    return client.rpartition(":")[0].strip("[]") if ":" in client else client


def too_slow(seconds: float) -> ApiError:
    return ApiError(408, "request_timeout", f"the request did not arrive within {seconds:g} s")


def error_response(proto: Any, exc: ApiError) -> None:
    """An answer the bridge gives itself (the app never saw the request), headers and all."""
    headers = [("content-type", "application/json"), *exc.headers().items(), *HEADERS.items()]
    proto.response_bytes(exc.status, headers, exc.body())


# a host name or an address, with a port: anything else in Host (a path, spaces, a broken IPv6
# literal, a label over 63 characters or a name over 253, which IDNA refuses) would go into the
# app's URLs, its redirects, or fail parsing with a 500
HOST = re.compile(
    r"(?=[^:]{1,253}(?::|$))(?:[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """``awaitable``'s result, or TimeoutError after ``seconds``.

    Not ``asyncio.wait_for``: from Python 3.12 that cancels the *calling* task, and Granian runs
    each request on a task of its own that cannot be cancelled, so the deadline would never
    fire. Here the wait runs in a task of ours, which can.
    """
    inner = asyncio.ensure_future(awaitable)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        inner.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await inner
    except asyncio.CancelledError:
        if expired:
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()


class WsgiOnRsgi:
    """``own_threads``: paths served on threads of their own (the exporter's ``/metrics``), so
    that slow calls of the other routes, however many, never hold up a scrape."""

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        threads: int,
        client_timeout: float,
        max_body: int,
        own_threads: frozenset[str] = frozenset(),
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.on_stop = on_stop  # the app's background work, stopped with the server's worker
        self.client_timeout = client_timeout
        self.max_body = max_body
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="wsgi")
        self.own_threads = own_threads
        self.priority = ThreadPoolExecutor(2, thread_name_prefix="priority") if own_threads else self.threads
        # event streams wait between events on threads of their own, never the requests' ones
        self.streams = ThreadPoolExecutor(STREAMS, thread_name_prefix="stream")

    async def __rsgi__(self, scope: Scope, proto: Any) -> None:
        if scope.proto == "http":
            await self.wsgi(scope, proto, Headers(scope.headers))

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Granian's worker stops (SIGTERM, SIGINT): so does the app's background work."""
        if self.on_stop is not None:
            self.on_stop()

    async def read_body(self, proto: Any, headers: Headers, limit: int) -> bytes | None:
        """At most ``limit`` bytes of body, None when larger; TimeoutError past the deadline."""
        length = headers.get("content-length")
        if length is not None and length.isdecimal():
            if int(length) > limit:
                return None
            return bytes(await within(self.client_timeout, proto()))

        async def chunks() -> bytes | None:
            data = bytearray()
            async for chunk in proto:
                data += chunk
                if len(data) > limit:
                    return None
            return bytes(data)

        return await within(self.client_timeout, chunks())

    async def wsgi(self, scope: Scope, proto: Any, headers: Headers) -> None:
        """The WSGI app on a pool thread, once the body is in."""
        try:
            body = await self.read_body(proto, headers, self.max_body)
        except TimeoutError:
            return error_response(proto, too_slow(self.client_timeout))
        if body is None:
            return error_response(proto, ApiError(413, "request_entity_too_large", "the body is too large"))
        host = headers.get("host") or "localhost"
        if not HOST.fullmatch(host):
            return error_response(proto, ApiError(400, "invalid_host", "the Host header is no host name"))
        environ = EnvironBuilder(
            method=scope.method,
            path=scope.path,
            query_string=scope.query_string,
            headers=[(k, v) for k, v in scope.headers.items() if k not in ("content-length", "host")],
            base_url=f"{scope.scheme}://{host}",
            data=body,
            environ_base={
                "REMOTE_ADDR": host_of(scope.client),
                "REMOTE_PORT": scope.client.rpartition(":")[2],
                DISCONNECTED: (disconnected := threading.Event()),
            },
        ).get_environ()
        loop = asyncio.get_running_loop()
        pool = self.priority if scope.path in self.own_threads else self.threads
        answer = await loop.run_in_executor(pool, _run, self.app, environ)
        status = int(answer.status.split(" ", 1)[0])
        if answer.stream is None:
            proto.response_bytes(status, answer.headers, answer.body)
        else:
            await self._stream(proto, status, answer.headers, answer.stream, disconnected)

    async def _stream(
        self,
        proto: Any,
        status: int,
        headers: list[tuple[str, str]],
        chunks: Any,
        disconnected: threading.Event,
    ) -> None:
        """Send each chunk as the app yields it, until it ends or the client goes away."""
        loop = asyncio.get_running_loop()
        transport = proto.response_stream(status, headers)
        # a client that goes away is noticed at once, not at the stream's next write: the app
        # sees ``environ[DISCONNECTED]`` set, ends its stream and gives its thread back
        gone = asyncio.ensure_future(proto.client_disconnect())
        gone.add_done_callback(lambda _: disconnected.set())
        try:
            while (chunk := await loop.run_in_executor(self.streams, next, chunks, None)) is not None:
                await transport.send_bytes(chunk)
        except Exception:  # the client went away mid-stream (Granian raises on the send)
            log.debug("event stream closed by the client")
        finally:
            gone.cancel()
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(self.streams, close)


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: Iterator[bytes] | None = None  # an event stream: sent as it comes


def _run(app: Callable[..., Any], environ: dict[str, Any]) -> _Answer:
    app_iter, status, headers = run_wsgi_app(app, environ)
    if str(headers.get("Content-Type", "")).startswith("text/event-stream"):
        return _Answer(status, headers.to_wsgi_list(), stream=iter(app_iter))
    try:
        return _Answer(status, headers.to_wsgi_list(), b"".join(app_iter))
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
