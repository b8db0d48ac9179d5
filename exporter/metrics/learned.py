"""What the exporter learned of each service (SPEC §17): suspicion, adaptive verdicts, run bands.

Only the types whose ``detection`` is not ``fixed`` learn gaps, so a fleet on fixed timeouts
costs no series here; ``heartbeat_suspicion`` appears once ``min_samples`` gaps are known.
``heartbeat_adaptive_down`` (shadow and adaptive types) is the state adaptive detection would
give, by the one status rule, so that a shadow type shows what switching would change.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.state.reader import Reading
from heartbeat_core.band import duration_band
from heartbeat_core.status import State, state_of
from heartbeat_core.suspicion import ADAPTIVE, suspicion
from heartbeat_core.types import ServiceTypes

LABELS = ["service_name", "service_type"]


class LearnedFamilies:
    name = "learned"

    def __init__(self, types: ServiceTypes) -> None:
        self.types = types

    def families(self, reading: Reading) -> Iterator[Metric]:
        phi = GaugeMetricFamily(
            "heartbeat_suspicion",
            "phi: -log10 of the chance that a beat is still to come after this silence (learned gaps)",
            labels=LABELS,
        )
        adaptive = GaugeMetricFamily(
            "heartbeat_adaptive_down", "1 where adaptive detection calls the service down", labels=LABELS
        )
        band = GaugeMetricFamily(
            "heartbeat_job_duration_expected_seconds",
            "The run duration learned from the job's last successful runs: median -/+ 5 MAD",
            labels=[*LABELS, "bound"],
        )
        for view in reading.views:
            labels = [view.record.name, view.service_type]
            if view.job is not None:
                learned = duration_band(view.record.runs.durations) if view.record.runs else None
                if learned is not None:
                    band.add_metric([*labels, "low"], learned[0])
                    band.add_metric([*labels, "high"], learned[1])
                continue
            rules = self.types.get(view.service_type)
            if not rules.detection.learns:
                continue
            level = suspicion(view.record.gaps, view.age, rules.detection)
            if level is not None:
                phi.add_metric(labels, round(level, 3))
            judged = (
                view.state
                if rules.detection.mode == ADAPTIVE
                else state_of(view.record, rules, reading.conditions, reading.now, adaptive=True)
            )
            adaptive.add_metric(labels, 1.0 if judged is State.DOWN else 0.0)
        yield from (phi, adaptive, band)
