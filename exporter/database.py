"""Engines that cannot hang the exporter: timeouts on connect and statement, and a client deadline."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
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
    """Runs one call at a time in a helper thread and stops waiting for it at a deadline.

    A server that accepts connections but never answers (a stopped process, a dead network
    path) can block a driver call beyond every timeout the driver has; the caller must
    still report on time. A call that overran is left to finish in its daemon thread, and no
    new call starts until it has.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, fn: Callable[[], T], timeout: float) -> T:
        if self.busy:
            raise DeadlineExceeded(f"{self.name}: the previous call has not returned yet")
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise DeadlineExceeded(f"{self.name}: no answer within {timeout:.1f} s")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]
