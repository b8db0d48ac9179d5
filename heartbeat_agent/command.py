"""The ``heartbeat-agent`` command: beats on a schedule, once, a goodbye, or a job's run."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from .limits import DEFAULT_URL
from .sender import HeartbeatSender
from .wrapper import run_command


def _type_value(raw: str) -> int | str:
    return int(raw) if raw.lstrip("-").isdigit() else raw


def build_payload(service: str | None, type_: str | None, data: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if data:
        loaded = json.loads(data)
        if not isinstance(loaded, dict):
            raise ValueError("--data must be a JSON object")
        payload.update(loaded)
    if service:
        payload["service"] = service
    if type_:
        payload["type"] = _type_value(type_)
    if not payload:
        payload = {"type": 4}
    return payload


STOP_SECONDS = 2.0  # Ctrl-C or SIGTERM to exit, the goodbye included


def _run_until_signalled(sender: HeartbeatSender, count: int | None) -> bool:
    """The schedule on a thread of its own until it ends or SIGINT/SIGTERM comes; True for a signal.

    The handlers only set a flag: raised in the middle of a request, a KeyboardInterrupt could
    leave a lock held or a connection half used, and the goodbye after it then waited out its
    whole timeout (one run in fifteen). systemctl stop, docker stop and kill send SIGTERM:
    stopped on purpose, like Ctrl-C.
    """
    signalled = threading.Event()  # set from the handler: nothing else there takes a lock
    worker = threading.Thread(
        target=sender.run_foreground, args=(count,), name="heartbeat-agent", daemon=True
    )
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handlers[signum] = signal.signal(signum, lambda *_: signalled.set())
    worker.start()
    try:
        while worker.is_alive() and not signalled.is_set():
            worker.join(0.1)
    finally:
        for signum, before in handlers.items():
            signal.signal(signum, before)
    return signalled.is_set()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heartbeat-agent", description="Send heartbeats to a receiver.")
    parser.add_argument("--url", action="append", help=f"receiver URL, repeatable (default {DEFAULT_URL})")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between beats (30)")
    parser.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds (10)")
    parser.add_argument("--service", help="service name")
    parser.add_argument("--type", dest="type_", help="service type label or numeric code")
    parser.add_argument("--data", help="extra JSON fields, e.g. '{\"user_id\": 7}'")
    parser.add_argument("--token", help="ingest token (Authorization: Bearer)")
    parser.add_argument("--signed", action="store_true", help="sign each beat with --token; never send it")
    parser.add_argument("--once", action="store_true", help="send one beat; exit 0 on success, 1 on failure")
    parser.add_argument(
        "--goodbye", action="store_true", help="send one goodbye (the service stops on purpose); exit 0 or 1"
    )
    parser.add_argument("--count", type=int, help="send N beats, then exit")
    parser.add_argument(
        "--system",
        action="store_true",
        help="add this process's and host's figures (CPU, memory, disk, load)",
    )
    parser.add_argument("--app-version", help="the program's version, sent as info when --system is on")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_command(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        payload = build_payload(args.service, args.type_, args.data)  # every beat carries its timestamp
        sender = HeartbeatSender(
            args.url,
            args.interval,
            args.timeout,
            payload,
            token=args.token,
            signed=args.signed,
            max_attempts=3,
            system=args.system,
            version=args.app_version,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.goodbye:
        ok = sender.send_goodbye()
        print(json.dumps({"goodbye": ok}), flush=True)
        return 0 if ok else 1
    if args.once:
        ok = sender.send_once()
        print(json.dumps(sender.stats()), flush=True)
        return 0 if ok else 1
    interrupted = _run_until_signalled(sender, args.count)
    sender.stop(STOP_SECONDS / 2, goodbye=False)
    if interrupted:
        sender.send_goodbye(STOP_SECONDS / 2)  # stopped on purpose: paused, not down
    print(json.dumps(sender.stats()), flush=True)
    if args.count is not None:
        return 0 if sender.stats()["failed"] == 0 else 1
    return 0
