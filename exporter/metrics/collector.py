"""The exporter's custom collector: one read of the store per scrape, handed to each group of families.

Families are grouped by what they describe, one collector per group, as node_exporter and
postgres_exporter do: the monitor itself, the services, the database probe, the pipeline's edges,
the traffic. Each group reports whether it succeeded and how long it took
(``heartbeat_collector_success`` and ``heartbeat_collector_duration_seconds{collector}``): a
group that fails costs its own families, never the whole scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.metrics.database_probe import DatabaseFamilies
from exporter.metrics.jobs import JobFamilies
from exporter.metrics.learned import LearnedFamilies
from exporter.metrics.pipeline_edges import PipelineFamilies
from exporter.metrics.services import ServiceFamilies, TypedFamilies, monitor_families
from exporter.metrics.traffic_counts import NONE, TrafficFamilies
from exporter.sql.probe import DatabaseProbe
from exporter.sql.traffic import TrafficCounter
from exporter.state.pipeline import PipelineView
from exporter.state.reader import Reading, StoreReader
from heartbeat_core.outage import Outage
from heartbeat_core.types import ServiceTypes

log = logging.getLogger(__name__)


class Group(Protocol):
    """Families about one thing, built from the scrape's one read of the store."""

    @property
    def name(self) -> str: ...

    def families(self, reading: Reading) -> Iterable[Metric]: ...


class HeartbeatCollector(Collector):
    def __init__(self, reader: StoreReader, groups: Sequence[Group]) -> None:
        self.reader = reader
        self.groups = groups
        self._outages = {
            g.name: Outage(log, f"the {g.name} collector failed", f"the {g.name} collector works again")
            for g in groups
        }
        self.last_scrape_duration: float | None = None

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        reading = self.reader.read()
        success = GaugeMetricFamily(
            "heartbeat_collector_success", "1 when the collector's families were built", labels=["collector"]
        )
        duration = GaugeMetricFamily(
            "heartbeat_collector_duration_seconds", "How long the collector took", labels=["collector"]
        )
        for group in self.groups:
            began = time.perf_counter()
            try:
                families = list(group.families(reading))
            except Exception as exc:  # a bug or an outage in one group: its families are left out
                self._outages[group.name].failed(exc)
                families = []
            else:
                self._outages[group.name].ok()
            yield from families
            success.add_metric([group.name], 0.0 if self._outages[group.name].on else 1.0)
            duration.add_metric([group.name], time.perf_counter() - began)
        yield from (success, duration)
        yield from self._self()
        self.last_scrape_duration = time.perf_counter() - started

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


def collector_for(
    reader: StoreReader,
    types: ServiceTypes,
    pipeline: PipelineView,
    probe: DatabaseProbe | None = None,
    traffic: TrafficCounter | None = None,
    poll_interval: float = 15.0,
    max_staleness: Mapping[str, float] = NONE,
    every_state: bool = True,
) -> HeartbeatCollector:
    """The groups this exporter has: the database's and the traffic's only with a database."""
    groups: list[Group] = [
        TypedFamilies("monitor", monitor_families, types),
        ServiceFamilies(types, every_state),
    ]
    if probe is not None:
        groups.append(DatabaseFamilies(probe))
    groups.append(PipelineFamilies(pipeline))
    if traffic is not None:
        groups.append(TrafficFamilies(traffic, poll_interval, max_staleness))
    groups.append(JobFamilies())
    groups.append(LearnedFamilies(types))
    return HeartbeatCollector(reader, groups)
