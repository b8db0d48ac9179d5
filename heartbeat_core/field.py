"""What a heartbeat field is (``heartbeat_core.fields`` declares each one): its check, its
keeping, its schema, where it is shown; and the limits configuration puts on a heartbeat."""

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


@dataclass(frozen=True)
class Shown:
    """Where a kept field is shown, so that the exporter's metric, answer and page loop over the
    table instead of naming fields: a label of ``heartbeat_info`` (named as the field, and so
    reserved from ``info`` keys), a key of the status API's service entry (``empty`` when the
    service sent none), a column of the status page's service table (titled so)."""

    label: bool = False
    status: bool = True
    empty: Any = None
    column: str | None = None


HIDDEN = Shown(status=False)


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
    shown: Shown = HIDDEN

    def of(self, record: Reported) -> T | None:
        """This field's value in a service's last heartbeat, None when it sent none."""
        return record.reported.get(self.name)  # Any: no cast call, on a scrape's hot path

    def shown_of(self, record: Reported) -> Any:
        """What the status API says of this field: its value, or the declared ``empty``."""
        value = record.reported.get(self.name)
        return self.shown.empty if value is None else value

    def openapi(self) -> dict[str, Any]:
        return {**self.schema, "description": self.description}
