"""``rtt_ms``: a sender's measured round trip, through a real receiver and Redis to /metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, parse_samples

LABELS = (("service_name", "kafka-1"), ("service_type", "kafka"))


@pytest.fixture
def apps(redis_server: RedisServer, clock: FakeClock) -> Iterator[tuple[Flask, Flask]]:
    settings = from_mapping({"redis_url": redis_server.url})
    yield create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)


def rtt(exporter: Flask) -> float | None:
    samples = parse_samples(exporter.test_client().get("/metrics").get_data(as_text=True))
    return samples.get(("heartbeat_rtt_seconds", LABELS))


def test_the_latest_round_trip_is_exported_in_seconds(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    receiver, exporter = apps
    client = receiver.test_client()
    assert client.post("/heartbeat", json={"service": "kafka-1"}).status_code == 200
    assert rtt(exporter) is None  # nothing measured yet: no series, not a zero
    for sent in (250.0, 12.5):
        assert client.post("/heartbeat", json={"service": "kafka-1", "rtt_ms": sent}).status_code == 200
    clock.advance(10)  # past the exporter's snapshot cache
    assert rtt(exporter) == 0.0125


def test_an_impossible_round_trip_is_refused_and_the_last_one_kept(apps: tuple[Flask, Flask]) -> None:
    receiver, exporter = apps
    client = receiver.test_client()
    client.post("/heartbeat", json={"service": "kafka-1", "rtt_ms": 40})
    for bad in (-1, 3_600_001, "fast", True):
        answer = client.post("/heartbeat", json={"service": "kafka-1", "rtt_ms": bad})
        assert answer.status_code == 400 and "'rtt_ms'" in answer.get_json()["message"]
    assert rtt(exporter) == 0.04
