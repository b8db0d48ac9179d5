"""The exporter end to end: real heartbeats in real Redis, a real database, real promtool."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exporter.context import Exporter
from exporter.sql.demo_rows import insert_demo_rows
from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import PostgresServer, wait_until
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, Samples, parse_samples


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.get_data(as_text=True))


def value(samples: Samples, name: str, /, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def beat(app: Flask, body: dict[str, Any], addr: str = "10.0.0.7") -> None:
    response = app.test_client().post(
        "/heartbeat",
        data=json.dumps(body),
        content_type="application/json",
        environ_base={"REMOTE_ADDR": addr},
    )
    assert response.status_code == 200, response.get_data()


def exporter_of(app: Flask) -> Exporter:
    exporter: Exporter = app.exporter
    return exporter


@pytest.fixture
def pair(redis_server: RedisServer, sqlite_url: str, clock: FakeClock) -> Iterator[tuple[Flask, Flask]]:
    # every scrape reads the store afresh (test_security covers the one-second cache)
    settings = from_mapping(
        {"redis_url": redis_server.url, "database_url": sqlite_url, "snapshot_cache_seconds": 0}
    )
    create_schema(sa.create_engine(sqlite_url))
    yield create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)


def test_services_go_down_after_the_timeout_of_their_type(
    pair: tuple[Flask, Flask], clock: FakeClock
) -> None:
    receiver, exporter = pair
    for name in ("kafka-1", "redis-1", "后端-1"):
        beat(receiver, {"service": name})
    seen = clock.now
    http = exporter.test_client()
    m = scrape(http)
    assert value(m, "heartbeat_up", service_name="kafka-1", service_type="kafka") == 1
    assert (
        value(m, "heartbeat_last_seen_timestamp_seconds", service_name="后端-1", service_type="backend")
        == seen
    )
    assert value(m, "heartbeat_received_total", service_name="redis-1", service_type="redis") == 1
    clock.advance(60)  # late, but within the 60 s timeout of redis and backend: still up
    m = scrape(http)
    assert value(m, "heartbeat_up", service_name="redis-1", service_type="redis") == 1
    assert value(m, "heartbeat_age_seconds", service_name="redis-1", service_type="redis") == 60
    clock.advance(1)
    m = scrape(http)
    assert value(m, "heartbeat_up", service_name="redis-1", service_type="redis") == 0
    assert value(m, "heartbeat_up", service_name="后端-1", service_type="backend") == 0
    assert value(m, "heartbeat_up", service_name="kafka-1", service_type="kafka") == 1  # 120 s for kafka
    assert value(m, "heartbeat_services", service_type="redis", state="down") == 1
    assert value(m, "heartbeat_services", service_type="kafka", state="up") == 1
    assert value(m, "heartbeat_services", service_type="frontend", state="up") == 0
    assert value(m, "heartbeat_timeout_seconds", service_type="redis") == 60
    beat(receiver, {"service": "redis-1"})
    assert value(scrape(http), "heartbeat_up", service_name="redis-1", service_type="redis") == 1
    assert value(scrape(http), "heartbeat_received_total", service_name="redis-1", service_type="redis") == 2


def test_a_store_outage_is_reported_not_shown_as_every_service_dying(
    own_redis: RedisServer, clock: FakeClock
) -> None:
    settings = from_mapping({"redis_url": own_redis.url, "snapshot_cache_seconds": 0})
    receiver = create_receiver(settings, clock=clock)
    http = create_exporter(settings, clock=clock).test_client()
    beat(receiver, {"service": "kafka-1"})
    assert value(scrape(http), "heartbeat_store_up") == 1
    own_redis.stop()
    m = scrape(http)
    assert value(m, "heartbeat_store_up") == 0
    assert "heartbeat_up" not in names(m) and "heartbeat_services" not in names(m)
    assert value(m, "heartbeat_store_read_errors_total") == 1
    own_redis.start()
    receiver.presence.announce()  # what its thread does every 2 s
    assert value(scrape(http), "heartbeat_store_up") == 1
    clock.advance(1)
    beat(receiver, {"service": "kafka-1"})
    m = scrape(http)
    kafka = {"service_name": "kafka-1", "service_type": "kafka"}
    assert value(m, "heartbeat_up", **kafka) == 1 and value(m, "heartbeat_state", **kafka, state="up") == 1


def test_traffic_counters_follow_new_rows(pair: tuple[Flask, Flask], sqlite_url: str) -> None:
    _, exporter = pair
    worker = exporter_of(exporter).worker
    assert worker is not None
    worker.cycle()
    engine = sa.create_engine(sqlite_url)
    insert_demo_rows(engine, 50)
    worker.cycle()
    m = scrape(exporter.test_client())
    assert (
        value(
            m, "heartbeat_traffic_records_total", edge="kafka_to_database", source="kafka", target="database"
        )
        == 50
    )
    per_collector = [
        v
        for (n, labels), v in m.items()
        if n == "heartbeat_traffic_records_total" and ("edge", "data_collection_to_kafka") in labels
    ]
    assert sum(per_collector) == 50 and len(per_collector) > 1
    for edge in ("database_to_backend", "redis_to_backend", "backend_to_frontend"):
        assert (
            sum(
                v
                for (n, labels), v in m.items()
                if n == "heartbeat_traffic_records_total" and ("edge", edge) in labels
            )
            == 50
        )
    assert value(m, "heartbeat_database_up", database="pipeline") == 1
    assert value(m, "heartbeat_traffic_last_poll_timestamp_seconds", edge="backend_to_frontend") is not None


def test_database_probe_follows_a_real_outage(postgres: PostgresServer, redis_server: RedisServer) -> None:
    server = PostgresServer().init()
    try:
        url = server.create_database("pipeline")
        settings = from_mapping({"redis_url": redis_server.url, "database_url": url, "probe_timeout": 2})
        create_schema(sa.create_engine(url))
        app = create_exporter(settings)
        worker = exporter_of(app).worker
        assert worker is not None
        worker.cycle()
        http = app.test_client()
        assert value(scrape(http), "heartbeat_database_up", database="pipeline") == 1
        server.stop()
        worker.cycle()
        m = scrape(http)
        assert value(m, "heartbeat_database_up", database="pipeline") == 0
        assert value(m, "heartbeat_database_probe_failures_total", database="pipeline", reason="connect") == 1
        assert value(m, "heartbeat_traffic_poll_errors_total", table="access_logs", reason="connect") == 1
        server.start()
        worker.cycle()
        assert value(scrape(http), "heartbeat_database_up", database="pipeline") == 1
    finally:
        server.close()


def test_a_hanging_database_never_blocks_start_up_or_scrapes(redis_server: RedisServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    listener.listen(16)
    try:
        url = f"postgresql+psycopg2://monitor@127.0.0.1:{listener.getsockname()[1]}/pipeline"
        settings = from_mapping(
            {"redis_url": redis_server.url, "database_url": url, "probe_timeout": 1, "poll_interval": 0.5}
        )
        app = create_exporter(settings)
        app.exporter.start()  # must return at once
        try:
            http = app.test_client()
            m = scrape(http)  # answered while the worker waits on the database
            assert value(m, "heartbeat_store_up") == 1
            wait_until(
                lambda: (
                    value(
                        scrape(http),
                        "heartbeat_database_probe_failures_total",
                        database="pipeline",
                        reason="timeout",
                    )
                    == 1
                )
            )
            assert value(scrape(http), "heartbeat_database_up", database="pipeline") == 0
        finally:
            worker = exporter_of(app).worker
            assert worker is not None
            worker.stop()
    finally:
        listener.close()


def test_exposition_passes_promtool(pair: tuple[Flask, Flask], sqlite_url: str, clock: FakeClock) -> None:
    receiver, exporter = pair
    for i in range(5):
        beat(receiver, {"service": f"collector-{i}"}, addr=f"10.0.0.{i}")
    beat(receiver, {"type": 4})
    worker = exporter_of(exporter).worker
    assert worker is not None
    worker.cycle()
    insert_demo_rows(sa.create_engine(sqlite_url), 20)
    worker.cycle()
    clock.advance(200)
    text = exporter.test_client().get("/metrics").get_data()
    assert b"heartbeat_traffic_records_total{" in text and b"heartbeat_up{" in text
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == b"" and result.stderr.strip() == b"", result.stdout + result.stderr


def test_a_service_that_beats_again_shows_its_new_values_and_the_others_keep_theirs(
    pair: tuple[Flask, Flask], clock: FakeClock
) -> None:
    # a service's record-only lines are kept from scrape to scrape until it beats again
    receiver, exporter = pair
    beat(receiver, {"service": "kafka-1", "status": "warning", "metrics": {"lag": 3}, "info": {"v": "1"}})
    beat(receiver, {"service": "kafka-2", "metrics": {"lag": 7}})
    http = exporter.test_client()
    first = scrape(http)
    kafka = {"service_type": "kafka"}
    assert value(first, "heartbeat_metric", service_name="kafka-1", name="lag", **kafka) == 3
    assert value(first, "heartbeat_reported_status", service_name="kafka-1", status="warning", **kafka) == 1
    clock.advance(5)
    beat(receiver, {"service": "kafka-1", "metrics": {"lag": 4}, "info": {"v": "2"}})
    second = scrape(http)
    assert value(second, "heartbeat_metric", service_name="kafka-1", name="lag", **kafka) == 4
    assert value(second, "heartbeat_received_total", service_name="kafka-1", **kafka) == 2
    assert (
        value(second, "heartbeat_last_seen_timestamp_seconds", service_name="kafka-1", **kafka) == clock.now
    )
    assert value(second, "heartbeat_info", service_name="kafka-1", v="2", **kafka) == 1
    assert value(second, "heartbeat_info", service_name="kafka-1", v="1", **kafka) is None
    assert not [key for key in second if key[0] == "heartbeat_reported_status"]  # ok again: no series
    # the one that did not beat: the same lines, and its age moves on
    assert value(second, "heartbeat_metric", service_name="kafka-2", name="lag", **kafka) == 7
    assert value(second, "heartbeat_received_total", service_name="kafka-2", **kafka) == 1
    assert value(second, "heartbeat_age_seconds", service_name="kafka-2", **kafka) == 5


def test_the_fast_renderer_writes_exactly_what_client_python_writes(
    pair: tuple[Flask, Flask], sqlite_url: str, clock: FakeClock
) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
    from prometheus_client.parser import text_string_to_metric_families as parse_text

    from exporter.metrics.exposition import render

    receiver, exporter = pair
    for name in ('quote"d', "back\\slash", "后端-1", "kafka-9", "x" * 200):
        beat(receiver, {"service": name})
    said = {
        "status": "warning",
        "message": 'disk "full"\n',
        "metrics": {"queue": 3, "a": 0.5},
        "info": {"v": "1"},
    }
    beat(receiver, {"service": "kafka-8", **said})  # the reported families' label strings too
    worker = exporter_of(exporter).worker
    assert worker is not None
    worker.cycle()
    insert_demo_rows(sa.create_engine(sqlite_url), 10)
    worker.cycle()
    registry = exporter_of(exporter).registry
    render(registry)  # a first scrape, so that both see a previous scrape duration

    # the durations differ between two collections; everything else must match exactly
    timed = (b"heartbeat_scrape_duration_seconds ", b"heartbeat_collector_duration_seconds{")

    def strip(text: bytes) -> list[bytes]:
        return [line for line in text.splitlines() if not line.startswith(timed)]

    for openmetrics, reference, parse in (
        (False, generate_latest, parse_text),
        (True, generate_openmetrics, parse_openmetrics),
    ):
        ours, theirs = render(registry, openmetrics=openmetrics), reference(registry)
        assert strip(ours) == strip(theirs)
        assert b'service_name="quote\\"d"' in ours
        families = {family.name: family for family in parse(ours.decode())}
        received = families["heartbeat_received"]
        assert received.type == "counter" and len(received.samples) == 6
        assert len(families["heartbeat_metric"].samples) == 2
        assert ours.endswith(b"# EOF\n") is openmetrics


def test_metrics_negotiate_openmetrics_and_gzip_as_client_python_does(pair: tuple[Flask, Flask]) -> None:
    import gzip

    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    receiver, exporter = pair
    beat(receiver, {"service": "kafka-1"})
    http = exporter.test_client()
    plain = http.get("/metrics")
    assert plain.headers["Content-Type"] == CONTENT_TYPE_PLAIN_0_0_4
    assert "Content-Encoding" not in plain.headers and b"# EOF" not in plain.data
    # what Prometheus 2.x sends
    accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    scrape = http.get("/metrics", headers={"Accept": accept, "Accept-Encoding": "gzip"})
    assert scrape.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert scrape.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in scrape.headers["Vary"]
    text = gzip.decompress(scrape.data)
    assert (
        text.endswith(b"# EOF\n") and b'heartbeat_up{service_name="kafka-1",service_type="kafka"} 1.0' in text
    )
    assert len(scrape.data) < len(text) / 3


def test_a_quorum_is_exported_for_the_types_that_set_one(redis_server: RedisServer) -> None:
    settings = from_mapping({"redis_url": redis_server.url, "types": {"kafka": {"min_up": 2}}})
    m = scrape(create_exporter(settings).test_client())
    assert value(m, "heartbeat_min_up", service_type="kafka") == 2
    assert [labels for name, labels in m if name == "heartbeat_min_up"] == [(("service_type", "kafka"),)]


def test_a_store_outage_is_logged_once_and_its_end_too(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = from_mapping({"redis_url": own_redis.url, "snapshot_cache_seconds": 0})
    http = create_exporter(settings).test_client()
    own_redis.stop()
    with caplog.at_level(logging.INFO, logger="exporter.state.reader"):
        for _ in range(3):
            assert value(scrape(http), "heartbeat_store_up") == 0
        own_redis.start()
        assert value(scrape(http), "heartbeat_store_up") == 1
    messages = [
        (r.levelname, r.getMessage().split(":")[0])
        for r in caplog.records
        if r.name == "exporter.state.reader"
    ]
    assert messages.count(("WARNING", "cannot read the heartbeat store")) == 1
    assert ("INFO", "the heartbeat store can be read again") in messages
    assert value(scrape(http), "heartbeat_store_read_errors_total") == 3


def test_state_series_current_writes_one_state_sample_per_service(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """``state_series: current`` (issue #24): one ``heartbeat_state`` sample per service, its
    current state's, so that ``heartbeat_state{state="down"} == 1`` in every rule still selects
    exactly the services that are down; the default keeps SPEC §8's seven."""

    def states(series: str) -> dict[str, list[tuple[str, float]]]:
        settings = from_mapping(
            {"redis_url": redis_server.url, "snapshot_cache_seconds": 0, "state_series": series}
        )
        text = create_exporter(settings, clock=clock).test_client().get("/metrics").get_data(as_text=True)
        found: dict[str, list[tuple[str, float]]] = {}
        for (name, labels), value in parse_samples(text).items():
            if name == "heartbeat_state":
                found.setdefault(dict(labels)["service_name"], []).append((dict(labels)["state"], value))
        return found

    receiver = create_receiver(from_mapping({"redis_url": redis_server.url}), clock=clock)
    beat(receiver, {"service": "redis-1"})
    clock.advance(61)  # redis: down after 60 s
    beat(receiver, {"service": "kafka-1"})
    assert states("current") == {"redis-1": [("down", 1.0)], "kafka-1": [("up", 1.0)]}
    every = states("all")
    assert sorted(every["redis-1"]) == sorted((s, 1.0 if s == "down" else 0.0) for s, _ in every["kafka-1"])
    assert len(every["redis-1"]) == 7
