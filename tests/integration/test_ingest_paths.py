"""One ingest path: the WSGI fast path and the Flask route give byte-identical answers.

The same requests, in the same order, go over real HTTP to two receivers that differ only in
``fast_path``. Each has its own key prefix on one real Redis, so both see the same history
(the cap case depends on it).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest

from heartbeat_core.config import from_mapping
from heartbeat_monitor.redis_server import RedisServer
from heartbeat_receiver.app import create_app
from tests.support import FakeClock, LiveServer

TOKEN = "s3cret-token-0123456789"
MATTERS = ("Content-Type", "Content-Length", "Retry-After", "WWW-Authenticate")


@dataclass(frozen=True)
class Call:
    body: bytes | list[bytes]  # a list is sent chunked
    path: str = "/heartbeat"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def call(body: Any, **kwargs: Any) -> Call:
    return Call(body if isinstance(body, (bytes, list)) else json.dumps(body).encode(), **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": token}


# per receiver configuration, the requests it gets, in order
CASES: dict[str, list[Call]] = {
    "open": [
        call(b'{"type": 4}'),
        call({"service": "kafka-broker-1"}),
        call({"service_name": "数据采集-1"}, path="/heartbeat/report"),
        call({"service": "backend-1", "timestamp": 1763799990.5, "interval": 30}),
        call({"service": "x", "type": "redis"}),
        call({"type": "4"}),
        call({"service": "svc", "extra": {"nested": [1, 2, 3]}}),
        call(b""),
        call(b"   \n"),
        call(b"{not json"),
        call(b"[1, 2]"),
        call(b'"a string"'),
        call(b"null"),
        call({}),
        call({"service": 5}),
        call({"service": ""}),
        call({"service": "x" * 201}),
        call({"service": "bad\x07name"}),
        call({"service": "s", "type": True}),
        call({"service": "s", "type": 1.5}),
        call({"service": "s", "timestamp": "yesterday"}),
        call({"service": "s", "timestamp": False}),
        call(b'{"service": "s", "interval": NaN}'),
        call(b'{"service": "s", "timestamp": 1' + b"0" * 400 + b"}"),
        call(b"[" * 1500 + b"]" * 1500),
        call(b'{"service": "\xff\xfe"}'),
        call({"service": "big", "pad": "x" * 5000}),
        call([b'{"service": ', b'"chunked-1"}']),
        call([b'{"service": "chunked-big", "pad": "', b"x" * 3000, b"x" * 3000, b'"}']),
    ],
    "tokens": [
        call({"service": "t-1"}),
        call({"service": "t-1"}, headers=bearer("")),
        call({"service": "t-1"}, headers=bearer(f"Bearer {TOKEN}x")),
        call({"service": "t-1"}, headers=bearer(f"Basic {TOKEN}")),
        call({"service": "t-1"}, headers=bearer(f"Bearer {TOKEN}")),
        call({"service": "t-1"}, headers=bearer(f"bearer {TOKEN}")),
        call({"service": "big", "pad": "x" * 5000}, headers=bearer(f"Bearer {TOKEN}")),
    ],
    "cap": [call({"service": "first"}), call({"service": "second"}), call({"service": "first"})],
    "store_down": [call({"service": "lost"}), call(b"{not json")],
}
CONFIG: dict[str, dict[str, Any]] = {
    "open": {},
    "tokens": {"ingest_tokens": [TOKEN]},
    "cap": {"max_services": 1},
    "store_down": {},  # on a Redis of its own, stopped before its requests
}


def send(port: int, request: Call) -> tuple[int, dict[str, str | None], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        chunked = isinstance(request.body, list)
        connection.request(
            "POST", request.path, body=iter(request.body) if chunked else request.body,
            headers=request.headers, encode_chunked=chunked,
        )  # fmt: skip
        response = connection.getresponse()
        return response.status, {name: response.getheader(name) for name in MATTERS}, response.read()
    finally:
        connection.close()


@pytest.fixture
def receivers(
    redis_server: RedisServer, own_redis: RedisServer
) -> Iterator[dict[tuple[str, bool], LiveServer]]:
    clock = FakeClock()
    with ExitStack() as stack:
        servers = {}
        for name, config in CONFIG.items():
            for fast in (True, False):
                url = (own_redis if name == "store_down" else redis_server).url
                settings = from_mapping({"redis_url": url, "redis_key_prefix": f"{name}-{fast}", **config})
                server = LiveServer(create_app(settings, clock=clock, fast_path=fast))
                stack.callback(server.stop)
                servers[(name, fast)] = server
        yield servers


def test_the_fast_path_and_the_flask_route_answer_byte_for_byte_alike(
    receivers: dict[tuple[str, bool], LiveServer], own_redis: RedisServer
) -> None:
    answers = []
    for name, calls in CASES.items():
        if name == "store_down":
            own_redis.stop()
        for request in calls:
            fast = send(receivers[(name, True)].port, request)
            flask = send(receivers[(name, False)].port, request)
            assert fast == flask, (name, request)
            assert fast[1]["Content-Type"] == "application/json" and fast[2].endswith(b"\n")
            answers.append(fast)
    assert len(answers) >= 30
    # the requests reach every answer the ingest path has, so the comparison covers each of them
    assert {status for status, _, _ in answers} == {200, 400, 401, 413, 429, 503}
    assert all(json.loads(body) for _, _, body in answers)
