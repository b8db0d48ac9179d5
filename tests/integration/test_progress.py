"""Progress counters: alive-but-stalled services become visible; counters follow Prometheus semantics."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from harness.redis import RedisServer
from heartbeat_agent import HeartbeatSender
from heartbeat_core.config import from_mapping
from tests.integration.test_sequence import SERVICE, apps, metric, send
from tests.support import FakeClock, LiveServer, parse_samples

__all__ = ["apps"]  # the fixture, shared with the sequence tests


def counter(exporter: Flask, name: str) -> float | None:
    samples = parse_samples(exporter.test_client().get("/metrics").get_data(as_text=True))
    return samples.get(("heartbeat_progress_total", tuple(sorted({**SERVICE, "counter": name}.items()))))


def test_counters_are_exported_and_progress_time_moves_only_when_they_change(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(receiver, clock, {"instance": "a", "progress": {"records_out": 10, "bytes_out": 4000}})
    first = clock.now
    assert counter(exporter, "records_out") == 10 and counter(exporter, "bytes_out") == 4000
    send(receiver, clock, {"instance": "a", "progress": {"records_out": 10, "bytes_out": 4000}})
    assert metric(exporter, "heartbeat_last_progress_timestamp_seconds") == first  # no growth: no progress
    send(receiver, clock, {"instance": "a", "progress": {"records_out": 11, "bytes_out": 4000}})
    assert metric(exporter, "heartbeat_last_progress_timestamp_seconds") == clock.now


def test_counters_reset_with_a_new_instance_as_prometheus_counters_do(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(receiver, clock, {"instance": "a", "seq": 9, "progress": {"records_out": 500}})
    send(receiver, clock, {"instance": "b", "seq": 0, "progress": {"records_out": 3}})
    assert counter(exporter, "records_out") == 3  # a reset, which rate() and increase() handle
    assert metric(exporter, "heartbeat_restarts_total") == 1
    assert metric(exporter, "heartbeat_last_progress_timestamp_seconds") == clock.now


@pytest.mark.parametrize(
    "progress",
    [
        {f"c{i}": i for i in range(9)},  # more than max_progress_counters (8)
        {"bad name": 1},
        {"records": -1},
        {"records": "12"},
        {"records": True},
        [1, 2],
    ],
)
def test_bad_progress_is_a_clear_400_and_nothing_is_stored(apps: tuple[Flask, Flask], progress: Any) -> None:
    receiver, _ = apps
    response = receiver.test_client().post("/heartbeat", json={"service": "kafka-1", "progress": progress})
    assert response.status_code == 400 and "progress" in response.get_json()["message"]
    assert receiver.store.snapshot().services == ()


def test_the_agent_sends_its_progress_callable(live_receiver: LiveServer, redis_server: RedisServer) -> None:
    done = iter(range(100, 1000, 100))
    sender = HeartbeatSender(
        live_receiver.url("/heartbeat"),
        payload={"service": "kafka-7"},
        progress=lambda: {"records_out": next(done)},
    )
    assert sender.send_once() and sender.send_once()
    from heartbeat_core.store import make_store

    (record,) = make_store(from_mapping({"redis_url": redis_server.url})).snapshot().services
    assert record.progress == (("records_out", 200.0),)


def test_every_new_family_passes_promtool(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    import subprocess

    receiver, exporter = apps
    send(
        receiver,
        clock,
        {"instance": "a", "seq": 0, "timestamp": clock.now, "progress": {"records_out": 1}},
        {"instance": "a", "seq": 3, "timestamp": clock.now, "progress": {"records_out": 9}},
        {"instance": "b", "seq": 0, "timestamp": clock.now + 500},
    )
    text = exporter.test_client().get("/metrics").get_data()
    for family in (
        b"heartbeat_state{",
        b"heartbeat_progress_total{",
        b"heartbeat_last_progress_timestamp_seconds{",
        b"heartbeat_lost_total{",
        b"heartbeat_restarts_total{",
        b"heartbeat_instances{",
        b"heartbeat_clock_skew_seconds{",
        b"heartbeat_edge_state{",
        b"heartbeat_ingest_up ",
        b"heartbeat_receivers ",
        b"heartbeat_stall_after_seconds{",
    ):
        assert family in text, family
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr
    )
