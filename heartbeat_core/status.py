"""The status rule: what state a service is in, from its record, its type's rules and the clock.

This is the one place that decides it. ``/metrics``, the status API and the status page all
take their answer from :func:`assess`, so they can never disagree about a service. A new state
is a new member of :class:`State` and one more rule in :func:`state_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from heartbeat_core.store import ServiceRecord
from heartbeat_core.types import ServiceType, ServiceTypes


class State(str, Enum):
    UP = "up"
    DOWN = "down"


STATES: tuple[State, ...] = tuple(State)
ALIVE = frozenset({State.UP})


class ServiceView(NamedTuple):
    """A service as every reader sees it at one instant (a tuple: one per service per scrape)."""

    record: ServiceRecord
    service_type: str
    age: float
    timeout: float
    state: State

    @property
    def alive(self) -> bool:
        return self.state in ALIVE


def state_of(age: float, service_type: ServiceType) -> State:
    """The first rule that matches wins."""
    if age > service_type.timeout:
        return State.DOWN
    return State.UP


def assess(record: ServiceRecord, types: ServiceTypes, now: float) -> ServiceView:
    """A record's type (``other`` once no longer configured), age and state at ``now``."""
    service_type = types.get(record.service_type)
    age = max(0.0, now - record.last_seen)
    return ServiceView(record, service_type.name, age, service_type.timeout, state_of(age, service_type))


def service_views(records: Iterable[ServiceRecord], types: ServiceTypes, now: float) -> list[ServiceView]:
    return [assess(record, types, now) for record in records]
