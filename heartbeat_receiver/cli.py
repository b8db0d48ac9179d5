"""Flags shared by the receiver's and exporter's command lines."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from heartbeat_receiver.config import ConfigError, Settings, load_settings


def common_parser(description: str, listen_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML configuration file (default: $HEARTBEAT_CONFIG)")
    parser.add_argument("--listen", help=listen_help)
    parser.add_argument("--redis-url", help="Redis URL (default: $HEARTBEAT_REDIS_URL)")
    parser.add_argument(
        "--redis-cluster", action="store_true", default=None, help="connect to a Redis Cluster"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def settings_from(args: argparse.Namespace, flags: dict[str, Any]) -> Settings:
    """Load settings or exit with the configuration error (status 2), never a traceback."""
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    flags = {"redis_url": args.redis_url, "redis_cluster": args.redis_cluster, **flags}
    try:
        return load_settings(args.config, flags=flags)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
