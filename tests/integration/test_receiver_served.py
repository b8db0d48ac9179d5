"""The production set-up: ``heartbeat-receiver`` (Granian workers), spoken to over real HTTP."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from harness.redis import RedisServer
from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store


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


def slow_clients(port: int, stack: ExitStack, count: int) -> list[socket.socket]:
    """``count`` clients stalled mid-headers and ``count`` stalled mid-body."""
    stalled = []
    for _ in range(count):
        headers = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=15))
        headers.sendall(b"POST /heartbeat HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        body = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=15))
        body.sendall(
            b"POST /heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 4000\r\n\r\n{"service": "slo'  # and 3,983 bytes never come
        )
        stalled += [headers, body]
    return stalled


def test_slow_clients_delay_no_one_and_are_cut_off(redis_server: RedisServer) -> None:
    env = {"HEARTBEAT_REDIS_URL": redis_server.url, "HEARTBEAT_CLIENT_TIMEOUT": "1"}
    with (
        served("heartbeat_receiver", "--workers", "1", "--threads", "2", env=env) as port,
        ExitStack() as stack,
    ):
        stalled = slow_clients(port, stack, count=1 * 2 * 2)  # workers × threads × 2 of each kind
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/heartbeat",
            data=b'{"service": "punctual"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=1.0) as response:  # within 1 s, or an error
            assert json.load(response)["service"] == "punctual"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1.0) as response:
            assert response.status == 200
        # past client_timeout each stalled client has its answer (a 408) or a closed connection
        for sock in stalled:
            answer = sock.recv(4096)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    assert [s.name for s in store.snapshot().services] == ["punctual"]


def test_a_receiver_started_while_redis_is_down_serves_once_it_is_back(own_redis: RedisServer) -> None:
    own_redis.stop()
    env = {"HEARTBEAT_REDIS_URL": own_redis.url}
    with served("heartbeat_receiver", "--workers", "1", env=env) as port:  # it starts at all
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/heartbeat",
            data=b'{"service": "early"}',
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 503 and refused.value.headers["Retry-After"]
        own_redis.start()
        with urllib.request.urlopen(request, timeout=5) as response:  # no restart needed
            assert json.load(response)["service"] == "early"
    store = make_store(from_mapping({"redis_url": own_redis.url}))
    assert [s.name for s in store.snapshot().services] == ["early"]


@pytest.mark.parametrize("command", ["heartbeat_receiver", "exporter"])
def test_a_second_server_on_a_taken_port_stops_with_one_line(
    command: str, receiver: int, redis_server: RedisServer
) -> None:
    """Granian's workers share a port: a second receiver there used to start and take half the beats."""
    result = subprocess.run(
        [sys.executable, "-m", command, "--listen", f"127.0.0.1:{receiver}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HEARTBEAT_REDIS_URL": redis_server.url},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"cannot start: 127.0.0.1:{receiver} is not free: Address already in use"


@pytest.mark.parametrize("path", [b"/healthz", b"/ping/some-key-0123456789/cron-x", b"/heartbeat"])
def test_a_host_with_a_label_idna_refuses_is_a_400_never_a_500(receiver: int, path: bytes) -> None:
    host = b"a" * 70 + b".example"  # a label over 63 characters: werkzeug's IDNA raised
    with socket.create_connection(("127.0.0.1", receiver), timeout=10) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["error"] == "invalid_host", answer
