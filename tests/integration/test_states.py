"""The five states end to end: heartbeats through the receiver, real Redis, /metrics and the status API.

Time is an injected clock; only the receivers' presence runs on Redis' own clock (the test
controls it by announcing or not, with a one-second TTL).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import wait_until
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, Samples, parse_samples

STATES = ("paused", "unknown", "down", "failing", "late", "running", "up")  # SPEC §8 and §12–13


@dataclass
class Monitor:
    receiver: Flask
    exporter: Flask
    clock: FakeClock
    token: str

    def beat(self, service: str, *, sender: str = "127.0.0.1", **fields: Any) -> None:
        response = self.receiver.test_client().post(
            "/heartbeat", json={"service": service, **fields}, environ_base={"REMOTE_ADDR": sender}
        )
        assert response.status_code == 200, response.get_data()

    def metrics(self) -> Samples:
        return parse_samples(self.exporter.test_client().get("/metrics").get_data(as_text=True))

    def state(self, service: str, service_type: str = "redis") -> str:
        samples = self.metrics()
        labels = {"service_name": service, "service_type": service_type}
        found = [
            s
            for s in STATES
            if samples.get(("heartbeat_state", tuple(sorted({**labels, "state": s}.items()))))
        ]
        assert len(found) == 1, found  # exactly one state is 1, the other five 0
        up = samples.get(("heartbeat_up", tuple(sorted(labels.items()))))
        assert up == {"up": 1.0, "late": 1.0, "failing": 1.0, "down": 0.0}.get(found[0]), (
            found,
            up,
        )  # none when paused/unknown
        return found[0]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.exporter.test_client().open(path, method=method, json=body, headers=headers)

    def ingest_blind(self) -> None:
        """Every receiver gone: the presence stops, and its one-second TTL runs out."""
        self.receiver.presence.stop()
        wait_until(lambda: self.metrics()[("heartbeat_ingest_up", ())] == 0, timeout=5)

    def ingest_back(self) -> None:
        self.receiver.presence.announce()
        assert self.metrics()[("heartbeat_ingest_up", ())] == 1


@pytest.fixture
def monitor(redis_server: RedisServer, clock: FakeClock) -> Iterator[Monitor]:
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    # a prefix of its own: receivers that other tests left running announce under the default one
    prefix = f"states-{uuid.uuid4().hex[:8]}"
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "users": users,
            "receiver_ttl": 1,
            "redis_key_prefix": prefix,
            "snapshot_cache_seconds": 0,  # each step of the clock reads the store afresh
        }
    )
    receiver = create_receiver(settings, clock=clock)
    exporter = create_exporter(settings, clock=clock)
    login = exporter.test_client().post(
        "/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    yield Monitor(receiver, exporter, clock, login.get_json()["access_token"])
    receiver.presence.stop()


def test_up_late_down_at_their_edges(monitor: Monitor) -> None:
    monitor.beat("redis-1", interval=20)  # late after 20 × 1.5 = 30 s, down after the 60 s timeout
    assert monitor.state("redis-1") == "up"
    monitor.clock.advance(30)
    assert monitor.state("redis-1") == "up"
    monitor.clock.advance(0.01)
    assert monitor.state("redis-1") == "late"
    monitor.clock.advance(29.99)
    assert monitor.state("redis-1") == "late"
    monitor.clock.advance(0.01)
    assert monitor.state("redis-1") == "down"
    services = monitor.metrics()
    assert services[("heartbeat_services", (("service_type", "redis"), ("state", "down")))] == 1
    assert {
        state
        for (name, labels), _ in services.items()
        if name == "heartbeat_services"
        for _, state in labels[1:]
    } == set(STATES)


def test_a_goodbye_pauses_and_the_next_beat_resumes(monitor: Monitor) -> None:
    monitor.beat("redis-1", status="stopping")
    monitor.clock.advance(3600)
    assert monitor.state("redis-1") == "paused"
    monitor.beat("redis-1")
    assert monitor.state("redis-1") == "up"


def test_the_status_api_gives_the_state(monitor: Monitor) -> None:
    monitor.beat("redis-1")
    monitor.beat("redis-2", status="stopping")
    monitor.clock.advance(50)
    body = monitor.api("POST", "/heartbeat/status", {}).get_json()
    states = {s["service"]: (s["state"], s["is_alive"]) for s in body["service_status"]["redis"]}
    assert states == {"redis-1": ("late", True), "redis-2": ("paused", False)}


def test_a_blind_spell_shorter_than_a_timeout(monitor: Monitor) -> None:
    monitor.beat("redis-1")
    monitor.clock.advance(40)
    monitor.ingest_blind()
    assert monitor.state("redis-1") == "unknown"
    monitor.clock.advance(20)  # 60 s: a timeout since its last beat, but blind meanwhile
    assert monitor.state("redis-1") == "unknown"
    monitor.ingest_back()  # the spell ends now
    monitor.clock.advance(59)
    assert monitor.state("redis-1") == "unknown"  # silent, but not for a whole timeout we could see
    monitor.beat("redis-1")
    assert monitor.state("redis-1") == "up"


def test_a_blind_spell_longer_than_a_timeout_then_a_service_that_never_returns(monitor: Monitor) -> None:
    monitor.beat("redis-1")
    monitor.beat("redis-2")
    monitor.clock.advance(10)
    monitor.ingest_blind()
    monitor.clock.advance(300)
    assert monitor.state("redis-1") == "unknown"
    monitor.ingest_back()
    monitor.clock.advance(10)
    monitor.beat("redis-2")
    assert (monitor.state("redis-1"), monitor.state("redis-2")) == ("unknown", "up")
    monitor.clock.advance(50.01)  # a full timeout since the spell ended: its silence counts again
    assert monitor.state("redis-1") == "down"


def proven(monitor: Monitor, names: list[str], senders: dict[str, str] | None = None, **fields: Any) -> None:
    """Services that have beaten every 10 s since long enough ago to count as a fleet."""
    for _ in range(61):  # 610 s: past silence_proven_after (600 s)
        for name in names:
            monitor.beat(name, sender=(senders or {}).get(name, "127.0.0.1"), **fields)
        monitor.clock.advance(10)
    for name in names:
        monitor.beat(name, sender=(senders or {}).get(name, "127.0.0.1"), **fields)


def test_a_batch_replaying_old_times_cannot_make_its_names_proven(monitor: Monitor) -> None:
    """The reproduction: an open receiver; one batch gives 200 new names a beat 80,000 s old, then
    a beat now. First seen must be when they arrived, so they are no fleet yet and blind nothing."""
    real = [f"redis-{i}" for i in range(6)]
    proven(monitor, real, interval=10)
    now = monitor.clock()
    items = [
        item
        for i in range(200)
        for item in (
            {"service": f"fake-{i}", "type": "redis", "timestamp": now - 80_000},
            {"service": f"fake-{i}", "type": "redis"},
        )
    ]
    answer = monitor.receiver.test_client().post(
        "/heartbeat/batch", json=items, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert answer.status_code == 200, answer.get_data()
    for _ in range(5):  # the fakes go quiet past late_after (45 s); the real fleet beats on
        monitor.clock.advance(10)
        for name in real:
            monitor.beat(name, interval=10)
    assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1
    for _ in range(7):  # a real service that stops is down, not unknown
        monitor.clock.advance(10)
        for name in real[1:]:
            monitor.beat(name, interval=10)
    assert monitor.state("redis-0") == "down"


def test_one_senders_names_cannot_blind_the_monitor_even_once_proven(monitor: Monitor) -> None:
    """Ten minutes of beats give 200 fakes from one address a history; their silence still
    says nothing, because most senders are still heard."""
    real = {f"redis-{i}": f"10.0.0.{i + 1}" for i in range(6)}
    fakes = {f"fake-{i}": "10.9.9.9" for i in range(200)}
    proven(monitor, [*real, *fakes], {**real, **fakes}, interval=10)
    for _ in range(5):
        monitor.clock.advance(10)
        for name, sender in real.items():
            monitor.beat(name, sender=sender, interval=10)
    assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1  # 200 of 206 quiet, but 1 sender of 7
    for _ in range(7):
        monitor.clock.advance(10)
        for name, sender in list(real.items())[1:]:
            monitor.beat(name, sender=sender, interval=10)
    assert monitor.state("redis-0") == "down"


def test_fleet_wide_silence_is_blind_not_down(monitor: Monitor) -> None:
    proven(monitor, [f"redis-{i}" for i in range(6)], interval=10)
    monitor.clock.advance(46)  # every one of them silent past the type's late_after (45 s): ingest broke
    samples = monitor.metrics()
    assert samples[("heartbeat_ingest_up", ())] == 0 and samples[("heartbeat_receivers", ())] >= 1
    monitor.clock.advance(120)
    assert monitor.state("redis-0") == "unknown"
    for i in range(2):  # heartbeats flow again
        monitor.beat(f"redis-{i}", interval=10)
    assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1
    assert (monitor.state("redis-0"), monitor.state("redis-5")) == ("up", "unknown")


def test_names_a_sender_just_made_up_cannot_blind_the_monitor(monitor: Monitor) -> None:
    """The reproduction: 25 new names with interval 1 from one sender, then quiet together."""
    real = [f"redis-{i}" for i in range(6)]
    proven(monitor, real, interval=10)
    for i in range(25):
        monitor.beat(f"redis-fake-{i}", interval=1)
    for _ in range(7):  # the fakes go quiet, past their timeout; the real fleet beats on
        monitor.clock.advance(10)
        for name in real:
            monitor.beat(name, interval=10)
        assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1
    assert monitor.state("redis-0") == "up" and monitor.state("redis-fake-0") == "down"


def test_a_silence_that_never_ends_ages_out_without_a_restart(monitor: Monitor) -> None:
    """Names that did prove themselves, then went quiet for good: blind for an hour at most."""
    real, fakes = [f"redis-{i}" for i in range(2)], [f"redis-fake-{i}" for i in range(25)]
    proven(monitor, real + fakes, {name: f"10.0.1.{i}" for i, name in enumerate(fakes)}, interval=10)
    for _ in range(5):
        monitor.clock.advance(10)
        for name in real:
            monitor.beat(name, interval=10)
    # 25 of 27 quiet, from 25 of 26 senders: taken for a fault
    assert monitor.metrics()[("heartbeat_ingest_up", ())] == 0
    for _ in range(366):  # an hour on, the real two beating all along
        monitor.clock.advance(10)
        for name in real:
            monitor.beat(name, interval=10)
    assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1
    assert monitor.state("redis-fake-0") == "unknown"  # a timeout's grace after any blind spell
    for _ in range(7):
        monitor.clock.advance(10)
        for name in real:
            monitor.beat(name, interval=10)
    assert monitor.state("redis-0") == "up" and monitor.state("redis-fake-0") == "down"


def test_one_service_going_quiet_is_not_a_fleet_silence(monitor: Monitor) -> None:
    for i in range(6):
        monitor.beat(f"redis-{i}", interval=10)
    for _ in range(7):  # redis-0 stops; the others keep beating every 10 s
        monitor.clock.advance(10)
        for i in range(1, 6):
            monitor.beat(f"redis-{i}", interval=10)
        assert monitor.metrics()[("heartbeat_ingest_up", ())] == 1
    assert monitor.state("redis-0") == "down"


def window(monitor: Monitor, start: float, end: float, **covers: str) -> str:
    response = monitor.api(
        "POST", "/maintenance", {"start": start, "end": end, "reason": "upgrade", **covers}
    )
    assert response.status_code == 201, response.get_data()
    return str(response.get_json()["id"])


def test_maintenance_windows_pause_overlap_and_end_early(monitor: Monitor) -> None:
    now = monitor.clock.now
    monitor.beat("redis-1")
    first = window(monitor, now, now + 100, service_type="redis")
    window(monitor, now + 50, now + 200, service_prefix="redis-")
    monitor.clock.advance(150)  # the first ended, the second still covers it
    assert monitor.state("redis-1") == "paused"
    listed = monitor.api("GET", "/maintenance").get_json()["windows"]
    assert [w["id"] for w in listed] != [first] and len(listed) == 1
    second = listed[0]["id"]
    ended = monitor.api("DELETE", f"/maintenance/{second}").get_json()
    assert ended["end"] == monitor.clock.now  # deleted early: it ends now
    assert monitor.state("redis-1") == "unknown"  # has not beaten since the window ended
    monitor.clock.advance(60.01)
    assert monitor.state("redis-1") == "down"


def test_a_window_over_a_type_that_resumes_after_it(monitor: Monitor) -> None:
    now = monitor.clock.now
    monitor.beat("redis-1")
    window(monitor, now + 10, now + 310, service_type="redis")
    monitor.clock.advance(340)  # stopped during the window, still silent 30 s after it
    assert monitor.state("redis-1") == "unknown"
    monitor.beat("redis-1")
    assert monitor.state("redis-1") == "up"


@pytest.mark.parametrize(
    "body",
    [
        {"start": 1, "end": 2},
        {"service_type": "nonexistent", "start": 1, "end": 2},
        {"service_type": "redis", "start": 2, "end": 1},
        {"service_type": "redis", "start": "now", "end": 2},
        {"service_type": "redis", "start": 1, "end": 10**400},
        {"service_prefix": "", "start": 1, "end": 2},
        [],
    ],
)
def test_bad_windows_are_a_clear_400(monitor: Monitor, body: Any) -> None:
    response = monitor.api("POST", "/maintenance", body)
    assert response.status_code == 400 and response.get_json()["error"]


def test_viewers_cannot_touch_windows(redis_server: RedisServer) -> None:
    users = {"bob": {"password_hash": generate_password_hash("bob-password"), "role": "viewer"}}
    exporter = create_exporter(
        from_mapping({"redis_url": redis_server.url, "users": users, "snapshot_cache_seconds": 0})
    )
    client = exporter.test_client()
    token = client.post("/auth/login", json={"username": "bob", "password": "bob-password"}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/maintenance", headers=headers).status_code == 403
    body = json.dumps({"service_type": "redis", "start": 1, "end": 2})
    assert (
        client.post("/maintenance", data=body, headers=headers, content_type="application/json").status_code
        == 403
    )
    assert client.get("/maintenance").status_code == 401
