"""Agent cost per beat and schedule drift, beside the seed program's approach, in one run.

    .venv/bin/python -m benchmarks.bench_agent --seconds 60 --interval 0.1

The reference is the heartbeat loop the user's program had (seed 003): a thread that wakes every
``check`` seconds, sends with ``urllib.request`` when ``interval`` has passed since the last send.
Both send to the same real receiver (gunicorn, on a private redis-server), one after the other.
Drift is the lateness of beat k against ``start + k * interval``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from harness.ports import free_port
from harness.redis import RedisServer
from harness.servers import wait_http
from heartbeat_agent import HeartbeatSender


def seed_loop(url: str, interval: float, check: float, until: float, beat: Callable[[], None]) -> None:
    """The seed's design: poll every `check` seconds, send when `interval` has elapsed since the last."""
    last = 0.0
    while time.monotonic() < until:
        now = time.monotonic()
        if now - last >= interval:
            beat()
            request = urllib.request.Request(
                url, data=b'{"type": 4}', headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            last = time.monotonic()
        time.sleep(check)


def measure(name: str, run: Callable[[Callable[[], None]], None], interval: float) -> dict[str, float]:
    times: list[float] = []
    cpu0, rss0 = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    run(lambda: times.append(time.monotonic()))
    cpu = time.process_time() - cpu0
    lateness = [t - (times[0] + k * interval) for k, t in enumerate(times)]
    return {
        "beats": len(times),
        "cpu_ms_per_beat": 1000 * cpu / max(1, len(times)),
        "mean_lateness_ms": 1000 * statistics.mean(lateness),
        "max_lateness_ms": 1000 * max(lateness),
        "final_drift_ms": 1000 * lateness[-1],
        "maxrss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0,
        "seconds": time.monotonic() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (bounded)")
    parser.add_argument("--interval", type=float, default=0.1, help="beat interval (the seed's 30 s, scaled)")
    args = parser.parse_args()
    check = args.interval / 6  # the seed checked every 5 s for a 30 s interval
    with RedisServer() as redis_server:
        port = free_port()
        receiver = subprocess.Popen(
            [sys.executable, "-m", "heartbeat_receiver", "--listen", f"127.0.0.1:{port}", "--workers", "1"],
            env={**os.environ, "HEARTBEAT_REDIS_URL": redis_server.url},
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            url = f"http://127.0.0.1:{port}/heartbeat"
            beats = int(args.seconds / args.interval)

            def ours(mark: Callable[[], None]) -> None:
                def payload() -> dict[str, object]:
                    mark()
                    return {"service": "bench-agent"}

                HeartbeatSender(url, interval=args.interval, payload=payload).run_foreground(beats)

            def seed(mark: Callable[[], None]) -> None:
                seed_loop(url, args.interval, check, time.monotonic() + args.seconds, mark)

            results = {
                "heartbeat_agent": measure("ours", ours, args.interval),
                "seed loop (reference)": measure("seed", seed, args.interval),
            }
        finally:
            receiver.terminate()
            receiver.wait(15)
    print(json.dumps({"interval_s": args.interval, "check_s": check, **results}, indent=2))


if __name__ == "__main__":
    main()
