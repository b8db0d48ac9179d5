"""Windows from the rollup: the same counts as one GROUP BY, on PostgreSQL and SQLite, real Redis.

Rows arrive over two hours of an injected clock, a few of them committing late and out of id
order (PostgreSQL: a transaction holds a low id while later ones commit); the worker polls as
time goes. Then windows that start and end mid-minute, mid-hour and outside the rollup's cover
are counted both ways, and must agree to the row.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from exporter.sql.database import make_engine
from exporter.sql.schema import create_schema, table
from exporter.sql.traffic import TrafficCounter
from exporter.state.rollup import Rollup
from exporter.state.window import WindowCounter, traffic_trend
from exporter.worker import Worker
from harness.redis import RedisServer
from heartbeat_core.edges import BACKENDS, COLLECTORS, FRONTENDS
from heartbeat_core.keys import KeySpace
from heartbeat_core.sections import DEFAULT_TABLES
from tests.support import FakeClock

START = 1_763_798_400.0  # on a whole hour


class NoProbe:
    def run(self) -> None:
        pass


def rows(rng: random.Random, name: str, at: float, n: int) -> list[dict[str, Any]]:
    spec = DEFAULT_TABLES[name]
    when = dt.datetime.fromtimestamp(at, dt.timezone.utc)
    ips = {"ip": COLLECTORS, "client_ip": BACKENDS, "server_addr": BACKENDS, "remote_addr": FRONTENDS}
    return [{spec.time_column: when, **{c: rng.choice(ips[c]) for c in spec.ip_columns}} for _ in range(n)]


def insert(conn: sa.Connection, rng: random.Random, at: float, n: int = 3) -> None:
    if not n:
        return
    for name, spec in DEFAULT_TABLES.items():
        conn.execute(sa.insert(table(spec)), rows(rng, name, at, n))


def same(a: dict[str, list[dict[str, Any]]], b: dict[str, list[dict[str, Any]]]) -> bool:
    def canonical(traffic: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
        return {edge: sorted(repr(sorted(r.items())) for r in rows) for edge, rows in traffic.items()}

    return canonical(a) == canonical(b)


def expire(client: redis.Redis, prefix: str, now: float, minutes: float, hours: float) -> int:
    """Drop the buckets Redis would have let expire by ``now`` (the test's clock runs ahead of Redis's)."""
    gone = 0
    for key in client.scan_iter(f"{{{prefix}}}:rollup:*"):
        *_, level, number = key.decode().split(":")
        if not number.isdecimal():
            continue
        size, kept = (60, minutes) if level == "m" else (3600, hours)
        if int(number) * size < now - kept:
            gone += client.delete(key)
    return gone


@pytest.mark.parametrize(("seed", "retained"), [(1, None), (2, None), (3, (1800, 5400))])
def test_windows_from_the_rollup_equal_one_group_by(
    db_url: str, redis_server: RedisServer, seed: int, retained: tuple[int, int] | None
) -> None:
    rng = random.Random(seed)
    clock = FakeClock(START)
    engine = make_engine(db_url, timeout=10)
    create_schema(engine)
    client = redis.Redis.from_url(redis_server.url)
    prefix = f"window-{seed}-{engine.dialect.name}"
    for key in client.scan_iter(f"{{{prefix}}}:*"):
        client.delete(key)
    minutes, hours = retained or (25 * 3600, 8 * 86400)
    rollup = Rollup(KeySpace(client, prefix), retention=hours, minute_retention=minutes, lease_seconds=60)
    traffic = TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=3600, max_keys=1000, timeout=30, clock=clock
    )
    worker = Worker(NoProbe(), traffic, 15, clock=clock, rollup=rollup)  # type: ignore[arg-type]
    with engine.begin() as conn:
        insert(conn, rng, START - 600, 5)  # history from before counting began
    worker.cycle()
    late: list[sa.Connection] = []
    for step in range(2 * 3600 // 45):
        clock.advance(45)
        with engine.begin() as conn:
            insert(conn, rng, clock.now - rng.uniform(0, 40), rng.randint(0, 4))
        if engine.dialect.name == "postgresql" and step % 40 == 5:
            holder = engine.connect()
            holder.begin()
            insert(holder, rng, clock.now - 1, 2)  # takes its ids now, commits a few polls later
            late.append(holder)
        if late and step % 40 == 8:
            for holder in late:
                holder.commit()
                holder.close()
            late.clear()
        worker.cycle()
    for holder in late:
        holder.commit()
        holder.close()
    clock.advance(45)
    worker.cycle()
    if retained:  # buckets older than their level's retention are gone: SQL counts those parts
        assert expire(client, prefix, clock.now, minutes, hours) > 0

    rolled = WindowCounter(engine, DEFAULT_TABLES, rollup)
    plain = WindowCounter(engine, DEFAULT_TABLES)
    windows = [
        (START - 900, clock.now),  # the whole run, and history before the cover
        (START + 37.5, START + 3600 + 1234.25),  # mid-minute at both ends, across an hour
        (START + 3600, START + 7200),  # whole hours
        (START + 59.9, START + 60.1),  # inside one minute
        (clock.now - 86400, clock.now),  # the status page's default window
        (START + 600, clock.now + 600),  # ends in the future
    ]
    windows += [(a, a + rng.uniform(1, 5000)) for a in (START + rng.uniform(0, 7000) for _ in range(20))]
    used = 0
    for start, end in windows:
        fast, slow = rolled.counts(start, end, 1000, clock.now), plain.counts(start, end, 1000, clock.now)
        assert fast.error is None and slow.error is None
        assert same(fast.traffic, slow.traffic), (start, end)
        used += any(fast.from_rollup.values())
    assert used >= len(windows) - 2  # the rollup answered, not SQL alone
    # the cover started after counting began, and ends at the minute being polled
    cover = rollup.cover("access_logs")
    assert cover is not None and START < cover.since <= START + 120 and cover.until <= clock.now


def test_a_second_exporter_does_not_count_the_same_rows_twice(
    sqlite_url: str, redis_server: RedisServer
) -> None:
    clock = FakeClock(START)
    engine = make_engine(sqlite_url, timeout=10)
    create_schema(engine)
    client = redis.Redis.from_url(redis_server.url)
    workers = []
    rollups = []
    for _ in range(2):
        rollup = Rollup(
            KeySpace(client, "two-writers"), retention=86400, minute_retention=7200, lease_seconds=600
        )
        traffic = TrafficCounter(
            engine, DEFAULT_TABLES, settle_seconds=30, max_keys=1000, timeout=30, clock=clock
        )
        workers.append(Worker(NoProbe(), traffic, 15, clock=clock, rollup=rollup))  # type: ignore[arg-type]
        rollups.append(rollup)
    rng = random.Random(7)
    for worker in workers:
        worker.cycle()
    for _ in range(200):
        clock.advance(30)
        with engine.begin() as conn:
            insert(conn, rng, clock.now - 5, 2)
        for worker in workers:
            worker.cycle()
    end = clock.now
    fast = WindowCounter(engine, DEFAULT_TABLES, rollups[1]).counts(START, end, 1000, end)
    slow = WindowCounter(engine, DEFAULT_TABLES).counts(START, end, 1000, end)
    assert any(fast.from_rollup.values())
    assert same(fast.traffic, slow.traffic)
    # only the lease holder wrote: the other's writes were refused
    assert client.get("{two-writers}:rollup:lease") == rollups[0].owner.encode()

    # stopping, the other gives back nothing; the holder gives the lease back at once, and the
    # other takes it at its next poll, not when it would have run out ten minutes later
    workers[1].stop()
    assert client.get("{two-writers}:rollup:lease") == rollups[0].owner.encode()
    workers[0].stop()
    assert client.get("{two-writers}:rollup:lease") is None
    for _ in range(20):
        clock.advance(30)
        with engine.begin() as conn:
            insert(conn, rng, clock.now - 5, 2)
        workers[1].cycle()
    assert client.get("{two-writers}:rollup:lease") == rollups[1].owner.encode()
    end = clock.now
    fast = WindowCounter(engine, DEFAULT_TABLES, rollups[1]).counts(START, end, 1000, end)
    slow = WindowCounter(engine, DEFAULT_TABLES).counts(START, end, 1000, end)
    assert same(fast.traffic, slow.traffic)  # exact across the handover


def test_a_rollup_write_that_fails_restarts_the_cover_and_sql_counts_the_gap(
    sqlite_url: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(START)
    engine = make_engine(sqlite_url, timeout=10)
    create_schema(engine)
    client = redis.Redis.from_url(redis_server.url, socket_timeout=0.3)
    rollup = Rollup(KeySpace(client, "paused"), retention=86400, minute_retention=7200, lease_seconds=600)
    traffic = TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=30, max_keys=1000, timeout=30, clock=clock
    )
    worker = Worker(NoProbe(), traffic, 15, clock=clock, rollup=rollup)  # type: ignore[arg-type]
    rng = random.Random(11)
    worker.cycle()

    def minutes(n: int) -> None:
        for _ in range(n):
            clock.advance(30)
            with engine.begin() as conn:
                insert(conn, rng, clock.now - 3, 2)
            worker.cycle()

    minutes(20)
    before = rollup.cover("access_logs")
    # Redis refuses writes for a moment (a failover, a pause): this poll's counts miss the rollup
    redis.Redis.from_url(redis_server.url).execute_command("CLIENT", "PAUSE", "1500", "WRITE")
    minutes(1)
    time.sleep(1.6)
    minutes(20)
    after = rollup.cover("access_logs")
    assert before is not None and after is not None and after.since > before.since  # a new cover
    assert "cannot write the traffic rollup" in caplog.text
    fast = WindowCounter(engine, DEFAULT_TABLES, rollup).counts(START, clock.now, 1000, clock.now)
    slow = WindowCounter(engine, DEFAULT_TABLES).counts(START, clock.now, 1000, clock.now)
    assert any(fast.from_rollup.values())
    assert same(fast.traffic, slow.traffic)


def test_a_key_with_a_tab_or_a_newline_cannot_corrupt_its_bucket(redis_server: RedisServer) -> None:
    rollup = Rollup(
        KeySpace(redis.Redis.from_url(redis_server.url), "odd"),
        retention=86400,
        minute_retention=7200,
        lease_seconds=60,
    )
    minute = int(START // 60)
    rollup.write("access_logs", {}, START - 120)  # the cover starts at the next minute
    odd = {(minute, ("10.0.1.2", "evil\n10.0.2.9\t7")): 3, (minute, ("10.0.1.3", "10.0.2.9")): 5}
    assert rollup.write("access_logs", odd, START + 120)
    counts, expired = rollup.counts("access_logs", START, START + 60, START + 120)
    assert expired == []
    assert counts == {("10.0.1.2", "evil 10.0.2.9 7"): 3, ("10.0.1.3", "10.0.2.9"): 5}


def test_an_ip_value_that_reads_like_the_id_counter_is_counted_as_itself(redis_server: RedisServer) -> None:
    """The ids hash kept its counter under '#next', a value an IP column can hold: that key's id
    and the counter collided, and one key's counts went to another."""
    client = redis.Redis.from_url(redis_server.url)
    space = KeySpace(client, "next")
    rollup = Rollup(space, retention=86400, minute_retention=7200, lease_seconds=60)
    minute = int(START // 60)
    rollup.write("redis_access_log", {}, START - 120)
    keys = [("#next",), ("10.0.1.2",), ("10.0.1.3",)]
    assert rollup.write("redis_access_log", {(minute, key): n for n, key in enumerate(keys, 1)}, START + 120)
    counts, _ = rollup.counts("redis_access_log", START, START + 60, START + 120)
    assert counts == {("#next",): 1, ("10.0.1.2",): 2, ("10.0.1.3",): 3}


def test_sqlite_text_times_are_exact_at_minute_edges(sqlite_url: str, redis_server: RedisServer) -> None:
    """Rows as SQLite's CURRENT_TIMESTAMP writes them (``YYYY-MM-DD HH:MM:SS``), one every second:
    a window from the rollup and SQL, and one from SQL alone, count each row once."""
    clock = FakeClock(START)
    engine = make_engine(sqlite_url, timeout=10)
    create_schema(engine)
    client = redis.Redis.from_url(redis_server.url)
    rollup = Rollup(KeySpace(client, "sqlite-text"), retention=86400, minute_retention=7200, lease_seconds=60)
    traffic = TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=30, max_keys=1000, timeout=30, clock=clock
    )
    worker = Worker(NoProbe(), traffic, 15, clock=clock, rollup=rollup)  # type: ignore[arg-type]
    worker.cycle()  # counting, and the rollup's cover, start here
    insert_row = sa.text(
        "INSERT INTO access_logs (server_addr, remote_addr, created_at) VALUES ('10.0.1.2', '10.0.2.9', :at)"
    )
    seconds = range(0, 600)
    for second in seconds:
        with engine.begin() as conn:
            at = dt.datetime.fromtimestamp(START + second, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            conn.execute(insert_row, {"at": at})
        if second % 15 == 14:
            clock.now = START + second + 1
            worker.cycle()
    clock.advance(60)
    worker.cycle()

    def total(counter: WindowCounter, start: float, end: float) -> int:
        window = counter.counts(start, end, 1000, clock.now)
        assert window.error is None
        return sum(row["count"] for row in window.traffic["backend_to_frontend"])

    for start, end in [
        (START + 150.5, START + 300),
        (START + 120, START + 480),
        (START + 179, START + 421.5),
    ]:
        expected = sum(1 for s in seconds if start <= START + s < end)
        assert total(WindowCounter(engine, DEFAULT_TABLES), start, end) == expected, (start, end)
        assert total(WindowCounter(engine, DEFAULT_TABLES, rollup), start, end) == expected, (start, end)


def test_a_trend_carries_the_same_steps_a_week_before_for_the_pages_band(redis_server: RedisServer) -> None:
    """The page draws each edge's band around last week's rows (SPEC §14), from the rollup's hours."""
    client = redis.Redis.from_url(redis_server.url)
    rollup = Rollup(
        KeySpace(client, "week-ago"), retention=8 * 86400, minute_retention=25 * 3600, lease_seconds=60
    )
    week, hour, table_name = 7 * 86400, 3600, "node_monitor_metrics"  # kafka_to_database's table
    assert rollup.write(table_name, {}, START)  # the cover starts at the next minute
    then = int(START // 60) + 60  # an hour in: 120 rows in its first minute, 60 in its second
    assert rollup.write(
        table_name, {(then, ("10.0.0.1",)): 120, (then + 1, ("10.0.0.1",)): 60}, START + 2 * hour
    )
    now = START + week + 5 * hour
    assert rollup.write(table_name, {}, now)  # the cover reaches today
    days = traffic_trend(rollup, START + week, START + week + 100 * hour, now)["kafka_to_database"]
    assert days["step"] == hour
    # the first hour a week before is not whole (the cover began a minute into it); the second
    # held the 180 rows; the third none
    assert [v for _, v in days["week_ago"]][:3] == [None, 180, 0]
    minutes = traffic_trend(rollup, START + week + hour, START + week + 2 * hour, now)["kafka_to_database"]
    assert minutes["step"] == 60  # a minute gets its share of that hour: 180 / 60
    assert {v for _, v in minutes["week_ago"]} == {3.0}
