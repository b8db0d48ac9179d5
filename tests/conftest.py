"""Real servers for the tests: each fixture starts one on a free loopback port and stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from werkzeug.serving import make_server

from heartbeat_core.config import from_mapping
from heartbeat_monitor.redis_server import RedisServer, free_port
from heartbeat_receiver.app import create_app
from tests.servers import PostgresServer


class FakeClock:
    """An injected clock: tests move time forward instead of sleeping."""

    def __init__(self, start: float = 1_763_800_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


class LiveServer:
    """A WSGI app on a real loopback socket, in a thread of the test process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.server = make_server("127.0.0.1", port or free_port(), app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
