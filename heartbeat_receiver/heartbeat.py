"""What a heartbeat is: the fields of one request body, validated.

Both of the user's shapes are accepted: the agent's bare ``{"type": 4}`` and a named report
(``service`` or, on the original route, ``service_name``). Every other field is checked by its
declaration (``heartbeat_core.fields``); a field this receiver does not know is ignored, as is
a declared one sent as ``null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from heartbeat_core.checks import MAX_NAME
from heartbeat_core.errors import ApiError
from heartbeat_core.fields import (
    DEFAULT_LIMITS,
    EXIT_STATUS,
    FAILING,
    FIELDS,
    SERVICE,
    SERVICE_NAME,
    STATUS,
    TYPE,
    Limits,
)
from heartbeat_core.types import ServiceTypes

DERIVED = re.compile(r"type-[^@]*@")  # the name the receiver derives for a beat without one


@dataclass(frozen=True)
class Heartbeat:
    service: str
    service_type: str
    fields: Mapping[str, Any]  # the declared fields it sent, checked, by JSON name


def _identity(body: dict[str, Any], types: ServiceTypes, address: str, limits: Limits) -> tuple[str, str]:
    """The service's name and type: named, or derived from the type and the sender's address."""
    raw_type = body.get(TYPE.name)
    declared = None if raw_type is None else TYPE.check(raw_type, limits)
    field = SERVICE if SERVICE.name in body else SERVICE_NAME
    raw_name = body.get(field.name)
    if raw_name is None and declared is None:
        raise ApiError(400, "missing_field", "a heartbeat needs 'service' or 'type'")
    if raw_name is None:
        service: str | None = f"type-{declared}@{address}"
    else:
        service = field.check(raw_name, limits)
        if service is not None and DERIVED.match(service):
            # a sender could otherwise keep a dead host's derived name alive
            raise ApiError(
                400, "invalid_field", f"'{field.name}' of the form type-…@address is the receiver's to derive"
            )
    if service is None or len(service) > MAX_NAME:
        raise ApiError(400, "invalid_field", "the derived service name is too long")
    return service, types.classify(service, declared)


def parse(body: Any, types: ServiceTypes, address: str, limits: Limits = DEFAULT_LIMITS) -> Heartbeat:
    """Validate a decoded JSON body; raise :class:`ApiError` (400) on anything unusable."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    service, service_type = _identity(body, types, address, limits)
    fields = {}
    for field in FIELDS:
        raw = body.get(field.name)
        if raw is not None:
            value = field.check(raw, limits)
            if value is not None:
                fields[field.name] = value
    if fields.get(EXIT_STATUS.name) and STATUS.name not in body:
        fields[STATUS.name] = FAILING  # a run that exited non-zero failed, unless the beat says more
    return Heartbeat(service, service_type, fields)
