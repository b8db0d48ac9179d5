"""Flags shared by the receiver's and exporter's command lines, and ``--check-config``."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
from typing import Any

from heartbeat_core.config import ConfigError, Settings, load_settings
from heartbeat_core.sections import token_hash


def default(key: str) -> Any:
    """A key's real default, from the schema, so that no help text can state another."""
    return Settings.model_fields[key].default


def listen_text(key: str) -> str:
    host, port = default(key)
    return f"{host}:{port}"


def common_parser(description: str, listen_key: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML configuration file (default: $HEARTBEAT_CONFIG)")
    parser.add_argument("--listen", help=f"host:port to bind (default {listen_text(listen_key)})")
    parser.add_argument(
        "--redis-url", help=f"Redis URL (default: $HEARTBEAT_REDIS_URL, else {default('redis_url')})"
    )
    parser.add_argument(
        "--redis-cluster", action="store_true", default=None, help="connect to a Redis Cluster"
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate the configuration (file, environment, flags), print every error, exit 0 or 1",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    return parser


def settings_from(args: argparse.Namespace, flags: dict[str, Any]) -> Settings:
    """Load settings or exit with every configuration error, never a traceback.

    A bad configuration exits 2 when serving; ``--check-config`` exits 1 for it and 0 when valid.
    """
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    flags = {"redis_url": args.redis_url, "redis_cluster": args.redis_cluster, **flags}
    try:
        settings = load_settings(args.config, flags=flags)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        print(f"configuration error{'s' if len(lines) > 1 else ''}:", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1 if args.check_config else 2) from None
    for warning in settings.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    if args.check_config:
        print("configuration is valid")
        raise SystemExit(0)
    return settings


def print_new_token(who: str, key: str, field: str, *, in_list: bool = False) -> None:
    """A random token for ``who`` and the configuration line that admits it (its hash only)."""
    token = secrets.token_urlsafe(32)
    entry = {field: token_hash(token)}
    print(f"token for {who}: {token}")
    print(f"configuration: {key}: {json.dumps([entry] if in_list else entry)}")
