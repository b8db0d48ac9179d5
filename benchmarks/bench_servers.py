"""Which server carries the exporter: Granian (RSGI bridge and WSGI) against gunicorn's threads, same app.

    .venv/bin/python -m benchmarks.bench_servers --services 1000 --rounds 3

Both run ``exporter.wsgi:app`` as one process with 4 request threads (the exporter's counters
live in its process), on the same Redis, in interleaved rounds. Each round measures:
* scrapes: 4 clients scraping ``/metrics`` back to back for a few seconds (requests/s, p50, p99);
* slow clients: 8 connections that send part of their headers and stall (twice the threads),
  then 10 scrapes, each with a 2 s limit: how many were answered, and the slowest.
The ratios are per round (Granian / gunicorn); the table has each round and the median.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack

from harness.ports import free_port
from harness.redis import RedisServer
from harness.servers import wait_http
from heartbeat_core.config import from_mapping
from heartbeat_core.record import Beat
from heartbeat_core.store import make_store

THREADS = 4
SERVERS = {
    "granian rsgi": [  # what heartbeat-exporter serves: the same app behind the RSGI bridge
        "granian", "--interface", "rsgi", "--workers", "1", "--factory", "--host", "127.0.0.1",
        "--port", "{port}", "exporter.wsgi:rsgi",
    ],
    "granian": [
        "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads", str(THREADS),
        "--factory", "--host", "127.0.0.1", "--port", "{port}", "exporter.wsgi:app",
    ],
    "gunicorn": [
        "gunicorn", "--worker-class", "gthread", "--workers", "1", "--threads", str(THREADS),
        "--bind", "127.0.0.1:{port}", "exporter.wsgi:app()",
    ],
}  # fmt: skip


def fill(url: str, services: int) -> None:
    store = make_store(from_mapping({"redis_url": url, "max_services": services + 1}))
    now = time.time()
    store.record_many([Beat(f"backend-{i}", "backend", "10.0.0.1", now) for i in range(services)])


def scrape(port: int, timeout: float = 10.0) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
        response.read()
    return time.perf_counter() - started


def load(port: int, seconds: float, clients: int = 4) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 (ms) of ``clients`` back-to-back scrapers."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            latencies.append(scrape(port))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def slow_clients(port: int, n: int = THREADS * 2) -> tuple[int, float]:
    """Scrapes answered within 2 s (of 10), and the slowest, while ``n`` clients stall mid-headers."""
    with ExitStack() as stack:
        for _ in range(n):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        time.sleep(0.5)
        answered, slowest = 0, 0.0
        for _ in range(10):
            try:
                took = scrape(port, timeout=2.0)
            except OSError:
                took = 2.0
            else:
                answered += 1
            slowest = max(slowest, took)
    return answered, slowest * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    bin_dir = os.path.dirname(sys.executable)
    with RedisServer() as redis, ExitStack() as stack:
        fill(redis.url, args.services)
        env = {
            **os.environ,
            "HEARTBEAT_REDIS_URL": redis.url,
            "HEARTBEAT_MAX_SERVICES": str(args.services + 1),
        }
        ports = {}
        for name, command in SERVERS.items():
            port = free_port()
            argv = [os.path.join(bin_dir, command[0]), *(part.format(port=port) for part in command[1:])]
            process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(process.wait, 10)
            stack.callback(process.terminate)
            wait_http(f"http://127.0.0.1:{port}/healthz")
            ports[name] = port
        print(f"exporter, {args.services} services, 1 process x {THREADS} threads")
        print(
            "| round | server | scrapes/s | p50 ms | p99 ms | answered with 8 stalled clients | slowest ms |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|")
        ratios, bridged = [], []
        for round_ in range(1, args.rounds + 1):
            rates = {}
            order = list(ports) if round_ % 2 else list(reversed(ports))
            for name in order:
                rate, p50, p99 = load(ports[name], args.seconds)
                answered, slowest = slow_clients(ports[name])
                rates[name] = rate
                cells = [
                    round_,
                    name,
                    f"{rate:.0f}",
                    f"{p50:.1f}",
                    f"{p99:.1f}",
                    f"{answered}/10",
                    f"{slowest:.0f}",
                ]
                print("| " + " | ".join(map(str, cells)) + " |")
            ratios.append(rates["granian"] / rates["gunicorn"])
            bridged.append(rates["granian rsgi"] / rates["granian"])
        print(f"\nscrapes/s, Granian / gunicorn per round: {', '.join(f'{r:.2f}' for r in ratios)}")
        print(f"median {statistics.median(ratios):.2f}")
        each = ", ".join(f"{r:.2f}" for r in bridged)
        print(f"scrapes/s, Granian RSGI bridge / Granian WSGI per round: {each}")
        print(f"median {statistics.median(bridged):.2f}")


if __name__ == "__main__":
    main()
