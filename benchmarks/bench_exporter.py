"""Exporter benchmarks: /metrics cost by fleet size, and the incremental traffic poll by table size.

    .venv/bin/python -m benchmarks.bench_exporter metrics --services 1000 10000 100000
    .venv/bin/python -m benchmarks.bench_exporter stages --services 10000
    .venv/bin/python -m benchmarks.bench_exporter poll --rows 1000000 10000000 --new 10000
    .venv/bin/python -m benchmarks.bench_exporter window --rows-per-day 10000000 --rounds 5

Each figure is measured beside its reference in the same run, so ratios hold on a noisy machine:
* /metrics (snapshot from Redis, collect, render) against the usual alternative: a
  prometheus_client Gauge/Counter child per series, set in advance, rendered by ``generate_latest``;
* the poll against a full ``GROUP BY`` count of the same table, the query it replaces, on two
  shapes of ``access_logs``: nginx-style rows (the user's table) and rows with only the columns
  the exporter reads (which flatters the full count).
Servers (redis-server, PostgreSQL) are started on loopback in temporary folders and stopped.
"""

from __future__ import annotations

import argparse
import functools
import gc
import gzip
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy.engine import Engine

from benchmarks.bench_window import bench_window
from exporter.context import build
from exporter.metrics.exposition import collector_paused, render
from exporter.sql.database import make_engine
from exporter.sql.traffic import TrafficCounter
from harness.redis import RedisServer
from harness.servers import PostgresServer
from heartbeat_core.config import from_mapping
from heartbeat_core.record import Beat
from heartbeat_core.sections import DEFAULT_TABLES
from heartbeat_core.store import make_store

# Two shapes of the user's access_logs. Its columns server_addr and remote_addr are nginx's
# variable names: the real table is an nginx-style log, ~325 bytes a row with request, status,
# sizes, referer and user agent. The narrow shape has only the columns the exporter reads.
NGINX_TABLE = """
CREATE TABLE access_logs (
    id BIGSERIAL PRIMARY KEY,
    server_addr VARCHAR(64), remote_addr VARCHAR(64), remote_user VARCHAR(64),
    request_method VARCHAR(16), request_uri TEXT, server_protocol VARCHAR(16), status SMALLINT,
    body_bytes_sent BIGINT, request_time REAL, http_referer TEXT, http_user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
GROW = {
    "narrow": sa.text(
        "INSERT INTO access_logs (server_addr, remote_addr, created_at) "
        "SELECT '10.0.1.' || (g % 4), '10.0.2.' || (g % 200), now() - (g || ' ms')::interval "
        "FROM generate_series(1, :n) g"
    ),
    "nginx": sa.text(
        "INSERT INTO access_logs (server_addr, remote_addr, request_method, request_uri, "
        "server_protocol, status, body_bytes_sent, request_time, http_referer, http_user_agent, created_at) "
        "SELECT '10.0.1.' || (g % 4), '10.0.2.' || (g % 200), (ARRAY['GET','GET','GET','POST'])[1 + g % 4], "
        "'/api/v1/pipeline/nodes/' || (g % 5000) "
        "|| '/metrics?from=1763800000&to=1763803600&step=' || (g % 60), "
        "'HTTP/1.1', (ARRAY[200,200,200,200,304,404,500])[1 + g % 7], 200 + (g::bigint * 7919) % 50000, "
        "((g % 1000) / 1000.0)::real, 'https://monitor.example.internal/dashboard/' || (g % 50), "
        "'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1' "
        "|| (g % 30) || '.0.0.0 Safari/537.36', now() - (g || ' ms')::interval "
        "FROM generate_series(1, :n) g"
    ),
}
FULL_COUNT = sa.text("SELECT server_addr, remote_addr, count(*) FROM access_logs GROUP BY 1, 2")


def timed(fn: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> float:
    """Median wall time of ``repeat`` calls, after one warm-up call; ``before`` runs untimed before each."""
    fn()
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# what a service reports with --rich (SPEC §12): 8 metrics and 4 info keys, as the agent's
# system=True sends them (6 metrics) plus two of the program's own
RICH_METRICS: dict[str, float] = {
    "process_cpu_ratio": 0.031,
    "process_memory_bytes": 48_234_496.0,
    "system_memory_used_ratio": 0.412,
    "disk_free_ratio": 0.73,
    "load1": 0.52,
    "uptime_seconds": 86_412.5,
    "queue_length": 42.0,
    "anomaly_score": 0.013,
}
RICH_INFO = {"version": "2.4.1", "python": "3.11.7", "os": "Linux 6.1.0", "host": "node-17"}


def fill(url: str, services: int, now: float, rich: bool = False, share: float = 1.0) -> None:
    """``services`` services beat (``share`` of them: those that beat again since the last scrape)."""
    settings = from_mapping({"redis_url": url, "max_services": services + 1})
    store = make_store(settings)
    if share == 1.0:
        store.client.flushall()
    kinds = ["collector", "kafka", "redis", "backend", "frontend", "misc"]
    fields = {"metrics": RICH_METRICS, "info": RICH_INFO} if rich else {}
    step = round(1 / share)
    tick = time.perf_counter_ns() // 1000  # a new seq each time, and a different half
    beats = [
        Beat(f"{kinds[i % len(kinds)]}-{i}", "other", "", now - i % 300, {**fields, "seq": tick})
        for i in range(tick % step, services, step)
    ]
    for start in range(0, len(beats), 5000):
        store.record_many(beats[start : start + 5000])
    store.receivers.announce("benchmark", 3600)  # a live receiver: states are judged, not unknown


def bench_metrics(sizes: list[int], repeat: int, rich: bool = False, state_series: str = "all") -> None:
    """Every scrape of ours reads the store afresh (no snapshot cache), as Prometheus' would."""
    print("| services | /metrics (ours) | reference: Gauge objects | ratio | bytes | RSS MiB | Redis MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    gzipped: list[list[str]] = []
    with RedisServer() as server:
        for n in sizes:
            now = time.time()
            fill(server.url, n, now, rich)
            redis_mib = redis.Redis.from_url(server.url).info("memory")["used_memory"] / 2**20
            config = {"max_services": n + 1, "snapshot_cache_seconds": 0, "state_series": state_series}
            exporter = build(from_mapping({"redis_url": server.url, **config}))
            # between two scrapes 15 s apart, half of a fleet beating every 30 s has beaten again
            churn = functools.partial(fill, server.url, n, now, rich, 0.5)
            ours = timed(lambda e=exporter: render(e.registry), repeat, churn)  # type: ignore[misc]
            size = len(render(exporter.registry))
            snapshot = exporter.reader.read().snapshot
            assert snapshot is not None and len(snapshot.services) == n

            reference = CollectorRegistry()
            labels = ["service_name", "service_type"]
            g_seen = Gauge("heartbeat_last_seen_timestamp_seconds", "x", labels, registry=reference)
            g_age = Gauge("heartbeat_age_seconds", "x", labels, registry=reference)
            g_up = Gauge("heartbeat_up", "x", labels, registry=reference)
            c_rx = Counter("heartbeat_received", "x", labels, registry=reference)
            g_state = Gauge("heartbeat_state", "x", [*labels, "state"], registry=reference)
            g_metric = Gauge("heartbeat_metric", "x", [*labels, "name"], registry=reference)
            info_keys = sorted(RICH_INFO) if rich else []
            g_info = Gauge("heartbeat_info", "x", [*labels, *info_keys], registry=reference)
            for s in snapshot.services:  # what a background updater would have set
                g_seen.labels(s.name, s.service_type).set(s.last_seen)
                g_age.labels(s.name, s.service_type).set(now - s.last_seen)
                g_up.labels(s.name, s.service_type).set(1)
                c_rx.labels(s.name, s.service_type).inc(s.received)
                for state in ("paused", "unknown", "down", "failing", "late", "up"):
                    g_state.labels(s.name, s.service_type, state).set(1 if state == "up" else 0)
                if rich:
                    for name, value in RICH_METRICS.items():
                        g_metric.labels(s.name, s.service_type, name).set(value)
                    g_info.labels(s.name, s.service_type, *(RICH_INFO[k] for k in info_keys)).set(1)
            ref = timed(lambda r=reference: generate_latest(r), repeat)  # type: ignore[misc]
            del reference, g_seen, g_age, g_up, c_rx, g_state, g_metric, g_info
            gc.collect()
            cells = [
                f"{n:,}",
                f"{ours * 1000:.1f} ms",
                f"{ref * 1000:.1f} ms",
                f"{ours / ref:.2f}×",
                f"{size:,}",
                f"{rss_mib():.0f}",
                f"{redis_mib:.0f}",
            ]
            print("| " + " | ".join(cells) + " |")
            gzipped.append(gzip_row(n, render(exporter.registry), repeat))
    print("\ngzip of the same exposition (Accept-Encoding: gzip), by level:\n")
    print("| services | level | time | compressed bytes | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for rows in gzipped:
        print("\n".join(rows))


def bench_stages(services: int, repeat: int) -> None:
    """Where a scrape's time goes: the store's read (its script, the snapshot's decode, the status
    rule) and the families and their text after it, when no service beat since the last scrape
    and when half of them did. Each a median of ``repeat``."""
    found: dict[str, list[float]] = {}
    with RedisServer() as server:
        now = time.time()
        fill(server.url, services, now)
        config = {"max_services": services + 1, "snapshot_cache_seconds": 3600}  # render: the read's reading
        exporter = build(from_mapping({"redis_url": server.url, **config}))
        render(exporter.registry)
        for _ in range(repeat):
            for churn, beat in ((0.0, "none beat"), (0.5, "half beat")):
                if churn:
                    fill(server.url, services, now, False, churn)
                exporter.reader.forget()
                with collector_paused():  # as a scrape reads: within the render's pause
                    start = time.perf_counter()
                    exporter.reader.read()
                    found.setdefault(f"read, {beat}", []).append(time.perf_counter() - start)
                start = time.perf_counter()
                render(exporter.registry)
                found.setdefault(f"render, {beat}", []).append(time.perf_counter() - start)
    print(" | ".join(f"{stage} {statistics.median(v) * 1000:.1f} ms" for stage, v in found.items()))


def gzip_row(services: int, body: bytes, repeat: int) -> list[str]:
    rows = []
    for level in (1, 6, 9):
        took = timed(lambda b=body, lv=level: gzip.compress(b, compresslevel=lv), repeat)  # type: ignore[misc]
        size = len(gzip.compress(body, compresslevel=level))
        rows.append(f"| {services:,} | {level} | {took * 1000:.1f} ms | {size:,} | {len(body) / size:.1f}× |")
    return rows


def full_count(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(FULL_COUNT).all()


def explained(engine: Engine, counter: TrafficCounter) -> float:
    """Seconds PostgreSQL spends on the poll's count of the rows not counted yet (EXPLAIN ANALYZE
    executes it; the state does not move, so the poll that follows counts the same rows)."""
    table = counter.tables["access_logs"]
    query = table.count_new("postgresql").params(high=table.state.high)
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).scalar_one()
    return float(plan[0]["Execution Time"]) / 1000


def bench_poll(sizes: list[int], new_rows: int, repeat: int, shapes: list[str]) -> None:
    print(
        f"| table | rows | bytes a row | poll of {new_rows:,} new rows | the database's own work "
        "(EXPLAIN ANALYZE) | poll / own work | full GROUP BY count | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    server = PostgresServer().init()
    try:
        for shape in shapes:
            url = server.create_database(f"bench_{shape}")
            engine = make_engine(url, timeout=600)
            with engine.begin() as conn:
                if shape == "nginx":
                    conn.exec_driver_sql(NGINX_TABLE)
                conn.exec_driver_sql(Path("deploy/postgres/init.sql").read_text(encoding="utf-8"))
            present = 0
            for rows in sizes:
                with engine.begin() as conn:  # grow the table to `rows` rows, realistic addresses
                    conn.execute(GROW[shape], {"n": rows - present})
                present = rows
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE access_logs")
                    size = conn.exec_driver_sql("SELECT pg_relation_size('access_logs')").scalar_one()
                tables = {"access_logs": DEFAULT_TABLES["access_logs"]}
                counter = TrafficCounter(engine, tables, settle_seconds=30, max_keys=1000, timeout=600)
                assert counter.poll()
                polls, own = [], []
                for _ in range(repeat):
                    with engine.begin() as conn:
                        conn.execute(GROW[shape], {"n": new_rows})
                    own.append(explained(engine, counter))
                    start = time.perf_counter()
                    assert counter.poll()
                    polls.append(time.perf_counter() - start)
                present += new_rows * repeat
                assert counter.tables["access_logs"].state.total == new_rows * repeat
                poll, work = statistics.median(polls), statistics.median(own)
                whole = timed(functools.partial(full_count, engine), max(1, repeat // 3))
                cells = [
                    shape,
                    f"{rows:,}",
                    f"{size / present:.0f}",
                    f"{poll * 1000:.2f} ms",
                    f"{work * 1000:.2f} ms",
                    f"{poll / work:.2f}×",
                    f"{whole * 1000:.0f} ms",
                    f"{whole / poll:.0f}×",
                ]
                print("| " + " | ".join(cells) + " |", flush=True)
            engine.dispose()
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("metrics")
    m.add_argument("--services", type=int, nargs="+", default=[1000, 10_000, 100_000])
    m.add_argument("--repeat", type=int, default=5)
    m.add_argument("--rich", action="store_true", help="each service reports 8 metrics and 4 info keys")
    m.add_argument(
        "--state-series", choices=["all", "current"], default="all", help="the exporter's state_series"
    )
    st = sub.add_parser("stages")
    st.add_argument("--services", type=int, default=10_000)
    st.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("poll")
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--new", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--shape", nargs="+", choices=sorted(GROW), default=["nginx", "narrow"])
    w = sub.add_parser("window")
    w.add_argument("--rows-per-day", type=int, default=10_000_000)
    w.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.what == "metrics":
        bench_metrics(args.services, args.repeat, args.rich, args.state_series)
    elif args.what == "stages":
        bench_stages(args.services, args.repeat)
    elif args.what == "window":
        print(json.dumps(bench_window(args.rows_per_day, args.rounds), indent=2))
    else:
        bench_poll(args.rows, args.new, args.repeat, args.shape)


if __name__ == "__main__":
    main()
