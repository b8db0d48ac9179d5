"""A heartbeat's fields, each declared once.

A declaration says everything the product needs to know about a field: its JSON name, the check
that turns what a sender wrote into what is kept (or a 400 naming the field and its limit), how it
is kept (with the service, the latest beat winning, and/or handed to the record script under its
name), how a kept value is read back, and its schema. From this one table come the receiver's
parser (``heartbeat_receiver.heartbeat``), the store's encoding and the Lua arguments
(``heartbeat_core.store``), the decoded record (``heartbeat_core.record``) and the receiver's
OpenAPI schema (``heartbeat_receiver.app.document``). To add a field: declare it in ``FIELDS`` and use
it where it matters, reading it from a record with ``FIELD.of(record)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from heartbeat_core.checks import (
    MAX_NAME,
    NAME_RULE,
    finite,
    float_or_none,
    info,
    int_or_none,
    invalid,
    mapping_of,
    message,
    name,
    reported_metrics,
    str_or_none,
)

T = TypeVar("T")

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
MAX_RTT_MS = 3_600_000.0  # an hour: a larger round trip is a broken clock, not a network


@dataclass(frozen=True)
class Limits:
    """What configuration bounds in a heartbeat, so that no sender can grow Redis or /metrics."""

    max_counters: int = 8
    max_metrics: int = 16


DEFAULT_LIMITS = Limits()


class Reported(Protocol):
    @property
    def reported(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Field(Generic[T]):
    """One heartbeat field. ``check`` returns None when there is nothing worth keeping."""

    name: str
    description: str
    schema: Mapping[str, Any]
    check: Callable[[Any, Limits], T | None]
    read: Callable[[Any], T | None]  # a kept value read back; damage reads as None
    latest: bool = True  # kept with the service, the latest beat's value winning
    script: Callable[[T], str] | None = None  # also handed to the record script under its name

    def of(self, record: Reported) -> T | None:
        """This field's value in a service's last heartbeat, None when it sent none."""
        return cast("T | None", record.reported.get(self.name))

    def openapi(self) -> dict[str, Any]:
        return {**self.schema, "description": self.description}


def _identity(field: str) -> Callable[[Any, Limits], str]:
    return lambda value, _: name(value, field)


def _type(value: Any, _: Limits) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid("type", "must be a string or an integer")
    return name(value, "type") if isinstance(value, str) else value


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


def _seq(value: Any, _: Limits) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise invalid("seq", f"must be an integer from 0 to {MAX_SEQ}")
    return value


def _instance(value: Any, _: Limits) -> str:
    return name(value, "instance")[:MAX_INSTANCE]


def _progress(value: Any, limits: Limits) -> str:
    """The counters as compact JSON with sorted keys: the record script compares them as text."""
    if not isinstance(value, dict):
        raise invalid("progress", "must be an object of counters")
    if len(value) > limits.max_counters:
        raise invalid("progress", f"has more than {limits.max_counters} counters")
    for counter, number in value.items():
        if not NAME_RULE.fullmatch(counter):
            raise invalid("progress", f"counter names are [A-Za-z_][A-Za-z0-9_]*, got {counter!r}")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < 2**63:
            raise invalid(f"progress.{counter}", "must be a non-negative number")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
    _type,
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
)
SEQ: Field[int] = Field(
    "seq",
    "Goes up by one per beat, from 0 at each process start (lost beats)",
    {"type": "integer", "minimum": 0, "maximum": MAX_SEQ, "example": 41},
    _seq,
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
    _progress,
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
)
METRICS: Field[dict[str, float]] = Field(
    "metrics",
    "Gauges the program reports, name -> finite number (heartbeat_metric); at most max_metrics",
    {"type": "object", "additionalProperties": {"type": "number"}, "example": {"queue_length": 42}},
    lambda value, limits: reported_metrics(value, limits.max_metrics),
    mapping_of(float),
)
INFO: Field[dict[str, str]] = Field(
    "info",
    f"Facts about the program, key -> string (heartbeat_info labels); at most {MAX_INFO_KEYS} keys",
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_INFO_VALUE},
     "example": {"version": "2.4.1", "os": "linux"}},
    lambda value, _: info(value, MAX_INFO_KEYS, MAX_INFO_VALUE),
    mapping_of(str),
)  # fmt: skip
WATERMARK: Field[float] = Field(
    "watermark",
    "Unix seconds of the newest record the service has processed (heartbeat_watermark_timestamp_seconds; "
    "a type's max_lag pages HeartbeatLagging)",
    {"type": "number", "minimum": 0, "example": 1763799990.0},
    _watermark,
    float_or_none,
)
FIELDS: tuple[Field[Any], ...] = (
    TIMESTAMP, INTERVAL, STATUS, SEQ, INSTANCE, PROGRESS, RTT_MS, MESSAGE, METRICS, INFO, WATERMARK,
)  # fmt: skip
KEPT = {field.name: field for field in FIELDS if field.latest}  # what a record reads back
SCRIPTED = tuple(field for field in FIELDS if field.script is not None)


def openapi_properties() -> dict[str, Any]:
    """The JSON schema of every field the receiver accepts, for its OpenAPI document."""
    return {field.name: field.openapi() for field in (*IDENTITY, *FIELDS)}
