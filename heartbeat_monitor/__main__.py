"""Everything in one process for a first run on a bare machine.

A private redis-server in a data folder, a SQLite file for the pipeline tables, the receiver
and the exporter on their usual ports (Granian's embedded server, on a thread of this process:
the same RSGI apps the two commands serve), and with ``--demo`` a few
simulated services and traffic. Stopped cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from exporter.alertconfig import Targets
from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from exporter.wsgi import on_rsgi
from heartbeat_core.cli import listen_text
from heartbeat_core.config import ConfigError, Settings, load_settings
from heartbeat_core.sections import parse_listen
from heartbeat_monitor.alerting import AlertingStack, AlertingUnavailable, url
from heartbeat_monitor.demo import Demo
from heartbeat_monitor.embedded import EmbeddedServers
from heartbeat_receiver.app import create_app as create_receiver
from heartbeat_receiver.rsgi import Receiver
from loopback.redis import RedisServer, RedisServerError

log = logging.getLogger("heartbeat_monitor")


def settings_for(args: argparse.Namespace, redis_url: str, data_dir: Path) -> tuple[Settings, str | None]:
    """The user's configuration with the embedded defaults filled in, and the admin login to print
    when the configuration has no users (None when it has)."""
    flags: dict[str, Any] = {
        "redis_url": redis_url,
        "receiver_listen": args.receiver_listen,
        "exporter_listen": args.exporter_listen,
        "poll_interval": 5 if args.demo else None,
    }
    settings = load_settings(args.config, flags=flags)
    if not settings.database_url:
        flags["database_url"] = f"sqlite:///{data_dir / 'pipeline.db'}"
    login = None
    if not settings.users:
        # the user's own scripts log in with a password they know; otherwise one for this run
        given = args.admin_password or os.environ.get("HEARTBEAT_ADMIN_PASSWORD")
        if given is not None and len(given) < 8:
            raise ConfigError("the admin password needs at least 8 characters")
        password = given or secrets.token_urlsafe(12)
        login = "(the password given)" if given else f"{password}  (generated for this run)"
        flags["users"] = {"admin": {"password_hash": generate_password_hash(password), "role": "admin"}}
    return load_settings(args.config, flags=flags), login


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Heartbeat Monitor, all in one process")
    parser.add_argument("--config", help="YAML configuration file (default: $HEARTBEAT_CONFIG)")
    parser.add_argument(
        "--data-dir", help="where the SQLite file and Redis live (default: a temporary folder)"
    )
    parser.add_argument("--receiver-listen", help=f"host:port (default {listen_text('receiver_listen')})")
    parser.add_argument("--exporter-listen", help=f"host:port (default {listen_text('exporter_listen')})")
    parser.add_argument(
        "--prometheus-listen",
        default="127.0.0.1:26004",
        type=listen,
        help="host:port (default 127.0.0.1:26004)",
    )
    parser.add_argument(
        "--alertmanager-listen",
        default="127.0.0.1:26005",
        type=listen,
        help="host:port (default 127.0.0.1:26005)",
    )
    parser.add_argument("--no-alerting", action="store_true", help="run neither Prometheus nor Alertmanager")
    parser.add_argument("--demo", action="store_true", help="also run simulated services and traffic")
    parser.add_argument(
        "--admin-password",
        help="the admin login's password when the configuration has no users "
        "(default: $HEARTBEAT_ADMIN_PASSWORD, else one generated for this run)",
    )
    return parser


def listen(text: str) -> tuple[str, int]:
    try:
        host, port = parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(host), int(port)


def prepare_alerting(args: argparse.Namespace, settings: Settings, data_dir: Path) -> AlertingStack | None:
    """The alerting path, checked and configured; None (and one line saying why) when it is off."""
    if args.no_alerting:
        print("alerting     off (--no-alerting)", flush=True)
        return None
    stack = AlertingStack(settings, data_dir, args.prometheus_listen, args.alertmanager_listen)
    try:
        return stack.prepare()
    except AlertingUnavailable as exc:
        print(f"alerting     off: {exc}", flush=True)
        return None


def start_alerting(stack: AlertingStack, settings: Settings) -> None:
    try:
        stack.start()
    except AlertingUnavailable as exc:
        print(f"alerting     off: {exc}", flush=True)
        return
    sent = ", ".join(kind.removesuffix("_configs") for kind in Targets.of(settings.notify).on_call)
    print(
        f"prometheus   {url(stack.prometheus)}/alerts  (the shipped rules, scraping the exporter)", flush=True
    )
    print(
        f"alertmanager {url(stack.alertmanager)}/  "
        + (f"(notify: {sent})" if sent else "(no notify: alerts show there and on the status page)"),
        flush=True,
    )


def start(
    args: argparse.Namespace, redis_server: RedisServer, data_dir: Path
) -> tuple[EmbeddedServers, Demo | None, AlertingStack | None]:
    """Both apps on their ports (and the demo, and the alerting path), with what a newcomer needs
    to know printed."""
    settings, login = settings_for(args, redis_server.url, data_dir)
    stack = prepare_alerting(args, settings, data_dir)
    if stack is not None:  # our own URL: nothing to validate, and no second login to generate
        settings = settings.model_copy(update={"alertmanager_url": url(stack.alertmanager)})
    assert settings.database_url
    engine = sa.create_engine(settings.database_url)
    create_schema(engine, settings.tables)
    r_host, r_port = settings.receiver_listen
    e_host, e_port = settings.exporter_listen
    exporter = create_exporter(settings)
    receiver = Receiver(create_receiver(settings), settings)
    servers = EmbeddedServers(
        [(receiver, (r_host, r_port)), (on_rsgi(exporter, settings), (e_host, e_port))],
        settings.client_timeout,
    ).start()
    exporter.exporter.start()
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"receiver     http://{r_host}:{r_port}/heartbeat", flush=True)
    print(f"status page  http://{e_host}:{e_port}/", flush=True)
    print(f"metrics      http://{e_host}:{e_port}/metrics", flush=True)
    print(f"redis        {redis_server.shown_url} (private, password generated for this run)", flush=True)
    print(f"database     {database}", flush=True)
    if login:
        print(f"login        admin / {login}", flush=True)
    demo = None
    if args.demo:
        demo = Demo(f"http://{r_host}:{r_port}/heartbeat", engine, settings.tables)
        demo.start()
        print(
            "demo         8 simulated services (frontend-web-2 falls silent after 45 s) and traffic",
            flush=True,
        )
    if stack is not None:
        start_alerting(stack, settings)
    return servers, demo, stack


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    temporary = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="heartbeat-monitor-"))
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    try:
        # a password even on loopback: any local user or web page could otherwise write to it
        redis_server = RedisServer(folder=data_dir / "redis", password=secrets.token_urlsafe(24)).start()
    except RedisServerError as exc:
        print(f"cannot start the private Redis: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    servers = None
    demo = None
    stack = None
    try:
        servers, demo, stack = start(args, redis_server, data_dir)
        print("Ctrl-C stops everything.", flush=True)
        # a timed wait: the kernel hands a process's signal to any of its threads, and a main
        # thread blocked without a timeout would never wake to run the handler
        while not stop.wait(0.5):
            pass
    except (ConfigError, OSError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        if stack:
            stack.stop()
        if demo:
            demo.stop()
        if servers:
            servers.stop()
        redis_server.stop()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        log.info("stopped")


if __name__ == "__main__":
    main()
