"""``heartbeat-receiver``: serve the receiver on Granian; also make ingest tokens.

heartbeat-receiver [serve]     serve on 127.0.0.1:26002
heartbeat-receiver new-token   print a random token for an agent and the hash the configuration keeps
"""

from __future__ import annotations

from heartbeat_core.cli import common_parser, default, print_new_token, settings_from
from heartbeat_core.web.serving import export_flags, serve


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat receiver", "receiver_listen")
    parser.add_argument("--workers", type=int, help=f"worker processes (default {default('workers')})")
    parser.add_argument("--threads", type=int, help=f"threads per worker (default {default('threads')})")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "new-token"])
    args = parser.parse_args(argv)
    if args.command == "new-token":
        print_new_token("the agent (--token)", "ingest_tokens", "token_hash", in_list=True)
        return
    flags = {"receiver_listen": args.listen, "workers": args.workers, "threads": args.threads}
    settings = settings_from(args, flags)  # validated here: a bad configuration stops before any worker
    export_flags(args.config, {"redis_url": args.redis_url, "redis_cluster": args.redis_cluster, **flags})
    serve(
        "heartbeat_receiver.rsgi:app",
        settings.receiver_listen,
        workers=settings.workers,
        threads=settings.threads,
        client_timeout=settings.client_timeout,
        rsgi=True,
    )


if __name__ == "__main__":
    main()
