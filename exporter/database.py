"""Engines that cannot hang the exporter: timeouts on connect and statement, and a client deadline."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

T = TypeVar("T")


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
    still report on time. A call that overran is left to finish in the helper thread, and no
    new call starts until it has. The thread is kept between calls (a poll every few seconds
    would otherwise pay for a new thread each time) and is a daemon, so a call hung on a dead
    server never holds up the process's exit (a ``ThreadPoolExecutor``'s workers would).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._current: Future[Any] | None = None

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
            raise DeadlineExceeded(f"{self.name}: no answer within {timeout:.1f} s") from None

    def _serve(self) -> None:
        while True:
            fn, future = self._calls.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)
