"""Engines that cannot hang the exporter: timeouts on connect and statement, and a client deadline."""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

T = TypeVar("T")
log = logging.getLogger(__name__)


def make_engine(url: str, timeout: float) -> Engine:
    """A small pool whose connections give up on their own: connect, statement and TCP timeouts."""
    backend = make_url(url).get_backend_name()
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "postgresql":
        ms = int(timeout * 1000)
        connect_args = {
            "connect_timeout": max(1, math.ceil(timeout)),
            "options": f"-c statement_timeout={ms} -c idle_in_transaction_session_timeout={ms * 4}",
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": ms,
            "application_name": "heartbeat-exporter",
        }
        options.update(pool_size=2, max_overflow=2, pool_timeout=timeout, pool_recycle=600)
    elif backend == "sqlite":
        connect_args = {"timeout": timeout, "check_same_thread": False}
    return sa.create_engine(url, connect_args=connect_args, **options)


class DeadlineExceeded(Exception):
    """The call did not finish in time; it may still be running in its thread."""


class DeadlineRunner:
    """Runs one call at a time in a long-lived helper thread and stops waiting for it at a deadline.

    A server that accepts connections but never answers (a stopped process, a dead network
    path) can block a driver call beyond every timeout the driver has; the caller must
    still report on time. At the deadline the query of a connection opened with
    :meth:`connect` is cancelled on the server (psycopg2's ``cancel()``, sqlite3's
    ``interrupt()``, both safe from another thread), so an overrun never leaves a query
    running there, as query-exporter's connection tracker does. The call itself is left to
    finish in the helper thread, and no new call starts until it has. The thread is kept
    between calls (a poll every few seconds would otherwise pay for a new thread each time)
    and is a daemon, so a call hung on a dead server never holds up the process's exit (a
    ``ThreadPoolExecutor``'s workers would).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._current: Future[Any] | None = None
        self._lock = threading.Lock()
        self._dbapi: Any = None  # the driver's connection of the call in flight, if it opened one

    @contextlib.contextmanager
    def connect(self, engine: Engine) -> Iterator[Connection]:
        """A connection for the call in flight whose query the deadline can cancel."""
        with engine.connect() as connection:
            with self._lock:
                self._dbapi = connection.connection.dbapi_connection
            try:
                yield connection
            finally:
                with self._lock:
                    self._dbapi = None

    @property
    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def run(self, fn: Callable[[], T], timeout: float) -> T:
        if self.busy:
            raise DeadlineExceeded(f"{self.name}: the previous call has not returned yet")
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        future: Future[T] = Future()
        self._current = future
        self._calls.put((fn, future))
        try:
            return future.result(timeout)
        except FutureTimeout:
            self._cancel()
            raise DeadlineExceeded(f"{self.name}: no answer within {timeout:.1f} s") from None

    def _cancel(self) -> None:
        with self._lock:
            dbapi = self._dbapi
        cancel = getattr(dbapi, "cancel", None) or getattr(dbapi, "interrupt", None)
        if cancel is not None:  # its own thread: reaching a server that hangs must not delay the report
            threading.Thread(target=_quietly, args=(cancel,), name=f"{self.name}-cancel", daemon=True).start()

    def _serve(self) -> None:
        while True:
            fn, future = self._calls.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)


def _quietly(call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception as exc:  # the server may be gone: the statement timeout is the fallback
        log.info("could not cancel an overrun query: %s", exc)
