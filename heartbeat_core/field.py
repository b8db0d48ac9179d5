"""What a heartbeat field is (``heartbeat_core.fields`` declares each one): its check, its
keeping, its schema; and the limits configuration puts on a heartbeat."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


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
        return record.reported.get(self.name)  # Any: no cast call, on a scrape's hot path

    def openapi(self) -> dict[str, Any]:
        return {**self.schema, "description": self.description}
