"""Where a fresh batch beat's time goes, in one process: the checks and the answer, and the store.

    PYTHONPATH=. .venv/bin/python -m benchmarks.bench_batch_parts --calls 300

``POST /heartbeat/batch``'s entry point (``heartbeat_receiver.batch.accept``, what the routes
call) with the bodies bench_receiver's batch target sends (100 beats of distinct services, ten
bodies), on two receivers built by the public factory: one on a private Redis on loopback, one
on a stand-in store that writes nothing (``benchmarks.unstored_receiver``), called in turn. The
whole minus the unstored call is the store's share; the record script's own time inside Redis
comes from ``INFO commandstats``. Per beat, medians over the calls after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import redis

from benchmarks.unstored_receiver import unstored_store
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver import batch
from heartbeat_receiver.app import create_app

BEATS = 100
WARM_UP = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    bodies = [
        json.dumps([{"service": f"collector-{i * BEATS + j}", "interval": 30} for j in range(BEATS)]).encode()
        for i in range(10)
    ]
    headers = {"Content-Type": "application/json"}
    parts: dict[str, list[float]] = {"checks and answer": [], "the whole call": []}
    with RedisServer() as server:
        settings = from_mapping({"redis_url": server.url})
        stored = create_app(settings).ingest
        unstored = create_app(settings, store=unstored_store(settings)).ingest
        client = redis.Redis.from_url(server.url)
        for call in range(args.calls):
            if call == WARM_UP:
                client.config_resetstat()
            body = bodies[call % len(bodies)]
            for part, ingest in (("checks and answer", unstored), ("the whole call", stored)):
                began = time.perf_counter()
                answer = batch.accept(ingest, headers, body, "127.0.0.1")
                took = time.perf_counter() - began
                assert answer.status == 200, answer.body
                if call >= WARM_UP:
                    parts[part].append(took)
        script = client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]
    medians = {part: statistics.median(took) * 1e6 / BEATS for part, took in parts.items()}
    for part, micros in medians.items():
        print(f"{part}: {micros:.1f} µs a beat")
    share = medians["the whole call"] - medians["checks and answer"]
    print(f"the store's share (the difference): {share:.1f} µs a beat")
    print(f"the record script inside Redis: {script / BEATS:.1f} µs a beat")


if __name__ == "__main__":
    main()
