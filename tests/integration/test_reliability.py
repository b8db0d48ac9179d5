"""Faults end to end: a Redis outage under live agents, and a flood of service names."""

from __future__ import annotations

import json
import threading
import time

import redis
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import wait_until
from heartbeat_agent import HeartbeatSender
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import LiveServer


def scrape(client: FlaskClient) -> list[tuple[str, dict[str, str], float]]:
    text = client.get("/metrics").get_data(as_text=True)
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def test_redis_killed_and_restarted_while_agents_send(own_redis: RedisServer) -> None:
    # a 1 s timeout and a 2 s outage: if the outage looked like dying services, it would show
    settings = from_mapping({"redis_url": own_redis.url, "types": {"backend": {"timeout": 1}}})
    receiver = LiveServer(create_receiver(settings))
    exporter = create_exporter(settings).test_client()
    names = [f"backend-{i}" for i in range(3)]
    agents = [
        HeartbeatSender(
            receiver.url("/heartbeat"),
            interval=0.2,
            timeout=1,
            payload={"service": n},
            backoff_base=0.05,
            backoff_cap=0.1,
        ).start()
        for n in names
    ]
    store = make_store(settings)
    seen_down: list[str] = []
    store_states: list[float] = []
    stop = threading.Event()

    def watch() -> None:  # Prometheus' view, scraped all along
        while not stop.wait(0.05):
            for name, labels, value in scrape(exporter):
                if name == "heartbeat_up" and value == 0:
                    seen_down.append(labels["service_name"])
                if name == "heartbeat_store_up":
                    store_states.append(value)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        wait_until(lambda: sorted(s.name for s in store.snapshot().services) == names)
        wait_until(lambda: 1.0 in store_states)  # Prometheus saw the store up before the outage
        failed_before = [a.stats()["failed"] for a in agents]
        own_redis.stop()
        wait_until(lambda: all(a.stats()["failed"] > f for a, f in zip(agents, failed_before)))
        assert all(a.stats()["last_error"].endswith("HTTP 503") for a in agents)
        wait_until(lambda: 0.0 in store_states)
        time.sleep(1.5)  # the outage outlasts the 1 s timeout
        own_redis.start()  # an empty Redis on the same port: nothing was restarted but Redis
        wait_until(lambda: sorted(s.name for s in store.snapshot().services) == names)
        wait_until(lambda: store_states[-1] == 1.0)
        assert all(a.stats()["consecutive_failures"] == 0 for a in agents)
    finally:
        stop.set()
        watcher.join(5)
        for agent in agents:
            agent.stop()
        receiver.stop()
    assert store_states[0] == 1.0 and 0.0 in store_states and store_states[-1] == 1.0
    assert seen_down == [], f"services reported down because of the store outage: {set(seen_down)}"


def test_a_flood_of_names_stops_at_the_cap_without_growing_redis(own_redis: RedisServer) -> None:
    """On a Redis of its own: the session one may still be freeing what an earlier test left."""
    redis_server = own_redis
    settings = from_mapping({"redis_url": redis_server.url, "max_services": 500})
    client = create_receiver(settings).test_client()
    raw = redis.Redis.from_url(redis_server.url)

    def flood(start: int, count: int) -> set[int]:
        return {
            client.post(
                "/heartbeat", data=json.dumps({"service": f"rand-{i:08x}"}), content_type="application/json"
            ).status_code
            for i in range(start, start + count)
        }

    def used() -> int:
        return int(raw.info("memory")["used_memory"])

    empty = used()
    assert flood(0, 500) == {200}
    at_cap = used()
    assert flood(500, 500) == {429}  # warm-up: connection buffers settle
    before = used()
    assert flood(1000, 5000) == {429}
    after = used()
    # 500 accepted names cost memory; 5,000 refused ones must cost next to nothing
    assert after - before < 64 * 1024, f"Redis grew by {after - before} bytes while refusing names"
    assert after - before < (at_cap - empty) / 4
    snapshot = make_store(settings).snapshot()
    assert len(snapshot.services) == 500 and snapshot.refused_total == 5500
    response = client.post(
        "/heartbeat", data=json.dumps({"service": "one-more"}), content_type="application/json"
    )
    assert response.status_code == 429 and "500" in response.get_json()["message"]
