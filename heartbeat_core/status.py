"""The status rule: what state a service is in, from its record, its type's rules and the clock.

This is the one place that decides it. ``/metrics``, the status API and the status page all
take their answer from :func:`assess`, so they can never disagree about a service. The states
and their order are SPEC §8's: the first rule that matches wins.

=========  ======================================================================================
paused     it said goodbye and has sent nothing since, or a maintenance window covers it now
unknown    the monitor cannot tell: ingest is blind now, or the service has not beaten since a
           blind spell or a window it beat in ended, and a full timeout has not passed since then
down       silent for longer than its type's timeout, or, under ``detection: adaptive``, for
           longer than its learned gaps make likely (φ ≥ ``phi``, SPEC §17); a job: a run due
           by its schedule did not start by the due time + ``grace`` (missed), or a run is open
           past ``max_runtime`` (overrun)
failing    alive, but its last ``failure_threshold`` heartbeats (its type's) all said "failing";
           a job: its last ``failure_threshold`` runs failed
late       silent for longer than ``late_after``: its declared interval × ``late_factor``, or
           its type's ``late_after``; a job: a run is due and has not started, within grace
running    a job between a start and its finish (never pages)
up         otherwise
=========  ======================================================================================

A job (``heartbeat_core.job``) is a service under ``jobs:`` or one that has sent a start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from heartbeat_core.job import Job, overran, running
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.record import ServiceRecord
from heartbeat_core.suspicion import ADAPTIVE, suspected
from heartbeat_core.types import ServiceType, ServiceTypes


class State(str, Enum):
    PAUSED = "paused"
    UNKNOWN = "unknown"
    DOWN = "down"
    FAILING = "failing"
    LATE = "late"
    RUNNING = "running"
    UP = "up"


STATES: tuple[State, ...] = tuple(State)
ALIVE = frozenset({State.UP, State.LATE, State.FAILING, State.RUNNING})  # ``is_alive``, ``heartbeat_up 1``
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
    reason: str = ""  # why a job is down: "missed" or "overrun"
    job: Job | None = None

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


def regained(
    record: ServiceRecord,
    service_type: ServiceType,
    conditions: Conditions,
    now: float,
    down_at: float | None = None,
    by_runs: bool = False,
) -> float | None:
    """When the monitor last regained sight of this service, if it has not beaten since.

    The end of a blind spell (for a service that was not already down when it began: by
    ``down_at``, by default a timeout after its last beat) or of a maintenance window covering it,
    the same way: one that began while it was not yet down. A service already down when its
    window began, and silent through it, was not stopped by the work in it: it is judged the
    moment the window ends (SPEC §18, Uptime Kuma #7148). A job's windows always count
    (``by_runs``): a run due inside one was not the job's to make.
    """
    if conditions.blind_until is None and not conditions.windows:
        return None  # the usual case, once per service per scrape: nothing to regain sight after
    if down_at is None:
        down_at = record.last_seen + service_type.timeout
    covering = [w for w in conditions.windows if w.covers(record.name, service_type.name)]
    # the work may have stopped it: a window began before it was down, and ended after its last beat
    stopped_by_one = by_runs or any(w.start <= down_at and w.end > record.last_seen for w in covering)
    ends = [w.end for w in covering if w.end <= now] if stopped_by_one else []
    if conditions.blind_until is not None and (
        conditions.blind_since is None or down_at >= conditions.blind_since
    ):
        ends.append(conditions.blind_until)
    return max((end for end in ends if end > record.last_seen), default=None)


def grace_start(
    record: ServiceRecord, service_type: ServiceType, conditions: Conditions, now: float
) -> float | None:
    """When sight was regained, while a full timeout has not passed since: its silence says nothing."""
    latest = regained(record, service_type, conditions, now)
    return latest if latest is not None and now - latest <= service_type.timeout else None


def silent_too_long(record: ServiceRecord, service_type: ServiceType, age: float, adaptive: bool) -> bool:
    """Past the timeout; or, ``adaptive``, past what its learned gaps make likely."""
    if age > service_type.timeout:
        return True
    return adaptive and suspected(record.gaps, age, service_type.detection)


def state_of(
    record: ServiceRecord,
    service_type: ServiceType,
    conditions: Conditions,
    now: float,
    adaptive: bool | None = None,
) -> State:
    """The first rule that matches wins. ``adaptive``: judge as ``detection: adaptive`` would, or
    not (shadow mode asks both); by default as the type's mode says."""
    age = now - record.last_seen
    if is_paused(record, service_type, conditions, now):
        return State.PAUSED
    if conditions.blind or grace_start(record, service_type, conditions, now) is not None:
        return State.UNKNOWN
    if adaptive is None:
        adaptive = service_type.detection.mode == ADAPTIVE
    if silent_too_long(record, service_type, age, adaptive):
        return State.DOWN
    if record.failing_streak >= service_type.failure_threshold:
        return State.FAILING
    if age > late_after(record, service_type, conditions.late_factor):
        return State.LATE
    return State.UP


def job_down_at(record: ServiceRecord, job: Job) -> float:
    """When a job left alone goes down: its next run missed, or its newest open run overrun."""
    newest = record.runs.open[-1] if record.runs and record.runs.open else None
    missed = job.next_run_due(record.last_seen) + job.grace
    return missed if newest is None else max(missed, newest + job.max_runtime)


def job_state(
    record: ServiceRecord, job: Job, service_type: ServiceType, conditions: Conditions, now: float
) -> tuple[State, str]:
    """A job's state and, when down, why. A blind spell or a window over a due time moves the
    judgement to the first run due after sight came back: the monitor cannot say a run it could
    not see was missed."""
    if is_paused(record, service_type, conditions, now):
        return State.PAUSED, ""
    sight = regained(record, service_type, conditions, now, job_down_at(record, job), by_runs=True)
    if conditions.blind or (sight is not None and now - sight <= service_type.timeout):
        return State.UNKNOWN, ""
    if overran(record.runs, job, sight, now):
        return State.DOWN, "overrun"
    is_running = running(record.runs, sight)
    due = job.next_run_due(record.last_seen) if sight is None else job.due_after(sight)
    if not is_running and now > due + job.grace:
        return State.DOWN, "missed"
    if record.failing_streak >= job.failure_threshold:
        return State.FAILING, ""
    if is_running:
        return State.RUNNING, ""
    return (State.LATE if now > due else State.UP), ""


def assess(
    record: ServiceRecord, types: ServiceTypes, now: float, conditions: Conditions = Conditions()
) -> ServiceView:
    """A record's type (``other`` once no longer configured), age and state at ``now``."""
    service_type = types.get(record.service_type)
    age = max(0.0, now - record.last_seen)
    job = types.job(record.name, record.service_type, record.runs is not None)
    if job is None:
        state = state_of(record, service_type, conditions, now)
        return ServiceView(record, service_type.name, age, service_type.timeout, state)
    state, reason = job_state(record, job, service_type, conditions, now)
    return ServiceView(record, service_type.name, age, service_type.timeout, state, reason, job)


def service_views(
    records: Iterable[ServiceRecord], types: ServiceTypes, now: float, conditions: Conditions = Conditions()
) -> list[ServiceView]:
    return [assess(record, types, now, conditions) for record in records]
