"""Soak: a steady ingest rate for a bounded time, with the RSS of receiver and exporter sampled.

    .venv/bin/python -m benchmarks.soak --minutes 10 --rate 500 --services 10000

The receiver (``heartbeat-receiver``: Granian, 2 workers) and the exporter (its own process,
with a SQLite pipeline database that gets rows too) run on loopback with a private
redis-server; four sender threads pace heartbeats from ``--services`` distinct names at
``--rate`` per second, and the exporter is scraped every 5 s as Prometheus would. Prints one
line per sample and a summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from exporter.sql.demo_rows import insert_demo_rows
from exporter.sql.schema import create_schema
from harness.ports import free_port
from harness.redis import RedisServer
from harness.servers import wait_http


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn workers)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def sender(port: int, rate: float, services: int, offset: int, until: float, counts: dict[str, int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    next_at = time.monotonic()
    i = offset
    while time.monotonic() < until:
        body = json.dumps({"service": f"collector-{i % services}"})
        try:
            connection.request("POST", "/heartbeat", body=body, headers={"Content-Type": "application/json"})
            status = connection.getresponse()
            status.read()
            counts[str(status.status)] = counts.get(str(status.status), 0) + 1
        except (OSError, http.client.HTTPException):
            counts["error"] = counts.get("error", 0) + 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i += 4
        next_at += 1 / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=500.0, help="heartbeats per second in all")
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    database = f"sqlite:///{folder / 'pipeline.db'}"
    engine = sa.create_engine(database)
    create_schema(engine)
    with RedisServer() as redis_server:
        env = {
            **os.environ,
            "HEARTBEAT_REDIS_URL": redis_server.url,
            "HEARTBEAT_DATABASE_URL": database,
            "HEARTBEAT_MAX_SERVICES": str(args.services * 2),
            "HEARTBEAT_POLL_INTERVAL": "5",
        }
        r_port, e_port = free_port(), free_port()
        receiver = subprocess.Popen(
            [sys.executable, "-m", "heartbeat_receiver", "--listen", f"127.0.0.1:{r_port}", "--workers", "2"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        exporter = subprocess.Popen(
            [sys.executable, "-m", "exporter", "--listen", f"127.0.0.1:{e_port}"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{r_port}/healthz")
            wait_http(f"http://127.0.0.1:{e_port}/healthz")
            until = time.monotonic() + args.minutes * 60
            counts: dict[str, int] = {}
            threads = [
                threading.Thread(target=sender, args=(r_port, args.rate / 4, args.services, k, until, counts))
                for k in range(4)
            ]
            for t in threads:
                t.start()
            started = time.monotonic()
            samples = []
            print("seconds,receiver_rss_mib,exporter_rss_mib,scrape_ms,heartbeats", flush=True)
            while time.monotonic() < until:
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{e_port}/metrics", timeout=30) as response:
                    response.read()
                scrape_ms = 1000 * (time.perf_counter() - t0)
                insert_demo_rows(engine, 200)
                sample = (
                    round(time.monotonic() - started),
                    rss_kib(receiver.pid) / 1024,
                    rss_kib(exporter.pid) / 1024,
                    scrape_ms,
                    sum(counts.values()),
                )
                samples.append(sample)
                if len(samples) % 3 == 1:
                    print(
                        ",".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in sample), flush=True
                    )
                time.sleep(5)
            for t in threads:
                t.join(30)
        finally:
            receiver.terminate()
            exporter.terminate()
            receiver.wait(20)
            exporter.wait(20)
    warm = [s for s in samples if s[0] >= 60] or samples
    print(
        json.dumps(
            {
                "statuses": counts,
                "achieved_rate": round(sum(counts.values()) / (args.minutes * 60), 1),
                "receiver_rss_mib_after_1min_first_last_max": [
                    round(warm[0][1], 1),
                    round(warm[-1][1], 1),
                    round(max(s[1] for s in warm), 1),
                ],
                "exporter_rss_mib_after_1min_first_last_max": [
                    round(warm[0][2], 1),
                    round(warm[-1][2], 1),
                    round(max(s[2] for s in warm), 1),
                ],
                "scrape_ms_median": sorted(s[3] for s in samples)[len(samples) // 2],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
