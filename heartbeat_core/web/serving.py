"""Serving either app in production: Granian, the one server both run on.

Chosen by measurement (docs/benchmarks.md): for the receiver, 1.75x gunicorn's throughput at
half the p99; for the exporter, the same scrape rate as gunicorn gthread, and scrapes still
answered while twice its threads' worth of clients stall mid-headers, which freeze gunicorn
(its threads block on the slow reads; Granian parses HTTP on its own event loop).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings


def export_flags(config: str | None, flags: Mapping[str, Any]) -> None:
    """Worker processes build their app from the environment: hand the command's flags on that way.

    Every key has its ``HEARTBEAT_<KEY>`` variable, and variables rank below flags only, so the
    workers see exactly the settings the command validated.
    """
    if config:
        os.environ["HEARTBEAT_CONFIG"] = config
    for key, value in flags.items():
        if value is not None:
            os.environ[f"HEARTBEAT_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)


def ensure_free(address: tuple[str, int]) -> None:
    """OSError, in one line, when anything listens on ``address``: binding without SO_REUSEPORT
    fails even where another Granian shares the port."""
    host, port = address
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(f"{host}:{port} is not free: {exc.strerror}") from None


def serve(
    factory: str,
    listen: tuple[str, int],
    *,
    workers: int,
    threads: int,
    client_timeout: float,
    rsgi: bool = False,
) -> None:
    """Serve ``module:function`` (an app factory) until stopped.

    ``rsgi``: the factory makes an RSGI app that runs its own threads (the receiver); otherwise a
    WSGI app on Granian's blocking threads. A client that takes longer than ``client_timeout``
    seconds to send its headers is cut off.
    """
    try:
        ensure_free(listen)
    except OSError as exc:
        # Granian's workers share a port (SO_REUSEPORT): a second server on it would start
        # silently and take half the traffic; and a port taken otherwise ends in a long backtrace
        raise SystemExit(f"cannot start: {exc}") from None
    host, port = listen
    Granian(
        factory,
        factory=True,
        interface=Interfaces.RSGI if rsgi else Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=1 if rsgi else threads,
        respawn_failed_workers=True,
        http1_settings=HTTP1Settings(header_read_timeout=int(client_timeout * 1000)),
    ).serve()
