"""The pipeline's edges as a whole: is data flowing along each, and if not, why.

One function decides an edge's state, from the topology, the states of the services at its
source, the database probe and the traffic counted on it. The status API's ``pipeline`` section
and ``heartbeat_edge_state`` (``exporter.metrics.pipeline_edges``; the dashboard's node graph
colours by it) both take it from here.

=================  =============================================================================
unknown            the monitor cannot tell: ingest is blind, or the edge's traffic is not counted
                   (no database configured, its table missing, its last poll too old)
blocked_upstream   its source is down: every service of the source type down (or its quorum
                   lost), or the database probe failing
stalled            its source is up, but no row arrived on it in the last ``window`` seconds
flowing            rows are arriving
=================  =============================================================================
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from exporter.sql.probe import DatabaseProbe
from exporter.sql.traffic import TrafficSnapshot
from heartbeat_core.topology import DATABASE, Link, Topology
from heartbeat_core.types import ServiceTypes

EDGE_STATES = ("flowing", "stalled", "blocked_upstream", "unknown")


@dataclass(frozen=True)
class EdgeView:
    edge: str
    state: str
    records_per_minute: float | None
    source: str = ""
    target: str = ""


class EdgeRates:
    """Totals per edge at each successful poll, kept for a window, for rows per minute."""

    def __init__(self, window: float = 300.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, dict[str, int]]] = deque()
        self._lock = threading.Lock()

    def observe(self, snapshot: TrafficSnapshot, now: float) -> None:
        totals = {edge: sum(s.value for s in series) for edge, series in snapshot.edges.items()}
        with self._lock:
            self._samples.append((now, totals))
            while self._samples and self._samples[0][0] < now - self.window:
                self._samples.popleft()

    def per_minute(self, edge: str, now: float) -> float | None:
        """Rows per minute over the window; None until two polls apart have counted the edge."""
        with self._lock:
            samples = [(t, totals[edge]) for t, totals in self._samples if edge in totals]
        if len(samples) < 2 or samples[-1][0] <= samples[0][0]:
            return None
        (t0, first), (t1, last) = samples[0], samples[-1]
        if now - t1 > self.window:
            return None  # polls stopped: the figure would be stale
        return (last - first) * 60.0 / (t1 - t0)


def source_down(
    link: Link, counts: Mapping[tuple[str, str], int], types: ServiceTypes, database_up: bool | None
) -> bool:
    if link.source == DATABASE:
        return database_up is False
    alive = counts.get((link.source, "up"), 0) + counts.get((link.source, "late"), 0)
    down = counts.get((link.source, "down"), 0)
    quorum = types.by_name[link.source].min_up if link.source in types.by_name else 0
    return (alive == 0 and down > 0) or alive < quorum


def edge_states(
    topology: Topology,
    counts: Mapping[tuple[str, str], int],
    types: ServiceTypes,
    *,
    database_up: bool | None,
    rates: EdgeRates,
    blind: bool,
    now: float,
) -> list[EdgeView]:
    """Each edge of the topology with its state and rate; ``counts``: services per (type, state)."""
    views = []
    for link in topology.links:
        rate = rates.per_minute(link.name, now)
        if blind or rate is None:
            state = (
                "blocked_upstream"
                if not blind and source_down(link, counts, types, database_up)
                else "unknown"
            )
        elif source_down(link, counts, types, database_up):
            state = "blocked_upstream"
        else:
            state = "flowing" if rate > 0 else "stalled"
        rounded = None if rate is None else round(rate, 3)
        views.append(EdgeView(link.name, state, rounded, link.source, link.target))
    return views


class PipelineView:
    """The edges' states now, for a scrape or a status call (one rule for both)."""

    def __init__(
        self, topology: Topology, types: ServiceTypes, probe: DatabaseProbe | None, rates: EdgeRates
    ) -> None:
        self.topology = topology
        self.types = types
        self.probe = probe
        self.rates = rates

    def __call__(self, counts: Mapping[tuple[str, str], int], blind: bool, now: float) -> list[EdgeView]:
        last = self.probe.snapshot()[0] if self.probe is not None else None
        database_up = None if last is None else last.up
        return edge_states(
            self.topology, counts, self.types, database_up=database_up, rates=self.rates, blind=blind, now=now
        )
