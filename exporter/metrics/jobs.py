"""Jobs' families (SPEC §13): when each scheduled job is next due, so that Grafana can show
"next run in 3 h". The runs' own families and the missed and overrun states come with the next
part of issue #23."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.state.reader import Reading
from heartbeat_core.schedule import job_key, next_due
from heartbeat_core.sections import JobSpec


class JobFamilies:
    name = "jobs"

    def __init__(self, jobs: Mapping[str, JobSpec]) -> None:
        self.jobs = jobs

    def families(self, reading: Reading) -> Iterator[Metric]:
        due = GaugeMetricFamily(
            "heartbeat_job_next_due_timestamp_seconds",
            "When the service's job is next due by its schedule (jobs: in the configuration)",
            labels=["service_name", "service_type"],
        )
        when: dict[str, float] = {}  # one schedule's next run serves every service under it
        for view in reading.views:
            key = job_key(view.record.name, view.service_type, self.jobs)
            if key is None:
                continue
            if key not in when:
                spec = self.jobs[key]
                when[key] = next_due(spec.schedule, spec.tz, reading.now)
            due.add_metric([view.record.name, view.service_type], when[key])
        yield due
