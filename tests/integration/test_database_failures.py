"""Typed database failures, and queries cancelled on the server when the deadline passes."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from exporter.sql.database import make_engine
from exporter.sql.failure import classify, classify_table
from exporter.sql.probe import DatabaseProbe
from exporter.sql.schema import create_schema
from harness.servers import PostgresServer, wait_until


def active_sleeps(admin: sa.Engine) -> int:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
        " AND query LIKE 'SELECT pg_sleep%'"
    )
    with admin.connect() as conn:
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def admin(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


def test_a_query_past_its_deadline_is_cancelled_on_the_server(pg_url: str, admin: sa.Engine) -> None:
    # the server's own statement timeout is far away: only our deadline can stop the query
    engine = make_engine(pg_url, timeout=60)
    probe = DatabaseProbe(engine, "pipeline", timeout=0.5, statement="SELECT pg_sleep(30)")
    started = time.monotonic()
    result = probe.run()
    assert (result.up, result.reason) == (False, "timeout")
    assert time.monotonic() - started < 5  # reported at the deadline, not when the query ends
    wait_until(lambda: active_sleeps(admin) == 0, timeout=3)
    assert probe.runner.busy is False  # the helper thread is free for the next call at once
    probe.statement = sa.text("SELECT 1")
    assert probe.run().up


def test_without_a_deadline_overrun_nothing_is_cancelled(pg_url: str, admin: sa.Engine) -> None:
    """The control: a query within its deadline runs to its end (the cancel is not blanket)."""
    engine = make_engine(pg_url, timeout=60)
    probe = DatabaseProbe(engine, "pipeline", timeout=5, statement="SELECT pg_sleep(0.5)::text IS NULL")
    seen: list[int] = []
    watcher = threading.Timer(0.25, lambda: seen.append(active_sleeps(admin)))
    watcher.start()
    assert probe.run().up
    watcher.join()
    assert seen == [1]


def test_failures_are_classified_by_sqlstate_and_class(pg_url: str, postgres: PostgresServer) -> None:
    engine = sa.create_engine(pg_url)

    def reason_of(sql: str, **options: object) -> str:
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
            conn.execute(sa.text(sql), options)
        return classify(caught.value)

    assert reason_of("SELECT * FROM no_such_table") == "missing_table"  # 42P01
    assert reason_of("SET statement_timeout = 50; SELECT pg_sleep(1)") == "timeout"  # 57014
    assert reason_of("SELEKT 1") == "query"  # 42601 syntax_error
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE ROLE reader LOGIN"))
        conn.execute(sa.text("CREATE TABLE secret (id int)"))
        conn.commit()
    reader = sa.create_engine(pg_url.replace("monitor@", "reader@"))
    with pytest.raises(sa.exc.DBAPIError) as caught, reader.connect() as conn:
        conn.execute(sa.text("SELECT * FROM secret"))
    assert classify(caught.value) == "auth"  # 42501 insufficient_privilege
    closed = sa.create_engine(pg_url.replace(f":{postgres.port}/", ":1/"))
    with pytest.raises(sa.exc.DBAPIError) as caught, closed.connect():
        pass
    assert classify(caught.value) == "connect"  # refused before any SQLSTATE


def test_sqlite_failures_are_classified_by_result_code(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM access_logs"))
    assert classify(caught.value) == "query"  # SQLITE_ERROR says no more than that ...
    assert classify_table(engine, "access_logs", caught.value) == "missing_table"  # ... the catalog does
    create_schema(engine)
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT nope FROM access_logs"))
    assert classify_table(engine, "access_logs", caught.value) == "query"
    locked = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    locked.execute("BEGIN EXCLUSIVE")
    try:
        waiting = sa.create_engine(sqlite_url, connect_args={"timeout": 0.1})
        with pytest.raises(sa.exc.DBAPIError) as caught, waiting.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM access_logs"))
        assert classify(caught.value) == "timeout"  # SQLITE_BUSY
    finally:
        locked.rollback()
        locked.close()
