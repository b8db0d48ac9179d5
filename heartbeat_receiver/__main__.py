"""``heartbeat-receiver``: serve the receiver with gunicorn (threads in a few workers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from heartbeat_receiver.app import create_app
from heartbeat_receiver.cli import common_parser, settings_from
from heartbeat_receiver.config import Settings


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Runs a WSGI app factory under gunicorn; the factory runs in each worker after fork."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    host, port = settings.receiver_listen
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": bind,
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        "keepalive": 5,
        "accesslog": None,
        "graceful_timeout": 10,
        "control_socket_disable": True,
    }


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat receiver", "host:port to bind (default 127.0.0.1:26002)")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    settings = settings_from(
        args, {"receiver_listen": args.listen, "workers": args.workers, "threads": args.threads}
    )
    GunicornServer(lambda: create_app(settings), gunicorn_options(settings)).run()


if __name__ == "__main__":
    main()
