"""Jobs' families (SPEC §13): each job's runs by outcome, the last one's duration, whether one is
running, the last success and the next due time (so that Grafana can show "next run in 3 h").

A job is a service under ``jobs:`` or one that has sent a start; other services cost nothing
here. ``heartbeat_job_running`` is 1 while a run the monitor watched is open, overrun or not, so
that the rules tell a missed run (down, not running) from an overrun (down, running).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.state.reader import Reading
from heartbeat_core.job import OUTCOMES
from heartbeat_core.status import State

LABELS = ["service_name", "service_type"]


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=LABELS)


class JobFamilies:
    name = "jobs"

    def families(self, reading: Reading) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "heartbeat_job_runs", "A job's finished runs, by outcome", labels=[*LABELS, "outcome"]
        )
        took = _gauge(
            "heartbeat_job_last_duration_seconds", "How long the job's last run took, start to finish"
        )
        running = _gauge("heartbeat_job_running", "1 while a run of the job is open (overrun or not)")
        success = _gauge("heartbeat_job_last_success_timestamp_seconds", "When its last successful run ended")
        due = _gauge(
            "heartbeat_job_next_due_timestamp_seconds",
            "When the job is next due by its schedule (jobs: in the configuration)",
        )
        shortest = _gauge(
            "heartbeat_job_min_runtime_seconds", "A run shorter than this is too fast (min_runtime)"
        )
        since = _gauge(
            "heartbeat_job_running_since_timestamp_seconds", "When the job's newest open run began"
        )
        for view in reading.views:
            job = view.job
            if job is None:
                continue
            labels = [view.record.name, view.service_type]
            found = view.record.runs
            for outcome in OUTCOMES:
                runs.add_metric([*labels, outcome], found.counts.get(outcome, 0) if found else 0)
            is_running = view.state is State.RUNNING or view.reason == "overrun"
            running.add_metric(labels, 1.0 if is_running else 0.0)
            if is_running and found and found.open:
                since.add_metric(labels, found.open[-1])
            if found and found.last_duration is not None:
                took.add_metric(labels, found.last_duration)
            if found and found.last_success is not None:
                success.add_metric(labels, found.last_success)
            next_due = job.next_scheduled(reading.now)
            if next_due is not None:
                due.add_metric(labels, next_due)
            if job.min_runtime:
                shortest.add_metric(labels, job.min_runtime)
        yield from (runs, took, running, success, due, shortest, since)
