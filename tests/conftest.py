"""Real servers for the tests: each fixture starts one on a free loopback port and stops it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from heartbeat_monitor.redis_server import RedisServer


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
