"""What a service says of itself (SPEC §12): its reported status, its metrics, its info.

``heartbeat_reported_status`` is an enum over ok, warning and failing for every service (a
service that never said is ok); ``heartbeat_metric`` and ``heartbeat_info`` only for those that
report them. The receiver bounds both (``max_metrics``, 8 info keys), so no sender can grow the
series without limit.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from heartbeat_core.fields import INFO, METRICS, OK, REPORTED, STATUS
from heartbeat_core.record import ServiceRecord

SERVICE_LABELS = ["service_name", "service_type"]


class ReportedFamilies:
    def __init__(self) -> None:
        self.status = GaugeMetricFamily(
            "heartbeat_reported_status",
            "1 for the status the service last reported (ok, warning, failing), 0 for the others",
            labels=[*SERVICE_LABELS, "status"],
        )
        self.metric = GaugeMetricFamily(
            "heartbeat_metric",
            "The latest value of each metric the service reports",
            labels=[*SERVICE_LABELS, "name"],
        )
        self.info = GaugeMetricFamily(
            "heartbeat_info", "1, with what the service reports about itself as labels", labels=SERVICE_LABELS
        )

    def add(self, record: ServiceRecord, labels: dict[str, str]) -> None:
        said = STATUS.of(record)
        status = said if said in REPORTED else OK  # a goodbye says nothing of its health
        for each in REPORTED:
            self.status.samples.append(
                Sample(
                    "heartbeat_reported_status",
                    {**labels, "status": each},
                    1.0 if each == status else 0.0,
                    None,
                )
            )
        for name, value in (METRICS.of(record) or {}).items():
            self.metric.samples.append(Sample("heartbeat_metric", {**labels, "name": name}, value, None))
        info = INFO.of(record)
        if info:
            self.info.samples.append(Sample("heartbeat_info", {**labels, **info}, 1.0, None))

    def families(self) -> tuple[Metric, ...]:
        return (self.status, self.metric, self.info)
