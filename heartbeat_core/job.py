"""Jobs (SPEC §13): services that run, finish, and run again, judged by their runs.

A liveness timeout is the wrong model for a job: a nightly export is silent 23 hours a day, and a
run that hangs sends nothing. A job is judged instead by whether each run due by its schedule
started (else *missed*), and whether each run that started ended within ``max_runtime`` (else
*overrun*). The record script (``heartbeat_core.scripts``) pairs starts with finishes and keeps a
service's runs as one JSON value; :func:`decode_runs` reads it back, and the status rule
(``heartbeat_core.status``) asks :meth:`Job.due_after` and :func:`overran`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from heartbeat_core.schedule import job_key, next_due

OUTCOMES = ("success", "fail", "overrun")  # heartbeat_job_runs_total's outcome label
DEFAULT_GRACE = 60.0  # a configured job's run may start this late before it is missed
EARLY = 60.0  # and this early (a scheduler's clock ahead of the receiver's), at most its grace


class JobRule(Protocol):
    """A ``jobs:`` entry as configured (``heartbeat_core.sections.JobSpec``); unset: the type's."""

    @property
    def schedule(self) -> str | None: ...
    @property
    def tz(self) -> str: ...
    @property
    def grace(self) -> float: ...
    @property
    def max_runtime(self) -> float | None: ...
    @property
    def min_runtime(self) -> float: ...
    @property
    def failure_threshold(self) -> int | None: ...


@dataclass(frozen=True)
class Job:
    """A job's rules as they apply to one service: its ``jobs:`` entry over its type's settings."""

    schedule: str | None  # a cron expression; None: the type's timeout is the period
    tz: str
    grace: float
    max_runtime: float
    min_runtime: float
    failure_threshold: int
    period: float  # the type's timeout

    def due_after(self, moment: float) -> float:
        """When the first run after ``moment`` is due."""
        return _next_due(self.schedule, self.tz, moment) if self.schedule else moment + self.period

    def next_scheduled(self, now: float) -> float | None:
        """When its schedule next has it due; None without a schedule (what Grafana and the page show)."""
        return None if self.schedule is None else self.due_after(now)

    def next_run_due(self, last_run: float) -> float:
        """The due time of the run after the one seen at ``last_run``.

        A run seen a little before its due time is that due time's run: a cron host's clock a
        few seconds ahead of the receiver's starts it early, and a short run may even finish
        before the due time. Up to ``EARLY`` (or the grace, if shorter) counts.
        """
        return self.due_after(last_run + min(self.grace, EARLY) if self.schedule else last_run)


@lru_cache(maxsize=4096)
def _next_due(schedule: str, tz: str, moment: float) -> float:
    """Cached: a job's last beat does not change between scrapes, so neither does its next due."""
    return next_due(schedule, tz, moment)


class Runs(NamedTuple):
    """A service's runs as the record script keeps them."""

    open: tuple[float, ...] = ()  # the start of each run still open, oldest first
    counts: Mapping[str, int] = MappingProxyType({})  # finished runs by outcome
    last_success: float | None = None  # when the last successful run finished
    last_duration: float | None = None  # the last paired run's, start to finish
    bars: tuple[tuple[float, float, str], ...] = ()  # the last runs: start, end, outcome
    durations: tuple[float, ...] = ()  # the last successful paired runs' durations, oldest first


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def decode_runs(raw: str | None) -> Runs | None:
    """A service's runs from the script's JSON; damage reads as no runs, never as a failed scrape."""
    if not raw:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    opened = found.get("open")
    counts = found.get("n")
    bars = found.get("bars")
    return Runs(
        tuple(sorted(t for t in map(_number, opened.values() if isinstance(opened, dict) else ()) if t)),
        MappingProxyType(
            {o: int(n) for o in OUTCOMES if isinstance(counts, dict) and (n := _number(counts.get(o)))}
        ),
        _number(found.get("ok")),
        _number(found.get("took")),
        tuple(
            (float(b[0]), float(b[1]), str(b[2]))
            for b in (bars if isinstance(bars, list) else ())
            if isinstance(b, list) and len(b) == 3 and _number(b[0]) is not None and _number(b[1]) is not None
        ),
        _durations(found.get("d")),
    )


def _durations(raw: Any) -> tuple[float, ...]:
    return tuple(d for d in map(_number, raw if isinstance(raw, list) else ()) if d is not None)


def _watched(runs: Runs | None, watched_since: float | None) -> list[float]:
    """The starts of the open runs the monitor watched from their start.

    A run that began before the monitor last regained its sight (``watched_since``: the end of a
    blind spell or a maintenance window) is not judged: its finish may be what went unseen.
    """
    return [start for start in (runs.open if runs else ()) if watched_since is None or start > watched_since]


def overran(runs: Runs | None, job: Job, watched_since: float | None, now: float) -> bool:
    """A watched run is still open past ``max_runtime``."""
    return any(now - start > job.max_runtime for start in _watched(runs, watched_since))


def running(runs: Runs | None, watched_since: float | None) -> bool:
    return bool(_watched(runs, watched_since))


class Jobs:
    """Which ``jobs:`` entry governs a service, resolved once per name."""

    def __init__(self, rules: Mapping[str, JobRule]) -> None:
        self.rules = rules
        self._keys: dict[tuple[str, str], str | None] = {}

    def key(self, name: str, service_type: str) -> str | None:
        found = self._keys.get((name, service_type), "")
        if found == "":
            if len(self._keys) > 200_000:  # names come and go; the cache must not grow for ever
                self._keys.clear()
            found = self._keys[(name, service_type)] = job_key(name, service_type, self.rules)
        return found

    def rule(self, name: str, service_type: str) -> JobRule | None:
        key = self.key(name, service_type) if self.rules else None
        return None if key is None else self.rules[key]


def resolve(rule: JobRule | None, timeout: float, failure_threshold: int) -> Job:
    """A service's job: its rule over its type's ``timeout`` and ``failure_threshold``.

    Without a rule (a service that sent a start but is not under ``jobs:``), no grace: it is
    missed as a service would be down, when a timeout passes without a beat.
    """
    if rule is None:
        return Job(None, "UTC", 0.0, timeout, 0.0, failure_threshold, timeout)
    return Job(
        rule.schedule,
        rule.tz,
        rule.grace,
        timeout if rule.max_runtime is None else rule.max_runtime,
        rule.min_runtime,
        failure_threshold if rule.failure_threshold is None else rule.failure_threshold,
        timeout,
    )
