"""The JSON bodies of the exporter's APIs, as pydantic models.

Each bad body is a 400 that names the field, with the codes the API has always answered with
(``invalid_window`` for the status API's times, ``invalid_field`` and ``missing_field`` for
maintenance windows, ``invalid_body`` for a login).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from heartbeat_core.errors import ApiError

LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last time a datetime can hold
MAX_REASON = 500
MAX_PREFIX = 200

M = TypeVar("M", bound=BaseModel)


def _unix_seconds(value: Any) -> float:
    """An integer too large for a float (``10**400``) is refused like infinity, not a 500."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be Unix seconds (a number)")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not 0 <= number <= LAST_SECOND:  # NaN and infinity fail here too
        raise ValueError(f"must be between 0 and {LAST_SECOND} (year 9999)")
    return number


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise PydanticCustomError("invalid_field", "must be true or false")
    return value


def _offset(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise PydanticCustomError("invalid_field", "must be a non-negative integer")
    return value


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > limit):
            raise ValueError(f"must be a non-empty string of at most {limit} characters")
        return value

    return check


def _reason(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_REASON:
        raise ValueError(f"must be a string of at most {MAX_REASON} characters")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


UnixSeconds = Annotated[float, BeforeValidator(_unix_seconds)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StatusQuery(Body):
    """``POST /heartbeat/status``: the window (default: the last 24 hours) and what to add."""

    start_time: UnixSeconds | None = None
    end_time: UnixSeconds | None = None
    history: Flag = False
    history_offset: Annotated[int, BeforeValidator(_offset)] = 0  # a later page: the last "history_next"
    trend: Flag = False


class MaintenanceRequest(Body):
    """``POST /maintenance``: what a window covers, when, and why."""

    service_type: Annotated[str | None, BeforeValidator(_text(64))] = None
    service_prefix: Annotated[str | None, BeforeValidator(_text(MAX_PREFIX))] = None
    start: UnixSeconds
    end: UnixSeconds
    reason: Annotated[str, BeforeValidator(_reason)] = ""

    @model_validator(mode="after")
    def _covers_something_for_a_while(self) -> MaintenanceRequest:
        if self.service_type is None and self.service_prefix is None:
            raise PydanticCustomError(
                "missing_field", "a window needs 'service_type', 'service_prefix' or both"
            )
        if self.end <= self.start:
            raise PydanticCustomError("invalid_field", "'end' must be after 'start'")
        return self


class Login(Body):
    """``POST /auth/login``."""

    username: Annotated[str, BeforeValidator(_string)]
    password: Annotated[str, BeforeValidator(_string)]


def validated(model: type[M], body: Any, code: str) -> M:
    """``body`` as ``model``, or the 400 for its first problem, naming the field."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            raise ApiError(400, code, f"'{field}' is required") from None
        custom = error["type"] in ("missing_field", "invalid_field")
        raise ApiError(
            400, error["type"] if custom else code, message if not field else f"'{field}' {message}"
        ) from None


MAX_NOTE = 2000


class NoteRequest(Body):
    """``POST /incidents/<id>/notes``: what an admin says about an incident."""

    text: Annotated[str | None, BeforeValidator(_text(MAX_NOTE))]
