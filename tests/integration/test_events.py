"""State history and live updates: the timeline's data, and ``GET /events`` on the served exporter."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request
from contextlib import ExitStack
from typing import Any

import redis
from flask import Flask
from werkzeug.security import generate_password_hash

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.served import served
from harness.servers import wait_until
from heartbeat_core.config import from_mapping
from heartbeat_core.record import Beat
from heartbeat_core.store import make_store
from heartbeat_core.web.bridge import STREAMS
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock

HASH = generate_password_hash("alice-password")
USERS = {"alice": {"password_hash": HASH, "role": "admin"}}


def token_of(app: Flask) -> str:
    login = app.test_client().post("/auth/login", json={"username": "alice", "password": "alice-password"})
    return str(login.get_json()["access_token"])


def status(app: Flask, token: str, **body: Any) -> Any:
    answer = app.test_client().post(
        "/heartbeat/status", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_service_that_goes_late_then_down_has_both_in_its_history(redis_server: RedisServer) -> None:
    clock = FakeClock()
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "users": USERS,
            "secret_key": "s" * 32,  # both exporters accept the same tokens
            "redis_key_prefix": "history",
            "snapshot_cache_seconds": 0,
        }
    )
    receiver = create_receiver(settings, clock=clock)
    exporters = [create_exporter(settings, clock=clock) for _ in range(2)]
    token = token_of(exporters[0])
    began = clock.now
    beat = receiver.test_client().post("/heartbeat", json={"service": "redis-1"})
    assert beat.status_code == 200
    for step in (0, 46, 15):  # redis: late after 45 s, down after its 60 s timeout
        clock.advance(step)
        for exporter in exporters:  # both see each change; each is recorded once
            assert exporter.test_client().get("/metrics").status_code == 200
    answer = status(exporters[1], token, start_time=began - 10, end_time=clock.now + 1, history=True)
    changes = answer["history"]["redis-1"]
    assert [(c["from"], c["to"]) for c in changes] == [(None, "up"), ("up", "late"), ("late", "down")]
    assert [c["time"] for c in changes] == [began, began + 46, began + 61]
    # a window that starts after the first change holds only the later ones
    later = status(exporters[0], token, start_time=began + 30, end_time=clock.now + 1, history=True)
    assert [c["to"] for c in later["history"]["redis-1"]] == ["late", "down"]
    assert "history" not in status(exporters[0], token)  # only when asked for
    receiver.presence.stop()


def read_event(response: http.client.HTTPResponse, deadline: float) -> dict[str, Any]:
    """The next ``event: status`` of an SSE stream, before the deadline (comments skipped)."""
    event: list[str] = []
    while time.monotonic() < deadline:
        line = response.readline().decode().rstrip("\n")
        if line:
            event.append(line)
            continue
        if "event: status" in event:
            data = next(part for part in event if part.startswith("data: "))
            return dict(json.loads(data.removeprefix("data: ")))
        event = []
    raise AssertionError("no status event before the deadline")


def test_events_stream_each_state_change_and_need_a_token(redis_server: RedisServer) -> None:
    env = {
        "HEARTBEAT_REDIS_URL": redis_server.url,
        "HEARTBEAT_REDIS_KEY_PREFIX": "events",
        "HEARTBEAT_USERS": json.dumps(USERS),
    }
    store = make_store(from_mapping({"redis_url": redis_server.url, "redis_key_prefix": "events"}))
    store.receivers.announce("a-receiver", 60)  # what a receiver process does, so that ingest is not blind
    with served("exporter", "--threads", "2", env=env) as port, ExitStack() as stack:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/auth/login",
            data=json.dumps({"username": "alice", "password": "alice-password"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            token = json.load(answer)["access_token"]
        anonymous = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        anonymous.request("GET", "/events")
        assert anonymous.getresponse().status == 401
        streams = []
        for _ in range(4):  # twice the exporter's threads: streams hold none of them
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            stack.callback(connection.close)
            connection.request("GET", "/events", headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            assert response.status == 200 and response.getheader("Content-Type", "").startswith(
                "text/event-stream"
            )
            streams.append(response)
        first = read_event(streams[0], time.monotonic() + 5)
        assert "kafka-1" not in first["states"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as scrape:
            assert scrape.status == 200  # a scrape still answers beside the open streams
        changed = time.monotonic()
        store.commit(Beat("kafka-1", "kafka", "10.0.0.7", time.time()))
        event = read_event(streams[0], changed + 2)  # within 2 s of the change
        while "kafka-1" not in event["states"]:  # a new minute's event came first
            event = read_event(streams[0], changed + 2)
        assert event["states"]["kafka-1"] == "up"
        assert time.monotonic() - changed < 2

        last = None
        for _ in range(STREAMS - len(streams)):  # every stream thread taken
            last = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            stack.callback(last.close)
            last.request("GET", "/events", headers={"Authorization": f"Bearer {token}"})
            streams.append(last.getresponse())
        one_more = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        one_more.request("GET", "/events", headers={"Authorization": f"Bearer {token}"})
        refused = one_more.getresponse()  # the 33rd got headers, then waited for a thread forever
        assert refused.status == 503 and refused.getheader("Retry-After") == "5"
        one_more.close()
        assert last is not None
        last.sock.shutdown(socket.SHUT_RDWR)  # a page went away: its place comes free at once
        last.close()
        wait_until(lambda: opened(port, token) == 200, timeout=5)


def opened(port: int, token: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/events", headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_service_the_store_forgets_leaves_no_recorded_state(redis_server: RedisServer) -> None:
    """The exporters' record of each service's last state was never pruned: it grew with every
    name ever seen. The record script now drops it with the service."""
    clock = FakeClock()
    settings = from_mapping(
        {"redis_url": redis_server.url, "redis_key_prefix": "forget", "retention_seconds": 3600}
    )
    receiver, exporter = create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)
    client = redis.Redis.from_url(redis_server.url)

    def beat(name: str) -> None:
        assert receiver.test_client().post("/heartbeat", json={"service": name}).status_code == 200
        exporter.test_client().get("/metrics")  # a scrape records the states
        clock.advance(2)

    beat("old-1")
    assert client.hexists("{forget}:state", "old-1")
    clock.advance(3600)
    beat("new-1")  # old-1 is past the retention: the store prunes it
    assert not client.hexists("{forget}:state", "old-1") and client.hexists("{forget}:state", "new-1")
