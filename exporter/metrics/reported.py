"""What a service says of itself (SPEC §12): its reported status, its metrics, its info.

``heartbeat_reported_status`` is an enum over ok, warning and failing for the services whose last
heartbeat said warning or failing: a fleet that is fine costs no series (three a service made a
scrape of 10k services 35 % slower), and when a service says ok again its series go stale and
its alerts resolve. ``heartbeat_metric`` and ``heartbeat_info`` only for those that report them;
the fields ``heartbeat_core.fields`` declares as labels (``region``) are labels of the info too.
The receiver bounds both (``max_metrics``, 8 info keys), so no sender can grow the series.

``heartbeat_reported_message`` (beyond SPEC) carries a troubled service's message as a label, so
that Grafana's table of failing and warning services can show it: only while the service says
warning or failing, and cut to ``MESSAGE_LABEL`` characters, so its series stay as few as the
services in trouble.
"""

from __future__ import annotations

from prometheus_client.samples import Sample

from exporter.metrics.exposition import OneLabelFirst, PlusOneLabel, ServiceLabels
from exporter.metrics.record_families import RecordFamily
from heartbeat_core.fields import FAILING, INFO, LABELLED, MESSAGE, METRICS, REPORTED, STATUS, WARNING
from heartbeat_core.record import ServiceRecord

TROUBLE = (WARNING, FAILING)
MESSAGE_LABEL = 200


def _status(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
    said = STATUS.of(record)
    if said not in TROUBLE:  # ok (or a goodbye, which says nothing of its health): no series
        return []
    return [
        Sample(
            "heartbeat_reported_status", PlusOneLabel(labels, "status", each), 1.0 if each == said else 0.0
        )
        for each in REPORTED
    ]


def _message(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
    if STATUS.of(record) not in TROUBLE:
        return []
    message = OneLabelFirst(labels, "message", (MESSAGE.of(record) or "")[:MESSAGE_LABEL])
    return [Sample("heartbeat_reported_message", message, 1.0)]


def _metrics(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
    return [  # each written from the service's label string
        Sample("heartbeat_metric", OneLabelFirst(labels, "name", name), value)
        for name, value in (METRICS.of(record) or {}).items()
    ]


def _info(record: ServiceRecord, labels: ServiceLabels) -> list[Sample]:
    """The reported ``info``, and the fields declared as labels (``info`` may not use their names)."""
    info = dict(INFO.of(record) or {})
    for field in LABELLED:
        if (value := field.of(record)) is not None:
            info[field.name] = value
    return [Sample("heartbeat_info", {**labels, **info}, 1.0)] if info else []


REPORTED_FAMILIES = (
    RecordFamily(
        "heartbeat_reported_status",
        "1 for the status the service last reported (ok, warning, failing), 0 for the others",
        "gauge",
        _status,
    ),
    RecordFamily(
        "heartbeat_reported_message",
        "1, with the message of a service that last reported warning or failing",
        "gauge",
        _message,
    ),
    RecordFamily(
        "heartbeat_metric", "The latest value of each metric the service reports", "gauge", _metrics
    ),
    RecordFamily("heartbeat_info", "1, with what the service reports about itself as labels", "gauge", _info),
)
