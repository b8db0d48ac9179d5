"""Serving a WSGI app factory with gunicorn's threaded workers (the exporter: one process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """The factory runs in each worker after fork, so no connection is shared across processes."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def gunicorn_options(listen: tuple[str, int], workers: int, threads: int) -> dict[str, Any]:
    host, port = listen
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "accesslog": None,
        "graceful_timeout": 10,
        "control_socket_disable": True,
    }


def serve(factory: Callable[[], Any], listen: tuple[str, int], workers: int, threads: int) -> None:
    GunicornServer(factory, gunicorn_options(listen, workers, threads)).run()
