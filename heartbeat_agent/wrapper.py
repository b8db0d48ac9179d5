"""``heartbeat-agent run … -- CMD …``: a command run as a job (SPEC §13), for cron."""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
from typing import Any

from .limits import DEFAULT_URL, MAX_MESSAGE
from .runs import finish, new_run_id
from .sender import HeartbeatSender

OUTPUT_TAIL = 10_000  # bytes of a wrapped command's output kept for its finish's message


def _pump(source: Any, sink: Any, tail: collections.deque[bytes], lock: threading.Lock) -> None:
    """Copy a child's stream to ours as it comes, keeping the last OUTPUT_TAIL bytes of both."""
    for chunk in iter(lambda: source.read1(65536), b""):
        sink.write(chunk)
        sink.flush()
        with lock:
            tail.append(chunk)
            while sum(map(len, tail)) - len(tail[0]) >= OUTPUT_TAIL:
                tail.popleft()


def _wrapped(command: list[str], tail: collections.deque[bytes]) -> int:
    """Run ``command``, its stdout and stderr passed through to ours; its exit status."""

    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:  # not found, not executable: the run failed, as a shell says 127
        sys.stderr.write(f"heartbeat-agent run: {exc}\n")
        tail.append(str(exc).encode())
        return 127
    lock = threading.Lock()
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, sys.stdout.buffer, tail, lock), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, sys.stderr.buffer, tail, lock), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    status = child.wait()
    for pump in pumps:
        pump.join()
    return status if status >= 0 else 128 - status  # killed by signal N: 128 + N, as a shell says


def run_command(argv: list[str]) -> int:
    """``heartbeat-agent run --service NAME [--url URL]… -- CMD …``: a cron wrapper (SPEC §13).

    A start beat, the command (stdin, stdout and stderr passed through), then a finish with its
    exit status, its duration and the end of its output as the message; exits with the
    command's status. The monitor being unreachable never fails the command: each beat gets
    one short try.
    """
    if "--" not in argv:
        sys.stderr.write(
            "usage: heartbeat-agent run --service NAME [--url URL]... [--token T [--signed]] -- CMD ...\n"
        )
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="heartbeat-agent run", description="Run a command as a job.")
    parser.add_argument("--url", action="append", help=f"receiver URL, repeatable (default {DEFAULT_URL})")
    parser.add_argument("--service", required=True, help="the job's service name")
    parser.add_argument("--token", help="ingest token (Authorization: Bearer)")
    parser.add_argument("--signed", action="store_true", help="sign each beat with --token; never send it")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a beat may take (5)")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("no command after --")
    if args.signed and not args.token:
        parser.error("--signed needs --token")
    sender = HeartbeatSender(
        args.url,
        60.0,
        args.timeout,
        {"service": args.service},
        token=args.token,
        signed=args.signed,
        max_attempts=1,
        cache_size=0,
    )
    run = new_run_id()
    started = sender.clock()
    sender.send_once({"event": "start", "run_id": run})
    tail: collections.deque[bytes] = collections.deque()
    status = _wrapped(command, tail)
    output = b"".join(tail)[-OUTPUT_TAIL:].decode("utf-8", "replace").strip()
    # a message holds MAX_MESSAGE characters: the end of the output
    ended = {"exit_status": min(status, 255), "message": output[-MAX_MESSAGE:] or None}
    sender.send_once(finish(run, sender.clock() - started, ended))
    return status
