"""The status rule: what state a service is in, from its record, its type's rules and the clock.

This is the one place that decides it. ``/metrics``, the status API and the status page all
take their answer from :func:`assess`, so they can never disagree about a service. The states
and their order are SPEC §8's: the first rule that matches wins.

=========  ======================================================================================
paused     it said goodbye and has sent nothing since, or a maintenance window covers it now
unknown    the monitor cannot tell: ingest is blind now, or the service has not beaten since a
           blind spell or a window ended and a full timeout has not passed since then
down       silent for longer than its type's timeout
failing    alive, but its last ``failure_threshold`` heartbeats (its type's) all said "failing"
late       silent for longer than ``late_after``: its declared interval × ``late_factor``, or
           its type's ``late_after``
up         otherwise
=========  ======================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.record import ServiceRecord
from heartbeat_core.types import ServiceType, ServiceTypes


class State(str, Enum):
    PAUSED = "paused"
    UNKNOWN = "unknown"
    DOWN = "down"
    FAILING = "failing"
    LATE = "late"
    UP = "up"


STATES: tuple[State, ...] = tuple(State)
ALIVE = frozenset({State.UP, State.LATE, State.FAILING})  # what ``is_alive`` and ``heartbeat_up 1`` mean
JUDGED = frozenset({*ALIVE, State.DOWN})  # the states ``heartbeat_up`` is given for


@dataclass(frozen=True)
class Conditions:
    """What the monitor knows about itself: whether it could see heartbeats arrive, and when."""

    blind: bool = False  # heartbeats cannot reach the store now, or the store cannot be read
    blind_since: float | None = None  # start of the last blind spell
    blind_until: float | None = None  # end of the last blind spell
    windows: tuple[MaintenanceWindow, ...] = ()
    late_factor: float = 1.5


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


def late_after(record: ServiceRecord, service_type: ServiceType, late_factor: float) -> float:
    """The first missed beat: its declared interval with some slack, else its type's setting."""
    return record.interval * late_factor if record.interval else service_type.late_after


def is_paused(record: ServiceRecord, service_type: ServiceType, conditions: Conditions, now: float) -> bool:
    if record.stopping:
        return True
    return bool(conditions.windows) and any(
        w.active(now) and w.covers(record.name, service_type.name) for w in conditions.windows
    )


def grace_start(
    record: ServiceRecord, service_type: ServiceType, conditions: Conditions, now: float
) -> float | None:
    """When the monitor last regained reading of this service, if it has not beaten since.

    The end of a blind spell (for a service that was not already down when it began) or of a
    maintenance window covering it. Until a full timeout has passed from there, its silence
    says nothing.
    """
    if conditions.blind_until is None and not conditions.windows:
        return None  # the usual case, once per service per scrape: nothing to regain reading after
    ends = [w.end for w in conditions.windows if w.end <= now and w.covers(record.name, service_type.name)]
    if conditions.blind_until is not None and (
        conditions.blind_since is None or record.last_seen + service_type.timeout >= conditions.blind_since
    ):
        ends.append(conditions.blind_until)
    latest = max((end for end in ends if end > record.last_seen), default=None)
    return latest if latest is not None and now - latest <= service_type.timeout else None


def state_of(record: ServiceRecord, service_type: ServiceType, conditions: Conditions, now: float) -> State:
    """The first rule that matches wins."""
    age = now - record.last_seen
    if is_paused(record, service_type, conditions, now):
        return State.PAUSED
    if conditions.blind or grace_start(record, service_type, conditions, now) is not None:
        return State.UNKNOWN
    if age > service_type.timeout:
        return State.DOWN
    if record.failing_streak >= service_type.failure_threshold:
        return State.FAILING
    if age > late_after(record, service_type, conditions.late_factor):
        return State.LATE
    return State.UP


def assess(
    record: ServiceRecord, types: ServiceTypes, now: float, conditions: Conditions = Conditions()
) -> ServiceView:
    """A record's type (``other`` once no longer configured), age and state at ``now``."""
    service_type = types.get(record.service_type)
    age = max(0.0, now - record.last_seen)
    return ServiceView(
        record, service_type.name, age, service_type.timeout, state_of(record, service_type, conditions, now)
    )


def service_views(
    records: Iterable[ServiceRecord], types: ServiceTypes, now: float, conditions: Conditions = Conditions()
) -> list[ServiceView]:
    return [assess(record, types, now, conditions) for record in records]
