"""Everything in one process for a first run on a bare machine.

A private redis-server in a temporary folder, a SQLite file for the pipeline tables, the
receiver and the exporter on their usual ports. Stopped cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from heartbeat_monitor.redis_server import RedisServer, RedisServerError
from heartbeat_receiver import create_app as create_receiver
from heartbeat_receiver.config import ConfigError, load_settings

log = logging.getLogger("heartbeat_monitor")


def serve(app: Any, host: str, port: int) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name=f"http-{port}", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Heartbeat Monitor, all in one process")
    parser.add_argument("--config", help="YAML configuration file (default: $HEARTBEAT_CONFIG)")
    parser.add_argument("--data-dir", help="where the SQLite file and Redis live (default: a temp folder)")
    parser.add_argument("--receiver-listen", help="host:port (default 127.0.0.1:26002)")
    parser.add_argument("--exporter-listen", help="host:port (default 127.0.0.1:26003)")
    parser.add_argument("--demo", action="store_true", help="also run simulated services and traffic")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="heartbeat-monitor-"))
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    try:
        redis_server = RedisServer(folder=data_dir / "redis").start()
    except RedisServerError as exc:
        print(f"cannot start the private Redis: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    servers: list[BaseWSGIServer] = []
    try:
        settings = load_settings(
            args.config,
            flags={
                "redis_url": redis_server.url,
                "database_url": f"sqlite:///{data_dir / 'pipeline.db'}",
                "receiver_listen": args.receiver_listen,
                "exporter_listen": args.exporter_listen,
            },
        )
        host, port = settings.receiver_listen
        servers.append(serve(create_receiver(settings), host, port))
        print(f"receiver   http://{host}:{port}/heartbeat", flush=True)
        print(f"redis      {redis_server.url} (private, in {data_dir})", flush=True)
        stop.wait()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        for server in servers:
            server.shutdown()
        redis_server.stop()
        log.info("stopped")


if __name__ == "__main__":
    main()
