"""The production set-up: ``heartbeat-receiver`` (Granian workers), spoken to over real HTTP."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store
from heartbeat_monitor.redis_server import RedisServer


@pytest.fixture
def receiver(redis_server: RedisServer) -> Iterator[int]:
    with served(
        "heartbeat_receiver", "--workers", "1", env={"HEARTBEAT_REDIS_URL": redis_server.url}
    ) as port:
        yield port


def test_seed_curl_example_against_the_served_receiver(receiver: int, redis_server: RedisServer) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{receiver}/heartbeat",
        data=b'{"type": 4}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.load(response)
    assert response.status == 200
    assert body["service"] == "type-4@127.0.0.1" and body["type"] == "other"
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    assert [s.name for s in store.snapshot().services] == ["type-4@127.0.0.1"]


def test_chunked_bodies_over_the_limit_get_413(receiver: int, redis_server: RedisServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver, timeout=5)
    chunks = iter([b'{"service": "a", "pad": "', b"x" * 50_000, b'"}'])
    connection.request(
        "POST", "/heartbeat", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 413, response.read()
    assert json.loads(response.read())["error"]
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    assert store.snapshot().services == ()
