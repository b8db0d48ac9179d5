"""Receiver throughput and latency with wrk, beside its references, in one run (loopback only).

    .venv/bin/python -m benchmarks.bench_receiver --seconds 10

Targets, each served on its own free loopback port and measured with ``wrk -t2 -c50``:
* bare Flask on gunicorn gthread (-w 2 --threads 8) answering 204: the floor of the set-up;
* the receiver on Granian (what ``heartbeat-receiver`` runs) and on the same gunicorn set-up as
  the floor, a private redis-server behind it, heartbeats from 1,000 distinct services;
* Prometheus Pushgateway (Debian) with ``--push.disable-consistency-check``, one push per
  request to 1,000 groups; and with default flags after 10,000 groups are stored.
Every load run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from heartbeat_monitor.redis_server import RedisServer, free_port
from tests.test_receiver_served import wait_http

BARE_APP = textwrap.dedent(
    """
    from flask import Flask
    app = Flask(__name__)

    @app.post("/heartbeat")
    def beat():
        return "", 204

    @app.get("/healthz")
    def health():
        return "ok"
    """
)

HEARTBEATS = textwrap.dedent(
    """
    counter = 0
    request = function()
      counter = counter + 1
      local body = '{"service": "collector-' .. (counter % 1000) .. '", "timestamp": 1763800000}'
      return wrk.format("POST", "/heartbeat", {["Content-Type"] = "application/json"}, body)
    end
    """
)

PUSHES = textwrap.dedent(
    """
    counter = 0
    request = function()
      counter = counter + 1
      local path = "/metrics/job/heartbeat/instance/svc-" .. (counter % GROUPS)
      return wrk.format("PUT", path, {["Content-Type"] = "text/plain"}, "heartbeat_last_seen 1763800000\\n")
    end
    """
)


def wrk(url: str, script: str, seconds: int) -> dict[str, float]:
    print(f"wrk {url} for {seconds} s", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def serve(command: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    print(f"starting {' '.join(command[:4])}", file=sys.stderr, flush=True)
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() ends the workers too
    )
    wait_http(health)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server with all its worker processes, and let the machine settle before the next run."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    time.sleep(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--receiver",
        type=lambda v: tuple(int(x) for x in v.split("x")),
        nargs="+",
        default=[(2, 4)],
        help="gunicorn workers x threads to measure, e.g. 2x8 2x4 4x2",
    )
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    folder = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    (folder / "bare.py").write_text(BARE_APP)
    gunicorn_base = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--keep-alive", "5"]
    gunicorn = [*gunicorn_base, "-w", "2", "--threads", "8"]

    port = free_port()
    bare = serve(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "--chdir", str(folder), "bare:app"],
        {},
        f"http://127.0.0.1:{port}/healthz",
    )
    try:
        results["bare Flask, gunicorn gthread 2x8 (floor)"] = wrk(
            f"http://127.0.0.1:{port}", HEARTBEATS, args.seconds
        )
    finally:
        stop(bare)

    with RedisServer() as redis_server:
        for workers, threads in args.receiver:
            for server, command in (
                (
                    "Granian (heartbeat-receiver)",
                    [
                        sys.executable,
                        "-m",
                        "heartbeat_receiver",
                        "--listen",
                        "127.0.0.1:{port}",
                        "--workers",
                        str(workers),
                        "--threads",
                        str(threads),
                    ],
                ),
                (
                    "gunicorn gthread",
                    [
                        *gunicorn_base,
                        "-w",
                        str(workers),
                        "--threads",
                        str(threads),
                        "-b",
                        "127.0.0.1:{port}",
                        "heartbeat_receiver.wsgi:app()",
                    ],
                ),
            ):
                port = free_port()
                process = serve(
                    [part.format(port=port) for part in command],
                    {"HEARTBEAT_REDIS_URL": redis_server.url},
                    f"http://127.0.0.1:{port}/healthz",
                )
                try:
                    results[f"receiver on {server} {workers}x{threads}"] = wrk(
                        f"http://127.0.0.1:{port}", HEARTBEATS, args.seconds
                    )
                finally:
                    stop(process)

    # the default-flags case needs 10k stored groups: pushed with the check off (pushes with it on
    # slow to a crawl as groups grow), persisted, and loaded by the gateway under test
    persisted = folder / "pushgateway.store"
    port = free_port()
    loader = serve(
        [
            "prometheus-pushgateway",
            f"--web.listen-address=127.0.0.1:{port}",
            "--push.disable-consistency-check",
            f"--persistence.file={persisted}",
        ],
        {},
        f"http://127.0.0.1:{port}/-/ready",
    )
    try:
        for i in range(10_000):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics/job/heartbeat/instance/svc-{i}",
                data=b"heartbeat_last_seen 1\n",
                method="PUT",
            )
            urllib.request.urlopen(request, timeout=10).close()
    finally:
        stop(loader)  # writes the persistence file on shutdown
    for label, flags, groups in (
        (
            "Pushgateway --push.disable-consistency-check, 1k groups",
            ["--push.disable-consistency-check"],
            1000,
        ),
        ("Pushgateway default flags, 10k groups stored", [f"--persistence.file={persisted}"], 10_000),
    ):
        port = free_port()
        gateway = serve(
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}", *flags],
            {},
            f"http://127.0.0.1:{port}/-/ready",
        )
        try:
            results[label] = wrk(
                f"http://127.0.0.1:{port}", PUSHES.replace("GROUPS", str(groups)), args.seconds
            )
        finally:
            stop(gateway)

    floor = results["bare Flask, gunicorn gthread 2x8 (floor)"]["rps"]
    ours = max(r["rps"] for name, r in results.items() if name.startswith("receiver on"))
    for r in results.values():
        r["ratio_to_floor"] = round(r["rps"] / floor, 3)
        r["best_receiver_ratio_to_this"] = round(ours / r["rps"], 3)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
