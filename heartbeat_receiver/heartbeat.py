"""What a heartbeat is: the fields of one request body, validated.

Both of the user's shapes are accepted: the agent's bare ``{"type": 4}`` and a named report
(``service`` or, on the original route, ``service_name``).
"""

from __future__ import annotations

import json
import math
import re
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
    progress: str = ""  # the counters as compact JSON with sorted keys, "" when none were sent


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
    """A name as it is stored: NFKC-normalised, so that look-alike spellings are one service."""
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"'{key}' must be a string")
    # before the length check: NFKC may lengthen a name ("ﷺ" is 18 characters); ASCII is NFKC already
    name = value if value.isascii() else unicodedata.normalize("NFKC", value[: MAX_NAME + 1])
    if not name.strip():
        raise ApiError(400, "invalid_field", f"'{key}' must not be empty")
    if len(value) > MAX_NAME or len(name) > MAX_NAME:
        raise ApiError(400, "invalid_field", f"'{key}' is longer than {MAX_NAME} characters")
    # not printable: control, invisible format (U+200B, U+202E: names that look alike), unassigned,
    # line and paragraph separators; spaces are printable (NFKC has made every other space one)
    if not name.isprintable():
        raise ApiError(400, "invalid_field", f"'{key}' contains control, invisible or unassigned characters")
    return name


COUNTER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _progress(value: Any, limit: int) -> str:
    """The counters of ``progress``, checked: a few named, non-negative, finite numbers."""
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_field", "'progress' must be an object of counters")
    if len(value) > limit:
        raise ApiError(400, "invalid_field", f"'progress' has more than {limit} counters")
    for name, number in value.items():
        if not COUNTER.fullmatch(name):
            raise ApiError(
                400, "invalid_field", f"'progress' counter names are [A-Za-z_][A-Za-z0-9_]*, got {name!r}"
            )
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < 2**63:
            raise ApiError(400, "invalid_field", f"'progress.{name}' must be a non-negative number")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _identity(body: dict[str, Any], types: ServiceTypes, address: str) -> tuple[str, str]:
    """The service's name and type: named, or derived from the type and the sender's address."""
    declared = body.get("type")
    if declared is not None and (isinstance(declared, bool) or not isinstance(declared, (str, int))):
        raise ApiError(400, "invalid_field", "'type' must be a string or an integer")
    if isinstance(declared, str):
        declared = _name(declared, "type")
    key = "service" if "service" in body else "service_name"
    raw_name = body.get(key)
    if raw_name is None and declared is None:
        raise ApiError(400, "missing_field", "a heartbeat needs 'service' or 'type'")
    name = _name(raw_name, key) if raw_name is not None else f"type-{declared}@{address}"
    if len(name) > MAX_NAME:
        raise ApiError(400, "invalid_field", "the derived service name is too long")
    return name, types.classify(name, declared)


def parse(body: Any, types: ServiceTypes, address: str, max_counters: int = 8) -> Heartbeat:
    """Validate a decoded JSON body; raise :class:`ApiError` (400) on anything unusable."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    name, service_type = _identity(body, types, address)
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
    progress = _progress(body.get("progress"), max_counters)
    return Heartbeat(name, service_type, sent_at, interval, status == STOPPING, seq, instance, progress)
