"""Learned behaviour (SPEC §17) on a real Redis, receiver, exporter and Prometheus: the record
script learns a service's gaps and leaves out those that were not its own; adaptive detection
calls a crash down sooner and never turns the monitor's own outage, a window or a goodbye into
a page; shadow mode changes nothing but says what adaptive would; a job's run far outside its
learned band raises HeartbeatJobDurationAnomaly once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from exporter.explain import explain
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import PrometheusServer, wait_until
from heartbeat_core.config import Settings, from_mapping
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import State
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, LiveServer, parse_samples

ROOT = Path(__file__).resolve().parents[2]
JITTER = (0.0, 2.0, -2.0, 1.0, -1.0)  # a collector's 30 s beats, a little early or late


def settings_for(redis_server: RedisServer, prefix: str, mode: str = "adaptive") -> Settings:
    detection = {"mode": mode, "min_samples": 20}
    return from_mapping(
        {
            "redis_url": redis_server.url,
            "redis_key_prefix": prefix,
            "types": {"data_collection": {"detection": detection}},
        }
    )


def beat(client: Any, clock: FakeClock, **fields: Any) -> None:
    assert (
        client.post("/heartbeat", json={"service": "collector-1", "interval": 30, **fields}).status_code
        == 200
    )


def learn(client: Any, clock: FakeClock, beats: int) -> None:
    for i in range(beats):
        beat(client, clock)
        clock.advance(30 + JITTER[i % len(JITTER)])


def record_of(settings: Settings) -> ServiceRecord:
    (record,) = [r for r in make_store(settings).snapshot().services if r.name == "collector-1"]
    return record


def test_the_store_learns_a_services_gaps_and_leaves_out_those_not_its_own(redis_server: RedisServer) -> None:
    settings = settings_for(redis_server, "learn")
    clock = FakeClock()
    receiver = create_receiver(settings, clock=clock)
    client = receiver.test_client()
    try:
        learn(client, clock, 26)
        gaps = record_of(settings).gaps
        assert gaps is not None and gaps.count == 25 and abs(gaps.mean - 30.0) < 0.2 and 0 < gaps.std < 2
        beat(client, clock, status="stopping")  # a goodbye, then a start 60 s later
        clock.advance(60)
        beat(client, clock)
        assert record_of(settings).gaps.count == 26  # type: ignore[union-attr]  # the gap to the goodbye, only
        store = make_store(settings)
        clock.advance(30)
        store.mark_blind(clock.now - 20, clock.now - 5)  # a blind spell ended 5 s ago
        beat(client, clock)
        assert record_of(settings).gaps.count == 26  # type: ignore[union-attr]  # across the spell: left out
        clock.advance(250)  # longer than twice the type's timeout: it was down, not beating slowly
        beat(client, clock)
        assert record_of(settings).gaps.count == 26  # type: ignore[union-attr]
        clock.advance(30)
        beat(client, clock, interval=10)  # restarted with a new interval: relearned from here
        assert record_of(settings).gaps is None
        for _ in range(3):
            clock.advance(10)
            beat(client, clock, interval=10)
        relearned = record_of(settings).gaps
        assert relearned is not None and relearned.count == 3 and relearned.mean == 10.0
    finally:
        receiver.presence.stop()


def states(exporter: Any, clock: FakeClock) -> dict[str, str]:
    clock.advance(1)  # past the reader's snapshot cache: a fresh reading
    return {v.record.name: v.state.value for v in exporter.exporter.reader.read().views}


def test_adaptive_detection_calls_a_crash_down_sooner_and_never_an_outage_of_the_monitor(
    redis_server: RedisServer,
) -> None:
    settings = settings_for(redis_server, "adaptive")
    clock = FakeClock()
    receiver = create_receiver(settings, clock=clock)
    exporter = create_exporter(settings, clock=clock)
    client = receiver.test_client()
    try:
        learn(client, clock, 30)
        beat(client, clock)
        clock.advance(74)  # 75 s: far past its learned 30 ± 1.4 s, well within the 120 s timeout
        assert states(exporter, clock) == {"collector-1": State.DOWN.value}
        metrics = parse_samples(exporter.test_client().get("/metrics").get_data(as_text=True))
        labels = (("service_name", "collector-1"), ("service_type", "data_collection"))
        assert metrics[("heartbeat_suspicion", labels)] > 8
        told = explain(settings, "collector-1", clock=clock)  # what the person on call reads
        assert "learned gaps: 30, mean 30.0 s" in told and "phi now:" in told
        after = float(told.split("down after ")[1].split(" s")[0])
        assert 60 <= after < 75  # two learned means at least; sooner than this silence
        # the same silence under a maintenance window, a goodbye, or blind ingest: never down
        store = make_store(settings)
        store.windows.put(MaintenanceWindow("w1", clock.now - 80, clock.now + 600, "data_collection"))
        assert states(exporter, clock) == {"collector-1": State.PAUSED.value}
        store.windows.drop(["w1"])
        receiver.presence.stop()
        store.client.delete(store.space.receivers)  # no receiver alive: ingest is blind
        exporter.exporter.reader.read()  # the reading that notices the spell
        assert states(exporter, clock) == {"collector-1": State.UNKNOWN.value}
        receiver.presence.start()
        clock.advance(16)  # sight regained; for a timeout after it, the silence says nothing
        assert states(exporter, clock) == {"collector-1": State.UNKNOWN.value}
        beat(client, clock, status="stopping")
        clock.advance(90)
        assert states(exporter, clock) == {"collector-1": State.PAUSED.value}
    finally:
        receiver.presence.stop()


def test_shadow_mode_changes_no_state_and_says_what_adaptive_would(redis_server: RedisServer) -> None:
    settings = settings_for(redis_server, "shadow", mode="shadow")
    clock = FakeClock()
    receiver = create_receiver(settings, clock=clock)
    exporter = create_exporter(settings, clock=clock)
    try:
        learn(receiver.test_client(), clock, 30)
        beat(receiver.test_client(), clock)
        clock.advance(74)
        assert states(exporter, clock) == {"collector-1": State.LATE.value}  # late, not down: as before
        metrics = parse_samples(exporter.test_client().get("/metrics").get_data(as_text=True))
        labels = (("service_name", "collector-1"), ("service_type", "data_collection"))
        assert metrics[("heartbeat_adaptive_down", labels)] == 1
        assert metrics[("heartbeat_up", labels)] == 1
    finally:
        receiver.presence.stop()


def firing(prometheus: PrometheusServer, alert: str) -> list[dict[str, str]]:
    answer = prometheus.query(f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
    return [series["metric"] for series in answer["data"]["result"]]


def test_a_2_second_backup_after_runs_of_20_minutes_raises_one_duration_anomaly(
    redis_server: RedisServer,
) -> None:
    jobs = {"backup": {"max_runtime": 7200}, "export": {"max_runtime": 7200}}
    settings = from_mapping({"redis_url": redis_server.url, "redis_key_prefix": "band", "jobs": jobs})
    clock = FakeClock(time.time() - 30 * 86400)
    receiver = create_receiver(settings, clock=clock)
    client = receiver.test_client()
    for night in range(20):
        for name in ("backup", "export"):
            took = 1200 + (night % 5) * 15 - 30
            assert client.post("/heartbeat", json={"service": name, "event": "start"}).status_code == 200
            clock.advance(took)
            assert client.post("/heartbeat", json={"service": name, "event": "finish"}).status_code == 200
            clock.advance(3600)
    for name, took in (("backup", 2), ("export", 1230)):  # the backup "succeeds" in 2 s
        client.post("/heartbeat", json={"service": name, "event": "start"})
        clock.advance(took)
        client.post("/heartbeat", json={"service": name, "event": "finish"})
    clock.now = time.time()
    exporter = LiveServer(create_exporter(settings, clock=clock))
    prometheus = PrometheusServer(exporter.port, [str(ROOT / "alerts" / "heartbeat.rules.yml")])
    try:
        wait_until(lambda: firing(prometheus, "HeartbeatJobDurationAnomaly"), timeout=30, interval=0.5)
        time.sleep(3)  # a few more evaluations: still the one alert
        (anomaly,) = firing(prometheus, "HeartbeatJobDurationAnomaly")
        assert (anomaly["service_name"], anomaly["severity"]) == ("backup", "warning")
        band = prometheus.query('heartbeat_job_duration_expected_seconds{service_name="export"}')
        bounds = {s["metric"]["bound"]: float(s["value"][1]) for s in band["data"]["result"]}
        assert bounds["low"] < 1230 < bounds["high"]  # the export's run was within its band
    finally:
        prometheus.close()
        exporter.stop()
        receiver.presence.stop()
