"""The per-service and ingest metric families of one scrape, from one :class:`~exporter.state.reader.Reading`.

Every state comes from the one status rule (``heartbeat_core.status.assess``). While the store
cannot be read the per-service series are left out: a store outage must never look like every
service dying.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from exporter.metrics.exposition import Kept, ServiceLabels, StateFamily, ValueFamily
from exporter.metrics.record_families import Build, RecordFamily, keep, kept_families
from exporter.metrics.reported import REPORTED_FAMILIES
from exporter.state.reader import Reading
from heartbeat_core.fields import RTT_MS, WATERMARK
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import JUDGED, STATES
from heartbeat_core.store import Snapshot
from heartbeat_core.types import ServiceTypes

SERVICE_LABELS = ["service_name", "service_type"]
STATE_LABELS = tuple(state.value for state in STATES)
STATE_INDEX = {state: i for i, state in enumerate(STATES)}


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


@dataclass(frozen=True)
class TypedFamilies:
    """A group whose families need the service types alone (the monitor's, the services')."""

    name: str
    build: Callable[[Reading, ServiceTypes], Iterator[Metric]]
    types: ServiceTypes

    def families(self, reading: Reading) -> Iterator[Metric]:
        return self.build(reading, self.types)


def monitor_families(reading: Reading, types: ServiceTypes) -> Iterator[Metric]:
    """What the monitor knows about itself: store, ingest, receivers, timeouts."""
    yield gauge(
        "heartbeat_store_up", "1 when the exporter can read the heartbeat store", reading.snapshot is not None
    )
    yield gauge(
        "heartbeat_ingest_up",
        "1 while heartbeats can reach the store: readable, a receiver alive, the fleet not all silent",
        0 if reading.conditions.blind else 1,
    )
    if reading.snapshot is not None:
        yield gauge(
            "heartbeat_receivers",
            "Receiver processes that announced themselves recently",
            reading.snapshot.receivers,
        )
    timeout = GaugeMetricFamily(
        "heartbeat_timeout_seconds",
        "Silence after which a service of this type is down",
        labels=["service_type"],
    )
    stall = GaugeMetricFamily(
        "heartbeat_stall_after_seconds",
        "No progress for this long while up is a stall, per type",
        labels=["service_type"],
    )
    quorum = GaugeMetricFamily(
        "heartbeat_min_up",
        "Services of this type that must be up or late (its quorum)",
        labels=["service_type"],
    )
    lag = GaugeMetricFamily(
        "heartbeat_max_lag_seconds",
        "How far a service's watermark may trail now before HeartbeatLagging, per type (max_lag)",
        labels=["service_type"],
    )
    for service_type in types.all:
        timeout.add_metric([service_type.name], service_type.timeout)
        if service_type.max_lag:
            lag.add_metric([service_type.name], service_type.max_lag)
        stall.add_metric([service_type.name], service_type.stall_after)
        if service_type.min_up:
            quorum.add_metric([service_type.name], service_type.min_up)
    yield from (timeout, stall, quorum, lag)


def _one(name: str, value: Callable[[ServiceRecord], float | None]) -> Build:
    """A family of one sample per service, for the services whose record has a value."""

    def samples(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
        found = value(record)
        return [] if found is None else [Sample(name, labels, found)]

    return samples


def _skew(record: ServiceRecord) -> float | None:
    return None if record.sent_at is None else record.last_seen - record.sent_at


def _rtt(record: ServiceRecord) -> float | None:
    rtt_ms = RTT_MS.of(record)
    return None if rtt_ms is None else rtt_ms / 1000


def _progress(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
    return [
        Sample("heartbeat_progress_total", {**labels, "counter": counter}, value)
        for counter, value in record.progress
    ]


# what seq, instance, timestamp and progress tell: losses, restarts, skew. Only for services that
# send them: a sender without instance gets no lost or restart series, one without timestamp no skew
RECORD_FAMILIES = (
    RecordFamily(
        "heartbeat_last_seen_timestamp_seconds",
        "Receiver time of the last heartbeat",
        "gauge",
        _one("heartbeat_last_seen_timestamp_seconds", lambda r: r.last_seen),
    ),
    RecordFamily(
        "heartbeat_received",
        "Heartbeats received",
        "counter",
        _one("heartbeat_received_total", lambda r: float(r.received)),
    ),
    RecordFamily(
        "heartbeat_clock_skew_seconds",
        "Receive time minus the sender's timestamp",
        "gauge",
        _one("heartbeat_clock_skew_seconds", _skew),
    ),
    RecordFamily(
        "heartbeat_rtt_seconds",
        "Round trip of the sender's previous heartbeat",
        "gauge",
        _one("heartbeat_rtt_seconds", _rtt),
    ),
    RecordFamily(
        "heartbeat_watermark_timestamp_seconds",
        "The newest record the service says it has processed (its watermark), Unix seconds",
        "gauge",
        _one("heartbeat_watermark_timestamp_seconds", WATERMARK.of),
    ),
    RecordFamily(
        "heartbeat_lost",
        "Beats missing from seq gaps within one instance",
        "counter",
        _one("heartbeat_lost_total", lambda r: None if r.instance is None else float(r.lost)),
    ),
    RecordFamily(
        "heartbeat_restarts",
        "How often the sender's instance changed",
        "counter",
        _one("heartbeat_restarts_total", lambda r: None if r.instance is None else float(r.restarts)),
    ),
    RecordFamily("heartbeat_progress", "The sender's progress counters", "counter", _progress),
    RecordFamily(
        "heartbeat_last_progress_timestamp_seconds",
        "Receiver time when a progress counter last changed",
        "gauge",
        _one("heartbeat_last_progress_timestamp_seconds", lambda r: r.progress_at),
    ),
    *REPORTED_FAMILIES,
)


class ServiceFamilies:
    """The services' families, with each service's label sets kept from one scrape to the next
    (only those of the services the last scrape saw: the map is replaced whole, never mutated,
    so concurrent scrapes share it safely)."""

    name = "services"

    def __init__(self, types: ServiceTypes, every_state: bool = True) -> None:
        self.types = types
        self.every_state = every_state  # heartbeat_state: every state (SPEC §8), or the current one
        self.known: dict[tuple[str, str], ServiceLabels] = {}

    def families(self, reading: Reading) -> Iterator[Metric]:
        seen: dict[tuple[str, str], ServiceLabels] = {}
        yield from service_families(reading, self.types, self.known, seen, self.every_state)
        if reading.snapshot is not None:
            self.known = seen


def service_families(
    reading: Reading,
    types: ServiceTypes,
    known: Mapping[tuple[str, str], ServiceLabels],
    seen: dict[tuple[str, str], ServiceLabels],
    every_state: bool = True,
) -> Iterator[Metric]:
    snapshot = reading.snapshot
    if snapshot is None:
        return
    age = ValueFamily("heartbeat_age_seconds", "Seconds since the last heartbeat", SERVICE_LABELS)
    up = ValueFamily(
        "heartbeat_up", "1 while up or late, 0 while down; absent while paused or unknown", SERVICE_LABELS
    )
    state = StateFamily(
        "heartbeat_state",
        "1 for the service's state, 0 for the other six" if every_state else "1 for the service's state",
        [*SERVICE_LABELS, "state"],
        every_state,
    )
    instances = GaugeMetricFamily(
        "heartbeat_instances",
        "Instances seen within one timeout; 2 means two copies run",
        labels=SERVICE_LABELS,
    )
    counts: Counter[tuple[str, str]] = Counter()
    counts.update({(t.name, s.value): 0 for t in types.all for s in STATES})
    services: list[tuple[ServiceLabels, Kept]] = []
    # the hot loop of a scrape (once per service): samples are appended directly, one labels dict
    # shared by the families without a state label, instead of add_metric's per-call zip and dict
    ages, ups, instance_samples = age.values, up.values, instances.samples
    in_state, now = state.add, reading.now
    for view in reading.views:
        record = view.record
        key = (record.name, view.service_type)
        labels = seen[key] = known.get(key) or ServiceLabels(record.name, view.service_type, STATE_LABELS)
        services.append((labels, keep(RECORD_FAMILIES, record, labels)))
        ages.append((labels, view.age))
        if view.state in JUDGED:
            ups.append((labels, 1.0 if view.alive else 0.0))
        in_state(labels, STATE_INDEX[view.state])
        counts[(view.service_type, view.state.value)] += 1
        if record.instance is not None:
            other = record.other_seen is not None and now - record.other_seen <= view.timeout
            instance_samples.append(Sample("heartbeat_instances", labels, 2.0 if other else 1.0))
    totals = GaugeMetricFamily(
        "heartbeat_services", "Services per type and state", labels=["service_type", "state"]
    )
    for (service_type, name), n in sorted(counts.items()):
        totals.add_metric([service_type, name], n)
    yield from (age, up, state, instances, totals, *store_counters(snapshot))
    yield from kept_families(RECORD_FAMILIES, services)


def store_counters(snapshot: Snapshot) -> tuple[CounterMetricFamily, ...]:
    """What the store counted of heartbeats that changed no service: refused, or replayed too late."""
    refused = CounterMetricFamily(
        "heartbeat_services_refused", "Heartbeats of new services refused because the service cap was reached"
    )
    refused.add_metric([], snapshot.refused_total)
    replayed = CounterMetricFamily(
        "heartbeat_replayed", "Replayed heartbeats older than their service's last one: counted, not applied"
    )
    replayed.add_metric([], snapshot.replayed_total)
    return refused, replayed
