"""A heartbeat's fields, each declared once.

A declaration says everything the product needs to know about a field: its JSON name, the check
that turns what a sender wrote into what is kept (or a 400 naming the field and its limit), how it
is kept (with the service, the latest beat winning, and/or handed to the record script under its
name), how a kept value is read back, its schema, and where it is shown (``Shown``). From this one table
come the receiver's parser (``heartbeat_receiver.heartbeat``), the store's encoding and the Lua
arguments (``heartbeat_core.store``), the decoded record (``heartbeat_core.record``), the
receiver's OpenAPI schema (``heartbeat_receiver.app.document``), the labels of ``heartbeat_info``
and the keys ``info`` may not use, the status API's service entry and its schema, and the page's
columns. To add a field: declare it in ``FIELDS``; use it elsewhere only where it means more than
being shown, reading it from a record with ``FIELD.of(record)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from heartbeat_core.checks import (
    MAX_NAME,
    OUR_LABELS,
    counters,
    finite,
    float_or_none,
    info,
    int_or_none,
    integer_in,
    invalid,
    mapping_of,
    message,
    name,
    reported_metrics,
    str_or_none,
    type_value,
)
from heartbeat_core.field import DEFAULT_LIMITS as DEFAULT_LIMITS
from heartbeat_core.field import Field as Field
from heartbeat_core.field import Limits as Limits
from heartbeat_core.field import Shown

OK = "ok"
WARNING = "warning"
FAILING = "failing"
STOPPING = "stopping"  # the ``status`` that says goodbye
STATUSES = (OK, WARNING, FAILING, STOPPING)  # other words read as ok, as an older receiver read them
REPORTED = (OK, WARNING, FAILING)  # what heartbeat_reported_status tells
MAX_MESSAGE = 1000
MAX_INFO_KEYS = 8
MAX_INFO_VALUE = 128
MAX_INSTANCE = 64
MAX_RUN_ID = 64
MAX_RTT_MS = 3_600_000.0  # an hour: a larger round trip is a broken clock, not a network
MAX_REGION = 64


def _identity(field: str) -> Callable[[Any, Limits], str]:
    return lambda value, _: name(value, field)


def _timestamp(value: Any, _: Limits) -> float:
    return finite(value, "timestamp")


def _watermark(value: Any, _: Limits) -> float:
    number = finite(value, "watermark")
    if number < 0:
        raise invalid("watermark", "must be Unix seconds, not negative")
    return number


def _interval(value: Any, _: Limits) -> float:
    number = finite(value, "interval")
    if number <= 0:
        raise invalid("interval", "must be a positive number of seconds")
    return number


def _status(value: Any, _: Limits) -> str | None:
    if not isinstance(value, str):
        raise invalid("status", f"must be a string (one of {', '.join(STATUSES)})")
    return value if value in STATUSES and value != OK else None


MAX_SEQ = 2**53 - 1  # the largest integer Redis' Lua (doubles) and JSON readers keep exactly


def _instance(value: Any, _: Limits) -> str:
    return name(value, "instance")[:MAX_INSTANCE]


NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}

# who the heartbeat is from: checked together by the parser (a name may be derived from the type)
SERVICE: Field[str] = Field(
    "service",
    "The service's name, NFKC-normalised",
    {**NAME_SCHEMA, "example": "kafka-broker-1"},
    _identity("service"),
    str_or_none,
    latest=False,
)
SERVICE_NAME: Field[str] = Field(
    "service_name",
    "The original route's spelling of service",
    {**NAME_SCHEMA, "example": "数据采集-1"},
    _identity("service_name"),
    str_or_none,
    latest=False,
)
TYPE: Field[str | int] = Field(
    "type",
    "A type label, or a numeric code mapped by type_codes; with no service, the name is derived "
    "from it and the sender's address (type-4@10.0.0.7)",
    {"oneOf": [NAME_SCHEMA, {"type": "integer"}], "example": 4},
    type_value,
    str_or_none,
    latest=False,
)
IDENTITY: tuple[Field[Any], ...] = (SERVICE, SERVICE_NAME, TYPE)

TIMESTAMP: Field[float] = Field(
    "timestamp",
    "The sender's clock, Unix seconds (shows clock skew)",
    {"type": "number", "example": 1763800000.25},
    _timestamp,
    float_or_none,
)
INTERVAL: Field[float] = Field(
    "interval",
    "Seconds between the sender's beats (late after it × late_factor)",
    {"type": "number", "minimum": 0, "exclusiveMinimum": True, "example": 30},
    _interval,
    float_or_none,
)
STATUS: Field[str] = Field(
    "status",
    "How the service is: ok, warning (shown, pages nothing), failing, or stopping (a goodbye)",
    {"type": "string", "enum": list(STATUSES), "example": WARNING},
    _status,
    str_or_none,
    script=str,  # the record script counts failing beats in a row
    shown=Shown(empty=OK),  # the service's own words, for admins and viewers alike (SPEC §12)
)
SEQ: Field[int] = Field(
    "seq",
    "Goes up by one per beat, from 0 at each process start (lost beats)",
    {"type": "integer", "minimum": 0, "maximum": MAX_SEQ, "example": 41},
    lambda value, _: integer_in(value, "seq", 0, MAX_SEQ),
    int_or_none,
    script=str,
)
INSTANCE: Field[str] = Field(
    "instance",
    f"Unique per process start (restarts, two copies); the first {MAX_INSTANCE} characters are kept",
    {**NAME_SCHEMA, "example": "4f1c2a"},
    _instance,
    str_or_none,
    script=str,
)
PROGRESS: Field[str] = Field(
    "progress",
    "Ever-growing counters, name -> non-negative number (stalls)",
    {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}, "example": {"records": 9}},
    lambda value, limits: counters(value, limits.max_counters),
    str_or_none,
    latest=False,
    script=str,
)


def _rtt_ms(value: Any, _: Limits) -> float:
    number = finite(value, "rtt_ms")
    if not 0 <= number <= MAX_RTT_MS:
        raise invalid("rtt_ms", f"must be between 0 and {MAX_RTT_MS:.0f} milliseconds")
    return number


RTT_MS: Field[float] = Field(
    "rtt_ms",
    "The round-trip time of the sender's previous heartbeat, in milliseconds",
    {"type": "number", "minimum": 0, "maximum": MAX_RTT_MS, "example": 12.5},
    _rtt_ms,
    float_or_none,
)


MESSAGE: Field[str] = Field(
    "message",
    f"What the service wants a person to read (at most {MAX_MESSAGE} characters); the latest is kept",
    {"type": "string", "maxLength": MAX_MESSAGE, "example": "queue backlog above 10,000"},
    lambda value, _: message(value, MAX_MESSAGE),
    str_or_none,
    shown=Shown(),
)
METRICS: Field[dict[str, float]] = Field(
    "metrics",
    "Gauges the program reports, name -> finite number (heartbeat_metric); at most max_metrics",
    {"type": "object", "additionalProperties": {"type": "number"}, "example": {"queue_length": 42}},
    lambda value, limits: reported_metrics(value, limits.max_metrics),
    mapping_of(float),
    shown=Shown(empty={}),
)
INFO: Field[dict[str, str]] = Field(
    "info",
    f"Facts about the program, key -> string (heartbeat_info labels); at most {MAX_INFO_KEYS} keys",
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_INFO_VALUE},
     "example": {"version": "2.4.1", "os": "linux"}},
    lambda value, _: info(value, MAX_INFO_KEYS, MAX_INFO_VALUE, RESERVED_LABELS),
    mapping_of(str),
    shown=Shown(empty={}),
)  # fmt: skip
WATERMARK: Field[float] = Field(
    "watermark",
    "Unix seconds of the newest record the service has processed (heartbeat_watermark_timestamp_seconds; "
    "a type's max_lag pages HeartbeatLagging)",
    {"type": "number", "minimum": 0, "example": 1763799990.0},
    _watermark,
    float_or_none,
    shown=Shown(),
)
EVENTS = ("start", "finish")  # a job's run (SPEC §13): a start, then its finish


def _event(value: Any, _: Limits) -> str:
    if value not in EVENTS:
        raise invalid("event", f"must be one of {', '.join(EVENTS)}")
    return str(value)


def _run_id(value: Any, _: Limits) -> str:
    text = name(value, "run_id")
    if len(text) > MAX_RUN_ID:
        raise invalid("run_id", f"must be at most {MAX_RUN_ID} characters")
    return text


EVENT: Field[str] = Field(
    "event",
    "A job's run: start, or finish (the end of the run a start began)",
    {"type": "string", "enum": list(EVENTS), "example": "finish"},
    _event,
    str_or_none,
    script=str,  # a start leaves the failing streak alone: runs fail, starts do not succeed
)
RUN_ID: Field[str] = Field(
    "run_id",
    f"Pairs a start with its finish when runs overlap (at most {MAX_RUN_ID} characters)",
    {"type": "string", "maxLength": MAX_RUN_ID, "example": "2026-12-04T02:00"},
    _run_id,
    str_or_none,
    script=str,  # the record script pairs a finish with its start by it
)
EXIT_STATUS: Field[int] = Field(
    "exit_status",
    "A finished run's exit status; not 0 is a failure (status failing, unless the beat says otherwise)",
    {"type": "integer", "minimum": 0, "maximum": 255, "example": 0},
    lambda value, _: integer_in(value, "exit_status", 0, 255),
    int_or_none,
)


def _region(value: Any, _: Limits) -> str:
    text = name(value, "region")
    if len(text) > MAX_REGION:
        raise invalid("region", f"must be at most {MAX_REGION} characters")
    return text


REGION: Field[str] = Field(
    "region",
    f"Where the service runs: a data centre, a cloud region (at most {MAX_REGION} characters); "
    "a label of heartbeat_info, a column of the status page",
    {"type": "string", "minLength": 1, "maxLength": MAX_REGION, "example": "eu-west-1"},
    _region,
    str_or_none,
    shown=Shown(label=True, column="Region"),
)
FIELDS: tuple[Field[Any], ...] = (
    TIMESTAMP, INTERVAL, STATUS, SEQ, INSTANCE, PROGRESS, RTT_MS, MESSAGE, METRICS, INFO, WATERMARK,
    EVENT, RUN_ID, EXIT_STATUS, REGION,
)  # fmt: skip
KEPT = {field.name: field for field in FIELDS if field.latest}  # what a record reads back
SCRIPTED = tuple(field for field in FIELDS if field.script is not None)
LABELLED = tuple(field for field in FIELDS if field.shown.label)  # heartbeat_info's own labels
RESERVED_LABELS: frozenset[str] = OUR_LABELS | {field.name for field in LABELLED}  # not an ``info`` key
IN_STATUS = tuple(field for field in FIELDS if field.shown.status)  # the status API's service entry
COLUMNS = tuple(field for field in FIELDS if field.shown.column)  # the page's service table


def openapi_properties() -> dict[str, Any]:
    """The JSON schema of every field the receiver accepts, for its OpenAPI document."""
    return {field.name: field.openapi() for field in (*IDENTITY, *FIELDS)}


def status_properties() -> dict[str, Any]:
    """The JSON schema of each field the status API shows, for the exporter's OpenAPI document."""
    return {field.name: {**field.openapi(), "nullable": field.shown.empty is None} for field in IN_STATUS}
