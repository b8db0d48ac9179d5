"""Incremental traffic counting on real PostgreSQL and SQLite: exact, despite out-of-order commits."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from exporter.sql.database import make_engine
from exporter.sql.schema import create_schema, table
from exporter.sql.traffic import OVERFLOW, TrafficCounter
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import DEFAULT_TABLES
from tests.support import FakeClock

NODE = table(DEFAULT_TABLES["node_monitor_metrics"])
ACCESS = table(DEFAULT_TABLES["access_logs"])


def node_row(ip: str) -> dict[str, object]:
    return {"ip": ip, "created_at": dt.datetime.now(dt.timezone.utc)}


def edge_counts(counter: TrafficCounter, edge: str) -> dict[tuple[str, str], int]:
    return {(s.source, s.target): s.value for s in counter.snapshot().edges[edge]}


def make_counter(
    url: str, clock: Callable[[], float], settle: float = 30.0, max_keys: int = 1000
) -> TrafficCounter:
    engine = make_engine(url, timeout=10)
    create_schema(engine)
    return TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=settle, max_keys=max_keys, timeout=30, clock=clock
    )


def test_rows_present_before_counting_began_are_not_traffic(db_url: str, clock: FakeClock) -> None:
    engine = make_engine(db_url, 10)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(NODE), [node_row("10.0.0.1")] * 5)
    counter = TrafficCounter(engine, DEFAULT_TABLES, settle_seconds=30, max_keys=100, timeout=30, clock=clock)
    assert counter.poll()
    assert edge_counts(counter, "data_collection_to_kafka") == {}
    with engine.begin() as conn:
        conn.execute(sa.insert(NODE), [node_row("10.0.0.1")] * 3 + [node_row("10.0.0.2")])
    assert counter.poll()
    assert edge_counts(counter, "data_collection_to_kafka") == {
        ("10.0.0.1", "kafka"): 3,
        ("10.0.0.2", "kafka"): 1,
    }
    assert edge_counts(counter, "kafka_to_database") == {("kafka", "database"): 4}


def test_late_commits_are_counted_once_and_deletes_never_lower_a_counter(
    pg_url: str, clock: FakeClock
) -> None:
    counter = make_counter(pg_url, clock, settle=30)
    engine = counter.engine
    assert counter.poll()
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(sa.insert(NODE), [node_row("10.0.0.1")])  # takes the lower id, commits last
    with engine.begin() as fast:
        fast.execute(sa.insert(NODE), [node_row("10.0.0.2")])
    assert counter.poll()
    assert edge_counts(counter, "data_collection_to_kafka") == {("10.0.0.2", "kafka"): 1}
    clock.advance(10)
    slow_tx.commit()
    slow.close()
    assert counter.poll()
    assert counter.poll()  # polling again changes nothing
    assert edge_counts(counter, "data_collection_to_kafka") == {
        ("10.0.0.1", "kafka"): 1,
        ("10.0.0.2", "kafka"): 1,
    }
    # a rolled-back id is watched until the settle window passes, then forgotten
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(sa.insert(NODE), [node_row("10.0.0.3")])
        tx.rollback()
    with engine.begin() as conn:
        conn.execute(sa.insert(NODE), [node_row("10.0.0.2")])
    assert counter.poll()
    assert counter.snapshot().open_gaps["node_monitor_metrics"] == 1
    clock.advance(31)
    assert counter.poll()
    assert counter.snapshot().open_gaps["node_monitor_metrics"] == 0
    # retention deletes everything: counters stay
    with engine.begin() as conn:
        conn.execute(sa.delete(NODE))
    assert counter.poll()
    assert edge_counts(counter, "kafka_to_database") == {("kafka", "database"): 3}


def test_concurrent_writers_with_interleaved_commits_match_a_full_recount(db_url: str) -> None:
    """Several connections insert with random hold times, rollbacks and deletes while a poller runs."""
    # a real clock: rolled-back ids stop being watched after 2 s, far beyond any hold time here
    counter = make_counter(db_url, time.time, settle=2.0)
    # the pipeline writes through its own connections, not the exporter's small pool
    options = {"pool_size": 10} if db_url.startswith("postgresql") else {"connect_args": {"timeout": 10}}
    engine = sa.create_engine(db_url, **options)  # type: ignore[arg-type]
    assert counter.poll()
    ledger: Counter[tuple[str, str]] = Counter()  # what was committed since counting began
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + 5.0  # bounded in time
    failures: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                batch = [
                    (rng.choice(["10.0.1.2", "10.0.1.3"]), f"10.0.2.{rng.randint(1, 5)}")
                    for _ in range(rng.randint(1, 5))
                ]
                try:
                    with engine.connect() as conn:
                        tx = conn.begin()
                        conn.execute(
                            sa.insert(ACCESS),
                            [
                                {
                                    "server_addr": s,
                                    "remote_addr": r,
                                    "created_at": dt.datetime.now(dt.timezone.utc),
                                }
                                for s, r in batch
                            ],
                        )
                        time.sleep(rng.uniform(0, 0.03))  # hold the ids while others commit
                        if rng.random() < 0.15:
                            tx.rollback()
                            continue
                        tx.commit()
                except sa.exc.OperationalError:  # SQLite: database is locked; nothing was committed
                    continue
                with lock:
                    ledger.update(batch)
                time.sleep(rng.uniform(0, 0.01))  # writers are busy, not saturating: others get the lock
        except BaseException as exc:
            failures.append(exc)

    deleted = [0]

    def deleter() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            # a retention job removing old rows: those below every id still watched (counted
            # already); real jobs keep days of rows, this one keeps only the open range
            state = counter.tables["access_logs"].state
            if state.high is not None:
                below = min([gap.lo for gap in state.gaps] + [state.high + 1])
                try:
                    with engine.begin() as conn:
                        deleted[0] += conn.execute(sa.delete(ACCESS).where(ACCESS.c.id < below)).rowcount
                except sa.exc.OperationalError:
                    pass
            time.sleep(0.05)

    def poller() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            counter.poll()  # may fail on a locked SQLite file: then it changes nothing
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=deleter), threading.Thread(target=poller)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stop.set()
    assert not failures
    assert sum(ledger.values()) > 100, "the writers made too little traffic to prove anything"
    assert deleted[0] > 0, f"the retention job deleted nothing: {counter.tables['access_logs'].state}"
    assert counter.poll()
    assert edge_counts(counter, "backend_to_frontend") == dict(ledger)


def test_per_ip_cardinality_is_capped_and_the_rest_is_counted_as_overflow(
    db_url: str, clock: FakeClock
) -> None:
    counter = make_counter(db_url, clock, max_keys=3)
    assert counter.poll()
    with counter.engine.begin() as conn:
        conn.execute(sa.insert(NODE), [node_row(f"10.0.0.{i}") for i in range(10)])
    assert counter.poll()
    counts = edge_counts(counter, "data_collection_to_kafka")
    assert len(counts) == 4 and counts[(OVERFLOW, "kafka")] == 7
    assert sum(counts.values()) == 10
    assert counter.snapshot().overflow["data_collection_to_kafka"] == 7


def test_an_outage_freezes_counters_and_polls_catch_up_after(clock: FakeClock) -> None:
    from harness.servers import PostgresServer

    server = PostgresServer().init()
    try:
        counter = make_counter(server.url(), clock)
        assert counter.poll()
        with counter.engine.begin() as conn:
            conn.execute(sa.insert(NODE), [node_row("10.0.0.1")] * 2)
        assert counter.poll()
        with counter.engine.begin() as conn:  # arrives just before the outage, not polled yet
            conn.execute(sa.insert(NODE), [node_row("10.0.0.2")] * 4)
        server.stop()
        assert not counter.poll()
        assert edge_counts(counter, "kafka_to_database") == {("kafka", "database"): 2}
        assert counter.snapshot().errors[("node_monitor_metrics", "connect")] >= 1
        server.start()
        with counter.engine.begin() as conn:
            conn.execute(sa.insert(NODE), [node_row("10.0.0.1")] * 3)
        assert counter.poll()
        assert counter.poll()  # and again: nothing counted twice
        assert edge_counts(counter, "kafka_to_database") == {("kafka", "database"): 9}
        assert edge_counts(counter, "data_collection_to_kafka") == {
            ("10.0.0.1", "kafka"): 5,
            ("10.0.0.2", "kafka"): 4,
        }
    finally:
        server.close()


def test_a_missing_table_is_an_error_until_it_appears_then_counts_from_its_start(
    sqlite_url: str, clock: FakeClock
) -> None:
    engine = make_engine(sqlite_url, 10)
    counter = TrafficCounter(engine, DEFAULT_TABLES, settle_seconds=30, max_keys=100, timeout=30, clock=clock)
    assert not counter.poll()
    assert counter.snapshot().errors[("access_logs", "missing_table")] == 1
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(NODE), [node_row("10.0.0.1")] * 2)
    assert counter.poll()
    assert edge_counts(counter, "kafka_to_database") == {("kafka", "database"): 2}


def test_configured_table_and_column_names_with_unix_time(db_url: str, clock: FakeClock) -> None:
    settings = from_mapping(
        {
            "tables": {
                "redis_access_log": {
                    "table": "redis_log",
                    "id_column": "seq",
                    "ip_columns": ["peer"],
                    "time_column": "ts",
                    "time_kind": "unix",
                }
            }
        }
    )
    engine = make_engine(db_url, 10)
    create_schema(engine, settings.tables)
    counter = TrafficCounter(
        engine, settings.tables, settle_seconds=30, max_keys=100, timeout=30, clock=clock
    )
    assert counter.poll()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO redis_log (peer, ts) VALUES ('10.0.1.2', 1763800000.5)"))
        conn.execute(sa.text("INSERT INTO redis_log (peer, ts) VALUES ('10.0.1.2', 1763800079.9)"))
    assert counter.poll()
    assert edge_counts(counter, "redis_to_backend") == {("redis", "10.0.1.2"): 2}
    # the rollup's minutes: 1763800000.5 is in minute 29396666, 1763800079.9 in the next
    assert counter.tables["redis_access_log"].state.delta == {
        (29_396_666, ("10.0.1.2",)): 1,
        (29_396_667, ("10.0.1.2",)): 1,
    }


@pytest.mark.parametrize("gaps", [3, 200])
def test_many_open_gaps_are_read_in_one_span(pg_url: str, clock: FakeClock, gaps: int) -> None:
    counter = make_counter(pg_url, clock)
    engine = counter.engine
    assert counter.poll()
    held = engine.connect()
    held_tx = held.begin()
    for _ in range(gaps):  # every other id belongs to one transaction that commits last
        held.execute(sa.insert(NODE), [node_row("10.0.0.9")])
        with engine.begin() as other:
            other.execute(sa.insert(NODE), [node_row("10.0.0.1")])
    assert counter.poll()
    assert counter.snapshot().open_gaps["node_monitor_metrics"] == gaps
    held_tx.commit()
    held.close()
    assert counter.poll()
    assert edge_counts(counter, "data_collection_to_kafka") == {
        ("10.0.0.1", "kafka"): gaps,
        ("10.0.0.9", "kafka"): gaps,
    }
    assert counter.snapshot().open_gaps["node_monitor_metrics"] == 0
