"""Every fixture of the suite, in one place: real servers on free loopback ports, and the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from harness.redis import RedisServer
from harness.servers import PostgresServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app
from tests.support import FakeClock, LiveServer


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(folder=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.close()


@pytest.fixture
def redis_server(redis_session: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, emptied for each test."""
    client = redis.Redis.from_url(redis_session.url)
    client.flushall()
    client.close()
    yield redis_session


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, for tests that stop and restart it."""
    server = RedisServer(folder=tmp_path / "redis")
    server.folder.mkdir()
    server.start()
    yield server
    server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def live_receiver(redis_server: RedisServer) -> Iterator[LiveServer]:
    settings = from_mapping({"redis_url": redis_server.url})
    server = LiveServer(create_app(settings))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().init()
    yield server
    server.close()


_databases = iter(range(10_000))


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL."""
    return postgres.create_database(f"pipeline_{next(_databases)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pipeline.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on both real databases."""
    name = "pg_url" if request.param == "postgresql" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(autouse=True)
def stop_presences(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Receivers' presence threads end with the test that made them.

    A receiver app announces itself every ``receiver_ttl / 5`` seconds from a daemon thread for
    as long as the process lives; left running, one test's receivers would count as alive in
    the next test's Redis.
    """
    from heartbeat_receiver.presence import Presence

    started: list[Presence] = []
    original = Presence.start

    def start(self: Presence) -> Presence:
        started.append(self)
        return original(self)

    monkeypatch.setattr(Presence, "start", start)
    yield
    for presence in started:
        presence.stop()
