"""The exporter's custom collector: fresh metric families from one snapshot per scrape."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from exporter.failure import REASONS
from exporter.probe import DatabaseProbe
from exporter.traffic import TrafficCounter
from heartbeat_core.status import STATES, assess
from heartbeat_core.store import HeartbeatStore, Snapshot
from heartbeat_core.types import ServiceTypes

log = logging.getLogger(__name__)

SERVICE_LABELS = ["service_name", "service_type"]


class StoreReader:
    """Reads the store and remembers how that went, for ``heartbeat_store_up`` and the status API."""

    def __init__(self, store: HeartbeatStore) -> None:
        self.store = store
        self.errors = 0
        self._lock = threading.Lock()

    def read(self) -> Snapshot | None:
        try:
            return self.store.snapshot()
        except Exception as exc:  # redis down, timeout, cluster moved: all mean "cannot read now"
            with self._lock:
                self.errors += 1
            log.warning("cannot read the heartbeat store: %s", exc)
            return None


class HeartbeatCollector(Collector):
    def __init__(
        self,
        reader: StoreReader,
        types: ServiceTypes,
        probe: DatabaseProbe | None,
        traffic: TrafficCounter | None,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reader = reader
        self.types = types
        self.probe = probe
        self.traffic = traffic
        self.poll_interval = poll_interval
        self.clock = clock
        self.last_scrape_duration: float | None = None

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        snapshot = self.reader.read()
        now = self.clock()
        yield from self._heartbeats(snapshot, now)
        if self.probe is not None:
            yield from self._database(self.probe)
        if self.traffic is not None:
            yield from self._traffic(self.traffic)
        yield from self._self()
        self.last_scrape_duration = time.perf_counter() - started

    def _heartbeats(self, snapshot: Snapshot | None, now: float) -> Iterator[Metric]:
        store_up = GaugeMetricFamily("heartbeat_store_up", "1 when the exporter can read the heartbeat store")
        store_up.add_metric([], 0 if snapshot is None else 1)
        yield store_up
        timeout = GaugeMetricFamily(
            "heartbeat_timeout_seconds",
            "Silence after which a service of this type is down",
            labels=["service_type"],
        )
        for service_type in self.types.all:
            timeout.add_metric([service_type.name], service_type.timeout)
        yield timeout
        if snapshot is None:
            return  # a store outage must never look like every service dying: leave them out
        last_seen = GaugeMetricFamily(
            "heartbeat_last_seen_timestamp_seconds",
            "Receiver time of the last heartbeat",
            labels=SERVICE_LABELS,
        )
        age = GaugeMetricFamily(
            "heartbeat_age_seconds", "Seconds since the last heartbeat", labels=SERVICE_LABELS
        )
        up = GaugeMetricFamily(
            "heartbeat_up",
            "1 while the last heartbeat is within the timeout of its type",
            labels=SERVICE_LABELS,
        )
        received = CounterMetricFamily("heartbeat_received", "Heartbeats received", labels=SERVICE_LABELS)
        states: Counter[tuple[str, str]] = Counter(
            {(t.name, s.value): 0 for t in self.types.all for s in STATES}
        )
        # the hot loop of a scrape (once per service): samples are appended directly, one labels
        # dict shared by the four families, instead of add_metric's per-call zip and dict
        seen_samples, age_samples, up_samples = last_seen.samples, age.samples, up.samples
        received_samples = received.samples
        for record in snapshot.services:
            view = assess(record, self.types, now)
            labels = {"service_name": record.name, "service_type": view.service_type}
            seen_samples.append(
                Sample("heartbeat_last_seen_timestamp_seconds", labels, record.last_seen, None)
            )
            age_samples.append(Sample("heartbeat_age_seconds", labels, view.age, None))
            up_samples.append(Sample("heartbeat_up", labels, 1.0 if view.alive else 0.0, None))
            received_samples.append(Sample("heartbeat_received_total", labels, float(record.received), None))
            states[(view.service_type, view.state.value)] += 1
        services = GaugeMetricFamily(
            "heartbeat_services", "Services per type and state", labels=["service_type", "state"]
        )
        for (label, state), n in sorted(states.items()):
            services.add_metric([label, state], n)
        refused = CounterMetricFamily(
            "heartbeat_services_refused",
            "Heartbeats of new services refused because the service cap was reached",
        )
        refused.add_metric([], snapshot.refused_total)
        yield from (last_seen, age, up, received, services, refused)

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
        errors.add_metric([], self.reader.errors)
        yield errors
        if self.last_scrape_duration is not None:
            scrape = GaugeMetricFamily(
                "heartbeat_scrape_duration_seconds", "How long the previous scrape of this exporter took"
            )
            scrape.add_metric([], self.last_scrape_duration)
            yield scrape
