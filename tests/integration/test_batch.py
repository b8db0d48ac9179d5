"""Batch ingest (SPEC §12): a cache's beats, replayed at their own times, on a real Redis.

That each beat of a batch gets the single route's answer is shown over both servers in
``test_ingest_paths``; here, what replaying does to a service's record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, parse_samples


@pytest.fixture
def apps(redis_server: RedisServer, clock: FakeClock) -> Iterator[tuple[Flask, Flask]]:
    settings = from_mapping({"redis_url": redis_server.url, "snapshot_cache_seconds": 0})
    yield create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)


def send_batch(receiver: Flask, beats: list[dict[str, Any]]) -> Any:
    answer = receiver.test_client().post("/heartbeat/batch", json=beats)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def sample(exporter: Flask, metric: str, **labels: str) -> float | None:
    text = exporter.test_client().get("/metrics").get_data(as_text=True)
    return parse_samples(text).get((metric, tuple(sorted(labels.items()))))


def test_a_cache_replayed_in_order_keeps_each_beats_time_and_the_last_word(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    labels = {"service_name": "collector-1", "service_type": "data_collection"}
    beats = [{"service": "collector-1", "timestamp": clock.now - 600 + 30 * i} for i in range(20)]
    beats[-1] |= {"status": "warning", "message": "back after an outage"}
    answer = send_batch(receiver, beats)
    assert answer["accepted"] == 20
    assert [r["received_at"] for r in answer["results"]] == [beat["timestamp"] for beat in beats]
    assert sample(exporter, "heartbeat_last_seen_timestamp_seconds", **labels) == beats[-1]["timestamp"]
    assert sample(exporter, "heartbeat_received_total", **labels) == 20
    assert sample(exporter, "heartbeat_replayed_total") == 0  # in order: every beat moved it on
    assert sample(exporter, "heartbeat_reported_status", **labels, status="warning") == 1


def test_an_older_beat_moves_nothing_back_and_is_counted(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    receiver, exporter = apps
    labels = {"service_name": "kafka-1", "service_type": "kafka"}
    live = receiver.test_client().post("/heartbeat", json={"service": "kafka-1", "message": "the latest"})
    assert live.status_code == 200
    late = [{"service": "kafka-1", "timestamp": clock.now - 60, "status": "failing", "message": "old news"}]
    assert send_batch(receiver, late)["results"][0]["status"] == 200
    assert sample(exporter, "heartbeat_last_seen_timestamp_seconds", **labels) == clock.now
    assert sample(exporter, "heartbeat_replayed_total") == 1
    assert sample(exporter, "heartbeat_received_total", **labels) == 2
    assert sample(exporter, "heartbeat_state", **labels, state="up") == 1  # not failing: the old beat said so
    service = exporter.test_client().get("/api/status").get_json()
    assert "old news" not in str(service)


def test_a_timestamp_from_the_future_is_now_and_one_too_old_a_day_ago(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, _ = apps
    answer = send_batch(
        receiver,
        [
            {"service": "a", "timestamp": clock.now + 3600},
            {"service": "b", "timestamp": clock.now - 30 * 86400},
        ],
    )
    assert [r["received_at"] for r in answer["results"]] == [clock.now, clock.now - 86400]
