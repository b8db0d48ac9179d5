"""What a service says of itself (SPEC §12): its reported status, its metrics, its info.

``heartbeat_reported_status`` is an enum over ok, warning and failing for the services whose last
heartbeat said warning or failing: a fleet that is fine costs no series (three a service made a
scrape of 10k services 35 % slower), and when a service says ok again its series go stale and
its alerts resolve. ``heartbeat_metric`` and ``heartbeat_info`` only for those that report them.
The receiver bounds both (``max_metrics``, 8 info keys), so no sender can grow the series.

``heartbeat_reported_message`` (beyond SPEC) carries a troubled service's message as a label, so
that Grafana's table of failing and warning services can show it: only while the service says
warning or failing, and cut to ``MESSAGE_LABEL`` characters, so its series stay as few as the
services in trouble.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from exporter.metrics.exposition import OneLabelFirst, PlusOneLabel
from heartbeat_core.fields import FAILING, INFO, MESSAGE, METRICS, REPORTED, STATUS, WARNING
from heartbeat_core.record import ServiceRecord

SERVICE_LABELS = ["service_name", "service_type"]
TROUBLE = (WARNING, FAILING)
MESSAGE_LABEL = 200


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
        self.message = GaugeMetricFamily(
            "heartbeat_reported_message",
            "1, with the message of a service that last reported warning or failing",
            labels=[*SERVICE_LABELS, "message"],
        )

    def add(self, record: ServiceRecord, labels: dict[str, str]) -> None:
        said = STATUS.of(record)
        if said in TROUBLE:  # ok (or a goodbye, which says nothing of its health): no series
            for each in REPORTED:
                value = 1.0 if each == said else 0.0
                sample_labels = PlusOneLabel(labels, "status", each)
                self.status.samples.append(Sample("heartbeat_reported_status", sample_labels, value, None))
            message = OneLabelFirst(labels, "message", (MESSAGE.of(record) or "")[:MESSAGE_LABEL])
            self.message.samples.append(Sample("heartbeat_reported_message", message, 1.0, None))
        for name, value in (METRICS.of(record) or {}).items():
            metric_labels = OneLabelFirst(labels, "name", name)  # written from the service's label string
            self.metric.samples.append(Sample("heartbeat_metric", metric_labels, value, None))
        info = INFO.of(record)
        if info:
            self.info.samples.append(Sample("heartbeat_info", {**labels, **info}, 1.0, None))

    def families(self) -> tuple[Metric, ...]:
        return (self.status, self.message, self.metric, self.info)
