"""The database probe's families: is the pipeline's database reachable, how fast, why not."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.sql.failure import REASONS
from exporter.sql.probe import DatabaseProbe
from exporter.state.reader import Reading


class DatabaseFamilies:
    name = "database"

    def __init__(self, probe: DatabaseProbe) -> None:
        self.probe = probe

    def families(self, reading: Reading) -> Iterator[Metric]:
        probe = self.probe
        last, last_success, failures = probe.snapshot()
        labels = ["database"]
        up = GaugeMetricFamily(
            "heartbeat_database_up", "1 when the last probe query succeeded", labels=labels
        )
        duration = GaugeMetricFamily(
            "heartbeat_database_probe_duration_seconds", "How long the last probe took", labels=labels
        )
        when = GaugeMetricFamily(
            "heartbeat_database_last_probe_timestamp_seconds", "When the last probe ran", labels=labels
        )
        up.add_metric([probe.label], 1 if last and last.up else 0)
        if last is not None:
            duration.add_metric([probe.label], last.duration)
            when.add_metric([probe.label], last.timestamp)
        failed = CounterMetricFamily(
            "heartbeat_database_probe_failures", "Failed probes by reason", labels=["database", "reason"]
        )
        for reason in REASONS:
            failed.add_metric([probe.label, reason], failures.get(reason, 0))
        success = GaugeMetricFamily(
            "heartbeat_database_last_success_timestamp_seconds", "When a probe last succeeded", labels=labels
        )
        if last_success is not None:
            success.add_metric([probe.label], last_success)
        yield from (up, duration, when, failed, success)
