"""What a heartbeat is, and the routes that accept one.

Both of the user's shapes are accepted: the agent's bare ``{"type": 4}`` and a named report
(``service`` or, on the original route, ``service_name``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from heartbeat_receiver.body import read_json
from heartbeat_receiver.errors import ApiError
from heartbeat_receiver.service import TypeRules
from heartbeat_receiver.store import CapacityExceeded, HeartbeatStore

MAX_NAME = 200

bp = Blueprint("heartbeat", __name__)


@dataclass(frozen=True)
class Heartbeat:
    service: str
    type: str
    sent_at: float | None


def _number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, "invalid_field", f"'{key}' must be a finite number")
    return float(value)


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


def parse(body: Any, rules: TypeRules, address: str) -> Heartbeat:
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
    _number(body, "interval")
    return Heartbeat(name, rules.classify(name, declared), sent_at)


def accept(body: Any, rules: TypeRules, store: HeartbeatStore, address: str, now: float) -> dict[str, Any]:
    """Validate and record one heartbeat; the answer's fields. Shared by the view and the fast path."""
    beat = parse(body, rules, address or "unknown")
    try:
        store.record(beat.service, beat.type, address, now, beat.sent_at)
    except CapacityExceeded:
        raise ApiError(
            429,
            "too_many_services",
            f"the receiver already tracks its limit of {store.max_services} services; "
            "new names are refused until old ones expire",
        ) from None
    return {"service": beat.service, "type": beat.type, "received_at": now}


@bp.post("/heartbeat")
@bp.post("/heartbeat/report")
def receive() -> ResponseReturnValue:
    store: HeartbeatStore = current_app.extensions["heartbeat_store"]
    rules: TypeRules = current_app.extensions["heartbeat_rules"]
    clock: Callable[[], float] = current_app.extensions["heartbeat_clock"]
    body = read_json()
    return jsonify(accept(body, rules, store, request.remote_addr or "", clock()))
