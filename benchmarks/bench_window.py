"""The status call's traffic window: from the rollup against today's range ``GROUP BY``, same data, same run.

    PYTHONPATH=. .venv/bin/python -m benchmarks.bench_exporter window --rows-per-day 10000000 --rounds 5

PostgreSQL and Redis on loopback in temporary folders. Each log table gets ``--rows-per-day`` rows
over 24 hours, inserted hour by hour while the exporter's own worker polls (an injected clock
stands in for the day), so the rollup is what a day of running leaves in Redis. Then the status
call with the default 24 h window (``POST /heartbeat/status``, an admin's, through the app) runs
with the rollup and with the window counted by SQL alone, interleaved, ``--rounds`` times each;
the counts must be identical. Then the rollup's Redis memory at 1,000 keys per table over the
retention (8 days by hour, 25 hours by minute), against the same buckets as Redis hashes.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from exporter.sql.database import make_engine
from exporter.sql.minute import HOUR, MINUTE
from exporter.state.rollup import Rollup
from exporter.state.window import WindowCounts
from exporter.web.app import create_app
from harness.redis import RedisServer
from harness.servers import PostgresServer
from heartbeat_core.config import from_mapping
from heartbeat_core.keys import KeySpace
from heartbeat_core.sections import DEFAULT_TABLES

# rows spread evenly over one hour from :t0 (Unix seconds), addresses as the demo's
IPS = {
    "ip": "'10.0.0.' || (11 + g % 4)",
    "client_ip": "'10.0.1.' || (2 + g % 2)",
    "server_addr": "'10.0.1.' || (2 + g % 2)",
    "remote_addr": "'10.0.2.' || (9 + g % 8)",
}


def hour_of_rows(name: str) -> sa.TextClause:
    spec = DEFAULT_TABLES[name]
    columns = ", ".join((*spec.ip_columns, spec.time_column))
    values = ", ".join((*(IPS[c] for c in spec.ip_columns), "to_timestamp(:t0 + g * 3600.0 / :n)"))
    return sa.text(f"INSERT INTO {spec.table} ({columns}) SELECT {values} FROM generate_series(0, :n - 1) g")  # noqa: S608


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def load_a_day(url: str, app: Any, clock: Clock, rows_per_day: int, start: float) -> None:
    engine = make_engine(url, timeout=600)
    worker = app.exporter.worker
    worker.cycle()  # counting begins: what comes next is traffic
    per_hour = rows_per_day // 24
    for hour in range(24):
        began = time.perf_counter()
        with engine.begin() as conn:
            for name in DEFAULT_TABLES:
                conn.execute(hour_of_rows(name), {"t0": start + hour * HOUR, "n": per_hour})
        clock.now = start + (hour + 1) * HOUR + 1
        polled = time.perf_counter()
        worker.cycle()
        print(
            f"hour {hour + 1:2}: {per_hour * len(DEFAULT_TABLES):,} rows in {polled - began:.1f} s,"
            f" polled in {time.perf_counter() - polled:.2f} s",
            flush=True,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for spec in DEFAULT_TABLES.values():
            conn.exec_driver_sql(f"VACUUM ANALYZE {spec.table}")
    engine.dispose()


def status_calls(app: Any, rounds: int) -> dict[str, Any]:
    exporter = app.exporter
    windows = exporter.windows
    rollup = windows.rollup
    seen: list[WindowCounts] = []
    counts = windows.counts

    def spy(*args: Any) -> WindowCounts:
        window: WindowCounts = counts(*args)
        seen.append(window)
        return window

    windows.counts = spy
    client = app.test_client()
    login = client.post("/auth/login", json={"username": "admin", "password": "admin-password"})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    times: dict[str, list[float]] = {"rollup": [], "sql": []}
    sql_time: dict[str, list[float]] = {"rollup": [], "sql": []}
    answers: dict[str, Any] = {}
    for _ in range(rounds):
        for way in ("rollup", "sql"):
            windows.rollup = rollup if way == "rollup" else None
            started = time.perf_counter()
            answer = client.post("/heartbeat/status", json={}, headers=headers)
            times[way].append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.get_json()
            sql_time[way].append(seen[-1].sql_seconds)
            answers[way] = answer.get_json()["traffic_status"]
            assert seen[-1].error is None
    windows.rollup = rollup
    assert answers["rollup"] == answers["sql"], "the rollup's counts differ from the GROUP BY"
    total = sum(row["count"] for row in answers["sql"]["backend_to_frontend"])
    return {
        "status_call_ms": {way: round(statistics.median(t) * 1000, 1) for way, t in times.items()},
        "db_ms_per_call": {way: round(statistics.median(t) * 1000, 1) for way, t in sql_time.items()},
        "speed_up": round(statistics.median(times["sql"]) / statistics.median(times["rollup"]), 1),
        "each_round_ms": {way: [round(x * 1000, 1) for x in t] for way, t in times.items()},
        "counts_identical": True,
        "rows_in_window_backend_to_frontend": total,
    }


def packed(keys: int) -> str:
    return ",".join(f"{i}:{100 + (i * 7919) % 900}" for i in range(1, keys + 1))


def rollup_memory(keys: int = 1000, days: float = 8, minute_hours: float = 25) -> dict[str, Any]:
    """The steady state of the layout: one bucket per minute for 25 h and per hour for 8 days,
    per table, each holding ``keys`` keys; the ids written by the rollup's own script."""
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        rollup = Rollup(
            KeySpace(client, "mem"),
            retention=days * 86400,
            minute_retention=minute_hours * 3600,
            lease_seconds=60,
        )
        now = math.floor(time.time() / HOUR) * HOUR
        before = int(client.info("memory")["used_memory"])
        for name, spec in DEFAULT_TABLES.items():
            width = len(spec.ip_columns)
            first = {(now // MINUTE, (f"10.{i // 250}.{i % 250}.1",) * width): 1 for i in range(keys)}
            rollup.write(name, {}, now - 2 * MINUTE)  # starts the cover
            rollup.write(name, first, now + MINUTE)  # the script assigns the 1,000 ids
            text = packed(keys)
            pipe = client.pipeline(transaction=False)
            for m in range(int(minute_hours * 60)):
                pipe.set(f"{{mem}}:rollup:{name}:m:{now // MINUTE - m}", text, ex=int(minute_hours * 3600))
            for h in range(int(days * 24)):
                pipe.set(f"{{mem}}:rollup:{name}:h:{now // HOUR - h}", text, ex=int(days * 86400))
            pipe.execute()
        used = int(client.info("memory")["used_memory"]) - before
        bucket = int(client.memory_usage(f"{{mem}}:rollup:access_logs:m:{now // MINUTE - 5}") or 0)
        client.hset("as-a-hash", mapping={str(i): 100 + (i * 7919) % 900 for i in range(1, keys + 1)})
        as_hash = int(client.memory_usage("as-a-hash") or 0)
        buckets = len(DEFAULT_TABLES) * (int(minute_hours * 60) + int(days * 24))
    return {
        "keys_per_table": keys,
        "tables": len(DEFAULT_TABLES),
        "buckets": buckets,
        "redis_used_memory_mib": round(used / 2**20, 1),
        "one_bucket_bytes": bucket,
        "one_bucket_as_a_redis_hash_bytes": as_hash,
        "minute_buckets_for_all_8_days_would_be_mib": round(
            bucket * len(DEFAULT_TABLES) * days * 24 * 60 / 2**20, 1
        ),
    }


def bench_window(rows_per_day: int, rounds: int) -> dict[str, Any]:
    postgres = PostgresServer().init()
    try:
        url = postgres.create_database("bench_window")
        with make_engine(url, timeout=600).begin() as conn:
            conn.exec_driver_sql(Path("deploy/postgres/init.sql").read_text(encoding="utf-8"))
        with RedisServer() as server:
            start = math.floor(time.time() / HOUR) * HOUR - 25 * HOUR
            clock = Clock(start)
            users = {"admin": {"password_hash": generate_password_hash("admin-password"), "role": "admin"}}
            settings = from_mapping(
                {"redis_url": server.url, "database_url": url, "users": users, "probe_timeout": 600}
            )
            app = create_app(settings, clock=clock)
            load_a_day(url, app, clock, rows_per_day, start)
            clock.now = start + 24 * HOUR + 37.5  # the default window: the last 24 h, mid-minute
            result = status_calls(app, rounds)
    finally:
        postgres.close()
    return {"rows_per_day_per_table": rows_per_day, **result, "rollup_memory": rollup_memory()}
