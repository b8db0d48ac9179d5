"""The traffic poll's families: rows counted along each pipeline edge, and the poll's health."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.sql.traffic import TrafficCounter, TrafficSnapshot
from exporter.state.reader import Reading

NONE: Mapping[str, float] = MappingProxyType({})


class TrafficFamilies:
    name = "traffic"

    def __init__(
        self, traffic: TrafficCounter, poll_interval: float, max_staleness: Mapping[str, float] = NONE
    ) -> None:
        self.traffic = traffic
        self.poll_interval = poll_interval
        self.max_staleness = max_staleness

    def families(self, reading: Reading) -> Iterator[Metric]:
        traffic = self.traffic
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
        yield from (records, last, overflow, errors, gaps, *self.freshness(snap))
        if snap.poll_duration is not None:
            duration = GaugeMetricFamily(
                "heartbeat_traffic_poll_duration_seconds", "How long the last poll took"
            )
            duration.add_metric([], snap.poll_duration)
            yield duration

    def freshness(self, snap: TrafficSnapshot) -> tuple[Metric, Metric]:
        """How old each edge's newest row is, and how old it may be (SPEC §14's HeartbeatDataStale)."""
        newest = GaugeMetricFamily(
            "heartbeat_traffic_newest_row_timestamp_seconds",
            "When the newest row the poll has seen on the edge's table was written",
            labels=["edge"],
        )
        for edge, when in snap.newest.items():
            if when is not None:
                newest.add_metric([edge], when)
        allowed = GaugeMetricFamily(
            "heartbeat_traffic_max_staleness_seconds",
            "How old the edge's newest row may be before HeartbeatDataStale (max_staleness)",
            labels=["edge"],
        )
        for edge, seconds in sorted(self.max_staleness.items()):
            allowed.add_metric([edge], seconds)
        return newest, allowed
