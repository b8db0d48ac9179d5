"""Both apps on Granian in one process, as each runs on its own: Granian's embedded server.

``heartbeat-receiver`` and ``heartbeat-exporter`` serve the same RSGI apps from Granian's worker
processes; here the two servers share one event loop on a thread of this process, so the
all-in-one keeps its private Redis and demo beside them, and slow clients are cut off here too.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server

from heartbeat_core.web.serving import ensure_free

log = logging.getLogger(__name__)


class EmbeddedServers:
    """RSGI apps, each on its ``(host, port)``; :meth:`start` returns once all of them listen."""

    def __init__(self, apps: Sequence[tuple[Any, tuple[str, int]]], client_timeout: float) -> None:
        self.apps = apps
        self.client_timeout = client_timeout
        self._servers: list[Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="granian", daemon=True)

    def start(self, timeout: float = 15.0) -> EmbeddedServers:
        """Raises OSError when a server cannot listen (its port is taken, say)."""
        for _, address in self.apps:
            ensure_free(address)  # a taken port fails here, in one line, before any server starts
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not all(_listening(address) for _, address in self.apps):
            if not self._thread.is_alive():
                raise OSError(f"cannot serve: {self._error}")
            if time.monotonic() > deadline:
                self.stop()
                raise OSError("the servers did not start listening in time")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for server in self._servers:
                loop.call_soon_threadsafe(server.signal_handler_interrupt)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # the thread's end: start() reports it
            self._error = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        settings = HTTP1Settings(header_read_timeout=int(self.client_timeout * 1000))
        self._servers = [
            Server(
                app,
                address=host,
                port=port,
                interface=Interfaces.RSGI,
                http1_settings=settings,
                log_level=LogLevels.error,  # "embedded server is experimental" at every start
            )
            for app, (host, port) in self.apps
        ]
        await asyncio.gather(*(server.serve() for server in self._servers))


def _listening(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=0.5).close()
    except OSError:
        return False
    return True
