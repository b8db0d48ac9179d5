"""One collector per group of families, each reporting its own success and duration."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.metrics.collector import HeartbeatCollector
from exporter.metrics.services import TypedFamilies, monitor_families
from exporter.state.reader import Reading, StoreReader
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store
from tests.support import parse_samples

GROUPS = ("monitor", "services", "database", "pipeline", "traffic")


def test_every_group_reports_its_success_and_duration(redis_server: RedisServer, sqlite_url: str) -> None:
    app = create_exporter(from_mapping({"redis_url": redis_server.url, "database_url": sqlite_url}))
    samples = parse_samples(app.test_client().get("/metrics").get_data(as_text=True))
    for group in GROUPS:
        assert samples[("heartbeat_collector_success", (("collector", group),))] == 1.0
        assert samples[("heartbeat_collector_duration_seconds", (("collector", group),))] >= 0


def test_without_a_database_its_groups_are_absent(redis_server: RedisServer) -> None:
    app = create_exporter(from_mapping({"redis_url": redis_server.url}))
    samples = parse_samples(app.test_client().get("/metrics").get_data(as_text=True))
    found = {dict(labels)["collector"] for name, labels in samples if name == "heartbeat_collector_success"}
    # jobs: any service may send a start; learned: any type may learn (SPEC §17)
    assert found == {"monitor", "services", "pipeline", "jobs", "learned"}


class Broken:
    """A group with a bug: it raises half-way through its families."""

    name = "broken"

    def families(self, reading: Reading) -> Iterator[Metric]:
        family = GaugeMetricFamily("heartbeat_half_built", "never reaches a scrape")
        family.add_metric([], 1)
        yield family
        raise ZeroDivisionError("a bug")


def test_a_failing_group_costs_its_own_families_not_the_scrape(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = from_mapping({"redis_url": redis_server.url})
    reader = StoreReader(make_store(settings), settings)
    collector = HeartbeatCollector(
        reader, [Broken(), TypedFamilies("monitor", monitor_families, settings.service_types)]
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            families = {family.name: family for family in collector.collect()}
    assert "heartbeat_half_built" not in families  # none of a failed group's families, not half
    assert "heartbeat_store_up" in families  # the other groups' are all there
    success = {s.labels["collector"]: s.value for s in families["heartbeat_collector_success"].samples}
    assert success == {"broken": 0.0, "monitor": 1.0}
    assert [r.getMessage() for r in caplog.records].count("the broken collector failed: a bug") == 1
