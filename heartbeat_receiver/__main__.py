"""``heartbeat-receiver``: serve the receiver with gunicorn (threads in a few workers)."""

from __future__ import annotations

from heartbeat_receiver.app import create_app
from heartbeat_receiver.cli import common_parser, settings_from
from heartbeat_receiver.serving import serve


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat receiver", "host:port to bind (default 127.0.0.1:26002)")
    parser.add_argument("--workers", type=int, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, help="threads per worker (default 8)")
    args = parser.parse_args(argv)
    settings = settings_from(
        args, {"receiver_listen": args.listen, "workers": args.workers, "threads": args.threads}
    )
    serve(lambda: create_app(settings), settings.receiver_listen, settings.workers, settings.threads)


if __name__ == "__main__":
    main()
