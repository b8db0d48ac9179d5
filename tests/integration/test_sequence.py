"""Sequence numbers, instances and clock skew, kept by the record script on a real Redis.

Heartbeats go through the receiver (one Redis round trip per batch, as always); the exporter
turns what the store kept into heartbeat_lost_total, heartbeat_restarts_total,
heartbeat_instances and heartbeat_clock_skew_seconds.
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
from tests.support import FakeClock, Samples, parse_samples

SERVICE = {"service_name": "kafka-1", "service_type": "kafka"}


@pytest.fixture
def apps(redis_server: RedisServer, clock: FakeClock) -> Iterator[tuple[Flask, Flask]]:
    settings = from_mapping({"redis_url": redis_server.url})
    yield create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)


def send(receiver: Flask, clock: FakeClock, *beats: dict[str, Any]) -> None:
    for beat in beats:
        clock.advance(10)
        response = receiver.test_client().post("/heartbeat", json={"service": "kafka-1", **beat})
        assert response.status_code == 200, response.get_data()


def metric(exporter: Flask, name: str) -> float | None:
    samples: Samples = parse_samples(exporter.test_client().get("/metrics").get_data(as_text=True))
    return samples.get((name, tuple(sorted(SERVICE.items()))))


def test_gaps_in_seq_are_lost_beats(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    receiver, exporter = apps
    send(receiver, clock, *({"instance": "a", "seq": n} for n in (0, 1, 4, 5, 9)))
    assert metric(exporter, "heartbeat_lost_total") == 5  # 2, 3, 6, 7, 8
    assert metric(exporter, "heartbeat_restarts_total") == 0
    assert metric(exporter, "heartbeat_instances") == 1


def test_a_new_instance_starting_at_zero_is_a_restart_not_a_loss(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(
        receiver,
        clock,
        {"instance": "a", "seq": 41},
        {"instance": "b", "seq": 0},
        {"instance": "b", "seq": 1},
    )
    assert (metric(exporter, "heartbeat_lost_total"), metric(exporter, "heartbeat_restarts_total")) == (0, 1)
    clock.advance(120)  # the old instance's last beat is now older than kafka's 120 s timeout
    assert metric(exporter, "heartbeat_instances") == 1


def test_seq_going_backwards_within_an_instance_is_counted_not_fatal(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(receiver, clock, *({"instance": "a", "seq": n} for n in (5, 6, 3, 4, 7)))
    assert metric(exporter, "heartbeat_lost_total") == 2  # 7 after 4 skipped 5 and 6 again
    store = receiver.store
    (record,) = store.snapshot().services
    assert record.seq == 7 and record.received == 5


def test_two_instances_interleaved_are_two_copies(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    receiver, exporter = apps
    send(receiver, clock, *({"instance": i, "seq": n} for n in range(4) for i in ("a", "b")))
    assert metric(exporter, "heartbeat_instances") == 2
    assert metric(exporter, "heartbeat_restarts_total") == 1  # the second copy's start; not every switch
    assert metric(exporter, "heartbeat_lost_total") == 0


def test_senders_without_seq_or_instance_get_nothing_counted(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(receiver, clock, {"instance": "a"}, {"instance": "a", "seq": 7}, {"instance": "a"})
    assert (metric(exporter, "heartbeat_lost_total"), metric(exporter, "heartbeat_restarts_total")) == (0, 0)
    send(receiver, clock, {"type": 4})  # neither instance nor timestamp: no such series at all
    assert metric(exporter, "heartbeat_lost_total") is None
    assert metric(exporter, "heartbeat_clock_skew_seconds") is None


def test_clock_skew_is_receive_time_minus_the_senders_timestamp(
    apps: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = apps
    send(receiver, clock, {"timestamp": clock.now + 10 + 120})  # the sender's clock runs 2 minutes ahead
    assert metric(exporter, "heartbeat_clock_skew_seconds") == -120
    assert metric(exporter, "heartbeat_lost_total") is None  # no instance: no lost/restart series


@pytest.mark.parametrize("seq", [-1, 1.5, "3", True, 2**63])
def test_a_bad_seq_is_a_400(apps: tuple[Flask, Flask], seq: Any) -> None:
    receiver, _ = apps
    response = receiver.test_client().post(
        "/heartbeat", json={"service": "kafka-1", "instance": "a", "seq": seq}
    )
    assert response.status_code == 400 and "seq" in response.get_json()["message"]


def test_large_sequence_numbers_are_counted_exactly(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    """Lua wrote 10**14 + 1 as 1e+14 (14 digits): every gap after it came out wrong."""
    receiver, exporter = apps
    base = 10**15
    send(receiver, clock, *({"instance": "a", "seq": base + n} for n in (1, 2, 5, 6, 10)))
    assert metric(exporter, "heartbeat_lost_total") == 5  # 3, 4, 7, 8, 9
    too_large = receiver.test_client().post("/heartbeat", json={"service": "kafka-1", "seq": 2**53})
    assert too_large.status_code == 400 and "'seq'" in too_large.get_json()["message"]


def test_a_beat_overtaken_by_a_goodbye_does_not_undo_it(apps: tuple[Flask, Flask], clock: FakeClock) -> None:
    """A beat still in flight when its sender said goodbye, arriving after it (a cut request the
    server finished anyway): counted, and the service stays paused; it used to turn it up, then
    down a timeout later, and page."""
    receiver, _ = apps
    send(receiver, clock, {"instance": "a", "seq": 1}, {"instance": "a", "seq": 3, "status": "stopping"})
    clock.advance(0.5)
    late = receiver.test_client().post("/heartbeat", json={"service": "kafka-1", "instance": "a", "seq": 2})
    assert late.status_code == 200
    (record,) = receiver.store.snapshot().services
    assert record.stopping and record.seq == 3 and record.received == 3
    clock.advance(10)  # a sender that reuses its instance after a restart is heard again
    send(receiver, clock, {"instance": "a", "seq": 0})
    (record,) = receiver.store.snapshot().services
    assert not record.stopping and record.seq == 0
