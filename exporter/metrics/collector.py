"""The exporter's custom collector: fresh metric families from one read of the store per scrape."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.metrics.services import monitor_families, service_families
from exporter.sql.failure import REASONS
from exporter.sql.probe import DatabaseProbe
from exporter.sql.traffic import TrafficCounter
from exporter.state.pipeline import PipelineView, edge_families
from exporter.state.watch import IngestWatch
from heartbeat_core.types import ServiceTypes

log = logging.getLogger(__name__)

SERVICE_LABELS = ["service_name", "service_type"]


class HeartbeatCollector(Collector):
    def __init__(
        self,
        watch: IngestWatch,
        types: ServiceTypes,
        probe: DatabaseProbe | None,
        traffic: TrafficCounter | None,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
        pipeline: PipelineView | None = None,
    ) -> None:
        self.watch = watch
        self.pipeline = pipeline
        self.types = types
        self.probe = probe
        self.traffic = traffic
        self.poll_interval = poll_interval
        self.clock = clock
        self.last_scrape_duration: float | None = None

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        sight = self.watch.read()
        yield from monitor_families(sight, self.types)
        counts: Counter[tuple[str, str]] = Counter()
        yield from service_families(sight, self.types, counts)
        if self.probe is not None:
            yield from self._database(self.probe)
        if self.pipeline is not None:
            yield from edge_families(self.pipeline(counts, sight.watch.blind, sight.now))
        if self.traffic is not None:
            yield from self._traffic(self.traffic)
        yield from self._self()
        self.last_scrape_duration = time.perf_counter() - started

    def _database(self, probe: DatabaseProbe) -> Iterator[Metric]:
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

    def _traffic(self, traffic: TrafficCounter) -> Iterator[Metric]:
        snap = traffic.snapshot()
        every = f"refreshed every poll interval ({self.poll_interval:g} s)"
        records = CounterMetricFamily(
            "heartbeat_traffic_records",
            f"Rows counted along a pipeline edge since the exporter started; {every}",
            labels=["edge", "source", "target"],
        )
        last = GaugeMetricFamily(
            "heartbeat_traffic_last_poll_timestamp_seconds",
            "Last successful count of the edge's table",
            labels=["edge"],
        )
        overflow = CounterMetricFamily(
            "heartbeat_traffic_overflow_records",
            "Rows counted under source/target 'overflow' because the edge reached its limit "
            f"of distinct IPs; {every}",
            labels=["edge"],
        )
        for edge, series in snap.edges.items():
            for s in series:
                records.add_metric([edge, s.source, s.target], s.value)
            overflow.add_metric([edge], snap.overflow.get(edge, 0))
            when = snap.last_success.get(edge)
            if when is not None:
                last.add_metric([edge], when)
        errors = CounterMetricFamily(
            "heartbeat_traffic_poll_errors",
            "Failed polls of a log table by reason",
            labels=["table", "reason"],
        )
        for (table, reason), n in sorted(snap.errors.items()):
            errors.add_metric([table, reason], n)
        gaps = GaugeMetricFamily(
            "heartbeat_traffic_open_id_gaps",
            "Id ranges still watched for late-committing rows, per table",
            labels=["table"],
        )
        for table, n in sorted(snap.open_gaps.items()):
            gaps.add_metric([table], n)
        yield from (records, last, overflow, errors, gaps)
        if snap.poll_duration is not None:
            duration = GaugeMetricFamily(
                "heartbeat_traffic_poll_duration_seconds", "How long the last poll took"
            )
            duration.add_metric([], snap.poll_duration)
            yield duration

    def _self(self) -> Iterator[Metric]:
        errors = CounterMetricFamily("heartbeat_store_read_errors", "Failed reads of the heartbeat store")
        errors.add_metric([], self.watch.errors)
        yield errors
        if self.last_scrape_duration is not None:
            scrape = GaugeMetricFamily(
                "heartbeat_scrape_duration_seconds", "How long the previous scrape of this exporter took"
            )
            scrape.add_metric([], self.last_scrape_duration)
            yield scrape
