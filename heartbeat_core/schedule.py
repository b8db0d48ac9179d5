"""When a job is due (SPEC §13): its cron expression in its IANA time zone, evaluated by cronsim,
the library healthchecks.io itself uses, so daylight-saving gaps and repeats and month ends are
handled as healthchecks handles them (a 02:30 run on the night the clocks go forward runs at
03:00; on the night they go back, once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError


def check_schedule(expression: str) -> str:
    """A cron expression cronsim reads, or a ValueError saying what is wrong with it."""
    try:
        CronSim(expression, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    except CronSimError as exc:
        raise ValueError(f"not a cron expression ({exc}): {expression!r}") from None
    return expression


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone: {name!r}") from None
    return name


def next_due(expression: str, zone: str, after: float) -> float:
    """The first time after ``after`` (Unix seconds) the schedule is due."""
    start = dt.datetime.fromtimestamp(after, ZoneInfo(zone))
    return next(iter(CronSim(expression, start))).timestamp()


def last_due(expression: str, zone: str, before: float) -> float:
    """The last time before ``before`` the schedule was due."""
    start = dt.datetime.fromtimestamp(before, ZoneInfo(zone))
    return next(iter(CronSim(expression, start, reverse=True))).timestamp()


def job_key(name: str, service_type: str, keys: Mapping[str, object]) -> str | None:
    """Which ``jobs:`` entry a service falls under: its type's, else the longest name prefix."""
    if service_type in keys:
        return service_type
    prefixes = [key for key in keys if name.startswith(key)]
    return max(prefixes, key=len, default=None)
