"""``heartbeat-exporter``: serve metrics and the status API; also set-up helpers.

heartbeat-exporter [serve]          serve on 127.0.0.1:26003 (one process: counters live in it)
heartbeat-exporter init-db          create the configured log tables and their indexes
heartbeat-exporter init-sql         print the PostgreSQL DDL of the configured tables and the exporter's role
heartbeat-exporter alert-config     print the Alertmanager configuration, inhibitions from the topology
heartbeat-exporter demo-rows N      insert N realistic rows into each log table
heartbeat-exporter hash-password    print a password hash for the users section of the config
heartbeat-exporter new-token        print a scrape token for Prometheus and its metrics_auth line
heartbeat-exporter explain NAME     print what was learned of one service: its gaps, phi now, its run band
"""

from __future__ import annotations

import argparse
import getpass
import sys

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from exporter.alertconfig import SHIPPED, Targets, alertmanager_config
from exporter.explain import explain
from exporter.sql.demo_rows import insert_demo_rows
from exporter.sql.schema import create_schema, init_sql
from heartbeat_core.cli import common_parser, default, print_new_token, settings_from
from heartbeat_core.config import Settings
from heartbeat_core.web.serving import export_flags, serve

COMMANDS = [
    "serve",
    "init-db",
    "init-sql",
    "alert-config",
    "demo-rows",
    "hash-password",
    "new-token",
    "explain",
]


def main(argv: list[str] | None = None) -> None:
    parser = common_parser("Heartbeat exporter", "exporter_listen")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: $HEARTBEAT_DATABASE_URL, else none)")
    parser.add_argument("--threads", type=int, help=f"request threads (default {default('threads')})")
    parser.add_argument("command", nargs="?", default="serve", choices=COMMANDS)
    parser.add_argument(
        "target", nargs="?", help="demo-rows: rows per table (1000); explain: the service's name"
    )
    parser.add_argument("--on-call-url", help="alert-config: the webhook that gets pages (default: notify)")
    parser.add_argument("--chat-url", help="alert-config: the webhook that gets warnings (default: notify)")
    parser.add_argument(
        "--watchdog-url", help="alert-config: the dead man's switch that HeartbeatWatchdog pings"
    )
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
        if len(password) < 8:
            parser.error("use a password of at least 8 characters")
        print(generate_password_hash(password))
        return
    if args.command == "new-token":
        print_new_token("Prometheus (authorization: credentials)", "metrics_auth", "bearer_token_hash")
        return
    flags = {"exporter_listen": args.listen, "database_url": args.database_url, "threads": args.threads}
    settings = settings_from(args, flags)
    if args.command == "init-sql":
        print(init_sql(settings.tables), end="")
        return
    if args.command == "explain":
        if not args.target:
            parser.error("explain needs the service's name")
        print(explain(settings, args.target))
        return
    if args.command == "alert-config":
        print(alertmanager_config(settings, alert_targets(settings, args)), end="")
        return
    if args.command in ("init-db", "demo-rows"):
        if not settings.database_url:
            parser.error("no database: set --database-url or HEARTBEAT_DATABASE_URL")
        engine = sa.create_engine(settings.database_url)
        create_schema(engine, settings.tables)
        if args.command == "demo-rows":
            count = int(args.target) if args.target and args.target.isdigit() else 1000
            print(f"inserted {insert_demo_rows(engine, count, specs=settings.tables)} rows")
        return
    # one worker process: traffic counters are in-process state, so requests share it via threads
    export_flags(args.config, {"redis_url": args.redis_url, "redis_cluster": args.redis_cluster, **flags})
    serve(
        "exporter.wsgi:rsgi",
        settings.exporter_listen,
        workers=1,
        threads=settings.threads,
        client_timeout=settings.client_timeout,
        rsgi=True,
    )


def alert_targets(settings: Settings, args: argparse.Namespace) -> Targets:
    """The flags' webhooks over ``notify``'s receivers; without ``notify``, the shipped relay URLs."""
    return Targets.of(settings.notify, SHIPPED).overridden(args.on_call_url, args.chat_url, args.watchdog_url)


if __name__ == "__main__":
    main()
