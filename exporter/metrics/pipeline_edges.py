"""The pipeline's families: each topology edge's state and rate (``exporter.state.pipeline``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.state.pipeline import EDGE_STATES, EdgeView, PipelineView
from exporter.state.reader import Reading


class PipelineFamilies:
    name = "pipeline"

    def __init__(self, pipeline: PipelineView) -> None:
        self.pipeline = pipeline

    def families(self, reading: Reading) -> Iterator[Metric]:
        counts = Counter((view.service_type, view.state.value) for view in reading.views)
        yield from edge_families(self.pipeline(counts, reading.conditions.blind, reading.now))


def edge_families(views: list[EdgeView]) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "heartbeat_edge_state", "1 for the pipeline edge's state, 0 for the others", labels=["edge", "state"]
    )
    rate = GaugeMetricFamily(
        "heartbeat_edge_records_per_minute",
        "Rows per minute along the edge, over the last minutes",
        labels=["edge"],
    )
    for view in views:
        for name in EDGE_STATES:
            state.add_metric([view.edge, name], 1.0 if name == view.state else 0.0)
        if view.records_per_minute is not None:
            rate.add_metric([view.edge], view.records_per_minute)
    yield from (state, rate)
