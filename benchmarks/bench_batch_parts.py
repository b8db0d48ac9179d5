"""Where a fresh batch beat's time goes, in one process: the checks, the store call, the answer.

    PYTHONPATH=. .venv/bin/python -m benchmarks.bench_batch_parts --calls 300

``POST /heartbeat/batch``'s three steps (``heartbeat_receiver.batch``), called directly with the
bodies bench_receiver's batch target sends (100 beats of distinct services, ten bodies), on a
private Redis on loopback; and the record script's own time inside Redis (``INFO
commandstats``). Per beat, medians over the calls after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import redis

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
    parts: dict[str, list[float]] = {"checks": [], "record_many": [], "answer": []}
    with RedisServer() as server:
        ingest = create_app(from_mapping({"redis_url": server.url})).ingest
        client = redis.Redis.from_url(server.url)
        for call in range(args.calls):
            if call == WARM_UP:
                client.config_resetstat()
            began = time.perf_counter()
            items = batch.check(ingest, headers, bodies[call % len(bodies)], "127.0.0.1")
            checked = time.perf_counter()
            counts = ingest.store.record_many(batch.stored(items))
            stored = time.perf_counter()
            batch.answer(ingest, items, counts)
            if call >= WARM_UP:
                parts["checks"].append(checked - began)
                parts["record_many"].append(stored - checked)
                parts["answer"].append(time.perf_counter() - stored)
        script = client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]
    for part, took in parts.items():
        print(f"{part}: {statistics.median(took) * 1e6 / BEATS:.1f} µs a beat")
    print(f"the record script inside Redis: {script / BEATS:.1f} µs a beat")


if __name__ == "__main__":
    main()
