"""``heartbeat-receiver``: serve the receiver on Granian (worker processes, blocking threads)."""

from __future__ import annotations

from heartbeat_core.cli import common_parser, default, settings_from
from heartbeat_core.web.serving import export_flags, serve


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat receiver", "receiver_listen")
    parser.add_argument("--workers", type=int, help=f"worker processes (default {default('workers')})")
    parser.add_argument("--threads", type=int, help=f"threads per worker (default {default('threads')})")
    args = parser.parse_args(argv)
    flags = {"receiver_listen": args.listen, "workers": args.workers, "threads": args.threads}
    settings = settings_from(args, flags)  # validated here: a bad configuration stops before any worker
    export_flags(args.config, {"redis_url": args.redis_url, "redis_cluster": args.redis_cluster, **flags})
    serve(
        "heartbeat_receiver.wsgi:app",
        settings.receiver_listen,
        workers=settings.workers,
        threads=settings.threads,
    )


if __name__ == "__main__":
    main()
