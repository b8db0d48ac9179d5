"""``heartbeat-receiver``: serve the receiver with Granian (worker processes, blocking threads).

Granian was chosen by measurement over gunicorn's threaded workers: 1.75x the throughput at half
the p99 on our 2-core machines (docs/benchmarks.md).
"""

from __future__ import annotations

import os

from granian import Granian
from granian.constants import Interfaces

from heartbeat_core.cli import common_parser, default, settings_from


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat receiver", "receiver_listen")
    parser.add_argument("--workers", type=int, help=f"worker processes (default {default('workers')})")
    parser.add_argument("--threads", type=int, help=f"threads per worker (default {default('threads')})")
    args = parser.parse_args(argv)
    settings = settings_from(
        args, {"receiver_listen": args.listen, "workers": args.workers, "threads": args.threads}
    )  # validated here, so a bad configuration stops before any worker starts
    # the workers build the app from the environment: hand them the flags that way
    for variable, value in (
        ("HEARTBEAT_CONFIG", args.config),
        ("HEARTBEAT_REDIS_URL", args.redis_url),
        ("HEARTBEAT_REDIS_CLUSTER", "1" if args.redis_cluster else None),
    ):
        if value:
            os.environ[variable] = value
    host, port = settings.receiver_listen
    Granian(
        "heartbeat_receiver.wsgi:app",
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=settings.workers,
        blocking_threads=settings.threads,
        respawn_failed_workers=True,
    ).serve()


if __name__ == "__main__":
    main()
