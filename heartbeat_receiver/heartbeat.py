"""What a heartbeat is: the fields of one request body, validated.

Both of the user's shapes are accepted: the agent's bare ``{"type": 4}`` and a named report
(``service`` or, on the original route, ``service_name``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from heartbeat_core.errors import ApiError
from heartbeat_core.record import STOPPING
from heartbeat_core.types import ServiceTypes

MAX_NAME = 200


@dataclass(frozen=True)
class Heartbeat:
    service: str
    service_type: str
    sent_at: float | None
    interval: float | None = None
    stopping: bool = False  # a goodbye: the service stops on purpose
    seq: int | None = None
    instance: str | None = None


def _number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, "invalid_field", f"'{key}' must be a finite number")
    try:
        number = float(value)
    except OverflowError:  # an integer literal too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ApiError(400, "invalid_field", f"'{key}' must be a finite number")
    return number


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"'{key}' must be a string")
    if not value.strip():
        raise ApiError(400, "invalid_field", f"'{key}' must not be empty")
    if len(value) > MAX_NAME:
        raise ApiError(400, "invalid_field", f"'{key}' is longer than {MAX_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ApiError(400, "invalid_field", f"'{key}' contains control characters")
    return value


def parse(body: Any, types: ServiceTypes, address: str) -> Heartbeat:
    """Validate a decoded JSON body; raise :class:`ApiError` (400) on anything unusable."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    declared = body.get("type")
    if declared is not None and (isinstance(declared, bool) or not isinstance(declared, (str, int))):
        raise ApiError(400, "invalid_field", "'type' must be a string or an integer")
    if isinstance(declared, str):
        _name(declared, "type")
    key = "service" if "service" in body else "service_name"
    raw_name = body.get(key)
    if raw_name is None and declared is None:
        raise ApiError(400, "missing_field", "a heartbeat needs 'service' or 'type'")
    name = _name(raw_name, key) if raw_name is not None else f"type-{declared}@{address}"
    if len(name) > MAX_NAME:
        raise ApiError(400, "invalid_field", "the derived service name is too long")
    sent_at = _number(body, "timestamp")
    interval = _number(body, "interval")
    if interval is not None and interval <= 0:
        raise ApiError(400, "invalid_field", "'interval' must be a positive number of seconds")
    status = body.get("status", "ok")
    if not isinstance(status, str):
        raise ApiError(400, "invalid_field", "'status' must be a string ('ok' or 'stopping')")
    seq = body.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63):
        raise ApiError(400, "invalid_field", "'seq' must be a non-negative integer")
    instance = body.get("instance")
    if instance is not None:
        instance = _name(instance, "instance")[:64]
    return Heartbeat(
        name, types.classify(name, declared), sent_at, interval, status == STOPPING, seq, instance
    )
