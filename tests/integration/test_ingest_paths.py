"""One ingest path: the Flask route and the RSGI server answer alike.

The same requests, in the same order, go over real HTTP to two receivers: the Flask app in this
process (on a fake clock), and ``heartbeat-receiver`` itself on Granian's RSGI interface
(identical but for the time it received each heartbeat). Each has its own key prefix on one real
Redis, so both see the same history (the cap cases depend on it).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.redis import RedisServer
from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import token_hash
from heartbeat_receiver.app import create_app
from tests.support import FakeClock, LiveServer

TOKEN = "s3cret-token-0123456789"
SCOPED = "scoped-token-0123456789"  # may write kafka-* only, with a reserve
OTHER = "others-token-0123456789"
MATTERS = ("Content-Type", "Content-Length", "Retry-After", "WWW-Authenticate")


@dataclass(frozen=True)
class Call:
    body: bytes | list[bytes]  # a list is sent chunked
    path: str = "/heartbeat"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def call(body: Any, **kwargs: Any) -> Call:
    return Call(body if isinstance(body, (bytes, list)) else json.dumps(body).encode(), **kwargs)


def batch(*beats: Any, **kwargs: Any) -> Call:
    return Call(json.dumps(list(beats)).encode(), path="/heartbeat/batch", **kwargs)


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
        call({"service": "form"}, headers={"Content-Type": "application/x-www-form-urlencoded"}),
        call({"service": "plain"}, headers={"Content-Type": "text/plain"}),
        call({"service": "none"}, headers={}),
        call({"service": "charset"}, headers={"Content-Type": "Application/JSON; charset=utf-8"}),
        call({"service": "kafka\u200b-1"}),
        call({"service": "\u202ekafka-1"}),
        call({"service": "ｋａｆｋａ-1"}),  # full-width: the same service as kafka-1 after NFKC
        call({"service": "x" * 199 + "ﷺ"}),  # 200 characters that NFKC makes 217
        call([b'{"service": ', b'"chunked-1"}']),
        call([b'{"service": "chunked-big", "pad": "', b"x" * 3000, b"x" * 3000, b'"}']),
        batch(
            {"service": "b-1", "timestamp": 1763799990.5}, {"service": ""}, 5, {"type": 4}, {"service": "b-1"}
        ),
        batch(),
        batch(*[{"service": "b-2"}] * 1001),
        Call(b'{"service": "b-3"}', path="/heartbeat/batch"),
        Call(b"[{not json", path="/heartbeat/batch"),
        batch({"service": "b-4"}, headers={"Content-Type": "text/plain"}),
    ],
    "tokens": [
        call({"service": "t-1"}),
        call({"service": "t-1"}, headers=bearer("")),
        call({"service": "t-1"}, headers=bearer(f"Bearer {TOKEN}x")),
        call({"service": "t-1"}, headers=bearer(f"Basic {TOKEN}")),
        call({"service": "t-1"}, headers=bearer(f"Bearer {TOKEN}")),
        call({"service": "t-1"}, headers=bearer(f"bearer {TOKEN}")),
        call({"service": "big", "pad": "x" * 5000}, headers=bearer(f"Bearer {TOKEN}")),
        batch({"service": "t-2"}),
        batch({"service": "t-2"}, headers=bearer(f"Bearer {TOKEN}")),
    ],
    "cap": [
        call({"service": "first"}),
        call({"service": "second"}),
        call({"service": "first"}),
        batch({"service": "first"}, {"service": "third"}),
    ],
    "scoped": [
        call({"service": "kafka-1"}, headers=bearer(f"Bearer {SCOPED}")),
        call({"service": "backend-1"}, headers=bearer(f"Bearer {SCOPED}")),
        call({"type": 4}, headers=bearer(f"Bearer {SCOPED}")),  # a derived name, outside too
        call({"service": "backend-1"}, headers=bearer(f"Bearer {OTHER}")),
        call({"service": "backend-2"}, headers=bearer(f"Bearer {OTHER}")),  # the shared cap: 4 - 2
        call({"service": "kafka-2"}, headers=bearer(f"Bearer {SCOPED}")),  # the reserve: 2 more
        call({"service": "kafka-3"}, headers=bearer(f"Bearer {SCOPED}")),
        call({"service": "kafka-4"}, headers=bearer(f"Bearer {SCOPED}")),
        batch(
            {"service": "kafka-1"},
            {"service": "backend-1"},
            {"service": "kafka-9"},
            headers=bearer(f"Bearer {SCOPED}"),
        ),
    ],
    "proxied": [
        call({"type": 4}, headers={"Content-Type": "application/json", "X-Forwarded-For": "10.1.2.3"}),
        call({"type": 4}, headers={"Content-Type": "application/json", "X-Forwarded-For": "2001:db8::1"}),
        call({"type": 4}, headers={"Content-Type": "application/json", "X-Forwarded-For": "10.1.2.3\tx"}),
        call({"type": 4}, headers={"Content-Type": "application/json", "X-Forwarded-For": "<script>"}),
        call({"type": 4}, headers={"Content-Type": "application/json", "X-Forwarded-For": "fe80::1%eth0\tx"}),
        call({"type": 5}, headers={"Content-Type": "application/json", "X-Forwarded-For": "2001:DB8:0::1"}),
    ],
    "store_down": [call({"service": "lost"}), call(b"{not json")],
}
CONFIG: dict[str, dict[str, Any]] = {
    "open": {},
    "tokens": {"ingest_tokens": [TOKEN]},
    "cap": {"max_services": 1},
    "scoped": {
        "max_services": 4,
        "ingest_tokens": [
            {"token_hash": token_hash(SCOPED), "prefixes": ["kafka-"], "reserve": 2},
            OTHER,
        ],
    },
    "proxied": {"trusted_proxies": 1},
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


def environment(redis_url: str, prefix: str, config: dict[str, Any]) -> dict[str, str]:
    """A configuration as ``heartbeat-receiver`` reads it from its environment."""
    values = {"redis_url": redis_url, "redis_key_prefix": prefix, **config}
    return {
        f"HEARTBEAT_{key.upper()}": value if isinstance(value, str) else json.dumps(value)
        for key, value in values.items()
    }


@pytest.fixture
def receivers(redis_server: RedisServer, own_redis: RedisServer) -> Iterator[dict[tuple[str, str], int]]:
    clock = FakeClock()
    with ExitStack() as stack:
        ports = {}
        for name, config in CONFIG.items():
            url = (own_redis if name == "store_down" else redis_server).url
            settings = from_mapping({"redis_url": url, "redis_key_prefix": f"{name}-flask", **config})
            server = LiveServer(create_app(settings, clock=clock))
            stack.callback(server.stop)
            ports[(name, "flask")] = server.port
            env = environment(url, f"{name}-rsgi", config)
            ports[(name, "rsgi")] = stack.enter_context(
                served("heartbeat_receiver", "--workers", "1", env=env)
            )
        yield ports


def timeless(answer: tuple[int, dict[str, str | None], bytes]) -> tuple[Any, ...]:
    """An answer without the time of receipt (the RSGI server runs on the real clock)."""
    status, headers, body = answer
    assert headers["Content-Length"] == str(len(body))
    fields = json.loads(body)
    fields.pop("received_at", None)
    for result in fields.get("results", ()):
        result.pop("received_at", None)
    return status, {k: v for k, v in headers.items() if k != "Content-Length"}, fields


def test_the_flask_route_and_the_rsgi_server_answer_alike(
    receivers: dict[tuple[str, str], int], own_redis: RedisServer
) -> None:
    answers = []
    for name, calls in CASES.items():
        if name == "store_down":
            own_redis.stop()
        for request in calls:
            flask = send(receivers[(name, "flask")], request)
            rsgi = send(receivers[(name, "rsgi")], request)
            assert timeless(flask) == timeless(rsgi), (name, request)
            assert flask[1]["Content-Type"] == "application/json" and flask[2].endswith(b"\n")
            answers.append((name, request, flask))
    assert len(answers) >= 30
    # the requests reach every answer the ingest path has, so the comparison covers each of them
    assert {status for _, _, (status, _, _) in answers} == {200, 400, 401, 403, 413, 415, 429, 503}
    assert all(json.loads(body) for _, _, (_, _, body) in answers)
    by_service = {
        json.loads(body).get("service"): status for name, _, (status, _, body) in answers if name != "open"
    }
    # the reserve: the token without one stopped at the shared cap, the scoped token went on to 4
    assert [s for n, _, (s, _, _) in answers if n == "scoped"] == [
        200,
        403,
        403,
        200,
        429,
        200,
        200,
        429,
        200,
    ]
    refused = [headers for _, _, (s, headers, _) in answers if s == 429]
    assert refused and all(int(headers["Retry-After"] or 0) > 0 for headers in refused)
    looks_alike = [json.loads(b) for _, r, (_, _, b) in answers if b"\\uff4b" in r.body]
    assert looks_alike == [
        {"service": "kafka-1", "type": "kafka", "received_at": looks_alike[0]["received_at"]}
    ]
    assert by_service.get("type-4@10.1.2.3") == 200 and by_service.get("type-4@2001:db8::1") == 200
    assert by_service.get("type-5@2001:db8::1") == 200  # one spelling per address
    assert not [name for name in by_service if name and "%" in name]  # no scope id reaches a name
    batches = [(n, json.loads(b)) for n, r, (s, _, b) in answers if r.path == "/heartbeat/batch" and s == 200]
    # a batch answers each beat as the single route would: stored, or its own 4xx
    assert [[r["status"] for r in body["results"]] for _, body in batches] == [
        [200, 400, 400, 200, 200],
        [],
        [200],
        [200, 429],
        [200, 403, 429],
    ]
    assert [body["accepted"] for _, body in batches] == [3, 0, 1, 1, 1]
    too_many = [json.loads(b) for _, r, (s, _, b) in answers if r.path == "/heartbeat/batch" and s == 413]
    assert too_many == [{"error": "too_many_heartbeats", "message": "a batch holds at most 1000 heartbeats"}]
