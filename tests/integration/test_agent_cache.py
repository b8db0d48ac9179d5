"""The agent's rich heartbeats and its cache (SPEC §12), against the real receiver on real Redis.

Time is injected: the agent's wall clock, the receiver's and the exporter's are one fake clock
stepped 30 s a beat, so a 10-minute outage takes seconds. Only the receivers' presence runs on
Redis' own clock (a one-second TTL), as in ``test_states``.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from exporter.web.app import create_app as create_exporter
from harness.ports import free_port
from harness.redis import RedisServer
from harness.servers import wait_until
from heartbeat_agent import HeartbeatSender
from heartbeat_core.config import Settings, from_mapping
from heartbeat_core.fields import MESSAGE, METRICS
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, LiveServer, parse_samples

STATES = ("paused", "unknown", "down", "failing", "late", "running", "up")


@dataclass
class Counted:
    """A WSGI app that counts the requests it gets, by path."""

    app: Callable[..., Any]
    paths: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


@dataclass
class Rig:
    settings: Settings
    clock: FakeClock
    exporter: Flask
    token: str
    port: int = field(default_factory=free_port)
    receiver: Flask | None = None
    server: LiveServer | None = None
    requests: Counted | None = None

    def start_receiver(self) -> None:
        self.receiver = create_receiver(self.settings, clock=self.clock)
        self.requests = Counted(self.receiver.wsgi_app)
        self.server = LiveServer(self.requests, port=self.port)

    def stop_receiver(self) -> None:
        assert self.server is not None and self.receiver is not None
        self.server.stop()
        self.receiver.presence.stop()  # type: ignore[attr-defined]
        wait_until(lambda: self.samples()[("heartbeat_ingest_up", ())] == 0, timeout=5)

    def samples(self) -> dict[Any, float]:
        return parse_samples(self.exporter.test_client().get("/metrics").get_data(as_text=True))

    def state(self, service: str, service_type: str = "data_collection") -> str:
        found = self.samples()
        labels = {"service_name": service, "service_type": service_type}
        (state,) = [
            s for s in STATES if found.get(("heartbeat_state", tuple(sorted({**labels, "state": s}.items()))))
        ]
        return state

    def history(self, service: str) -> list[str]:
        window = {"start_time": self.clock.now - 7200, "end_time": self.clock.now + 1, "history": True}
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = self.exporter.test_client().post("/heartbeat/status", json=window, headers=headers)
        return [change["to"] for change in answer.get_json()["history"].get(service, [])]


@pytest.fixture
def rig(redis_server: RedisServer, clock: FakeClock) -> Iterator[Rig]:
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "redis_key_prefix": f"cache-{uuid.uuid4().hex[:8]}",
            "receiver_ttl": 1,
            "snapshot_cache_seconds": 0,
            "users": users,
        }
    )
    exporter = create_exporter(settings, clock=clock)
    login = exporter.test_client().post(
        "/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    rig = Rig(settings, clock, exporter, login.get_json()["access_token"])
    rig.start_receiver()
    yield rig
    if rig.server is not None:
        rig.server.stop()
    if rig.receiver is not None:
        rig.receiver.presence.stop()  # type: ignore[attr-defined]


def sender_for(rig: Rig, **options: Any) -> HeartbeatSender:
    return HeartbeatSender(
        f"http://127.0.0.1:{rig.port}/heartbeat",
        interval=30,
        timeout=2,
        payload={"service": "collector-1"},
        wall_clock=rig.clock,
        max_attempts=1,
        **options,
    )


def test_a_ten_minute_outage_is_replayed_in_one_batch_and_never_shows_down(rig: Rig) -> None:
    sender = sender_for(rig)
    states = []
    for _ in range(4):
        assert sender.send_once()
        states.append(rig.state("collector-1"))
        rig.clock.advance(30)
    rig.stop_receiver()
    for _ in range(20):  # ten minutes of beats that no receiver takes
        assert not sender.send_once()
        states.append(rig.state("collector-1"))
        rig.clock.advance(30)
    assert sender.stats()["cached"] == 20
    rig.start_receiver()
    states.append(rig.state("collector-1"))  # back, before the agent's next beat
    assert sender.send_once()
    states.append(rig.state("collector-1"))
    assert rig.requests is not None and rig.requests.paths == ["/heartbeat/batch"]  # one request, 21 beats
    assert "down" not in states and states[-1] == "up" and "unknown" in states
    assert rig.history("collector-1") == ["up", "unknown", "up"]  # blind while cut off; never down
    found = rig.samples()
    labels = (("service_name", "collector-1"), ("service_type", "data_collection"))
    assert found[("heartbeat_received_total", labels)] == 4 + 20 + 1
    assert found[("heartbeat_last_seen_timestamp_seconds", labels)] == rig.clock.now
    assert sender.stats()["cached"] == 0


def test_the_cache_stays_bounded_whatever_the_outage(rig: Rig) -> None:
    rig.stop_receiver()
    sender = sender_for(rig, cache_size=5)
    for _ in range(50):
        sender.send_once()
        rig.clock.advance(30)
    assert sender.stats()["cached"] == 5
    rig.start_receiver()
    assert sender.send_once()
    (record,) = make_store(rig.settings).snapshot().services
    assert record.received == 6  # the newest five, then the beat that got through


def test_report_and_system_figures_reach_the_store(rig: Rig) -> None:
    sender = sender_for(rig, system=True, version="2.4.1")
    sender.report("warning", "queue backlog", {"queue_length": 42, "load1": -1})
    assert sender.send_once() and sender.send_once()
    (record,) = make_store(rig.settings).snapshot().services
    metrics = METRICS.of(record) or {}
    assert metrics["queue_length"] == 42 and metrics["load1"] == -1  # reported gauges win
    assert set(metrics) >= {"process_cpu_ratio", "process_memory_bytes", "system_memory_used_ratio"}
    assert set(metrics) >= {"disk_free_ratio", "uptime_seconds"}
    assert record.reported["info"]["version"] == "2.4.1" and record.reported["info"]["os"].startswith("Linux")
    assert MESSAGE.of(record) == "queue backlog" and record.reported["status"] == "warning"
    rtt = sender.stats()["urls"][sender.urls[0]]["rtt_ms"]
    assert rtt is not None and 0 < rtt < 2000
    assert record.reported["rtt_ms"] > 0  # the second beat carries the first one's round trip
    assert rig.state("collector-1") == "up"


def test_system_figures_agree_with_the_hosts_own_tools() -> None:
    """Each Linux figure against an independent reading: ps, free and df."""
    from heartbeat_agent.agent import SystemStats

    figures = SystemStats().metrics()
    rss_kib = int(
        subprocess.run(
            ["ps", "-o", "rss=", "-p", str(__import__("os").getpid())], capture_output=True, text=True
        ).stdout
    )
    assert abs(figures["process_memory_bytes"] / 1024 - rss_kib) < 0.2 * rss_kib + 8192
    free = subprocess.run(["free", "-b"], capture_output=True, text=True).stdout.split("\n")[1].split()
    used_by_free = 1 - int(free[6]) / int(free[1])  # 1 - available / total
    assert abs(figures["system_memory_used_ratio"] - used_by_free) < 0.05
    df = subprocess.run(["df", "-P", "."], capture_output=True, text=True).stdout.split("\n")[1].split()
    assert abs(figures["disk_free_ratio"] - int(df[3]) / int(df[1])) < 0.05
    assert figures["load1"] >= 0 and 0 <= figures["process_cpu_ratio"] <= 64
