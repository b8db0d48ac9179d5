"""A job's state (SPEC §13) in the one status rule: running, missed, overrun, failing runs, the
grace before a due run is missed, at the edges of daylight saving time in Europe/Berlin and
America/New_York and of months, and blind spells over a due time, on an injected clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from heartbeat_core.config import from_mapping
from heartbeat_core.job import Runs
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import Conditions, ServiceView, assess

GRACE = 600.0
TYPES = from_mapping(
    {
        "types": {"backend": {"timeout": 60}},
        "jobs": {
            "berlin-": {"schedule": "30 2 * * *", "tz": "Europe/Berlin", "grace": GRACE, "max_runtime": 3600},
            "ny-": {"schedule": "30 1 * * *", "tz": "America/New_York", "grace": GRACE},
            "monthly-": {"schedule": "0 0 31 * *", "grace": GRACE, "failure_threshold": 2},
            "backend": {"max_runtime": 300},  # no schedule: the type's timeout (60 s) is the period
        },
    }
).service_types


def at(zone: str, *parts: int) -> float:
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp()  # type: ignore[misc]


def job(
    name: str,
    last_seen: float,
    *,
    open_runs: tuple[float, ...] = (),
    failing: int = 0,
    service_type: str = "other",
) -> ServiceRecord:
    runs = Runs(open=open_runs)
    return ServiceRecord(name, service_type, "10.0.0.7", last_seen, 1, failing_streak=failing, runs=runs)


def view(record: ServiceRecord, now: float, conditions: Conditions | None = None) -> ServiceView:
    return assess(record, TYPES, now, conditions or Conditions())


def verdict(record: ServiceRecord, now: float, conditions: Conditions | None = None) -> tuple[str, str]:
    found = view(record, now, conditions)
    return found.state.value, found.reason


BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("night", "due"),
    [
        ((2026, 3, 28), (2026, 3, 29, 3, 0)),  # clocks go forward: 02:30 does not exist, due at 03:00
        ((2026, 10, 24), (2026, 10, 25, 2, 30)),  # clocks go back: 02:30 happens twice, due the first
        ((2026, 6, 10), (2026, 6, 11, 2, 30)),
    ],
)
def test_a_berlin_nightly_run_is_late_at_its_due_time_and_missed_after_grace(
    night: tuple[int, int, int], due: tuple[int, int, int, int, int]
) -> None:
    last = at(BERLIN, *night, 2, 45)  # last night's run finished
    due_at = at(BERLIN, *due)
    name = "berlin-export"
    assert verdict(job(name, last), due_at - 1) == ("up", "")
    assert verdict(job(name, last), due_at + 1) == ("late", "")
    assert verdict(job(name, last), due_at + GRACE) == ("late", "")
    assert verdict(job(name, last), due_at + GRACE + 1) == ("down", "missed")
    started = due_at + 5
    assert verdict(job(name, started, open_runs=(started,)), due_at + GRACE + 1) == ("running", "")


def test_the_repeated_hour_in_new_york_is_one_due_time() -> None:
    zone = "America/New_York"
    last = at(zone, 2026, 10, 31, 1, 40)  # the night before the clocks go back
    first = at(zone, 2026, 11, 1, 1, 30)  # 01:30 EDT; 01:30 EST an hour later is not due again
    started = first + 10
    assert verdict(job("ny-report", last), first + GRACE + 1) == ("down", "missed")
    ran = job("ny-report", started + 60)
    assert verdict(ran, first + 3600 + GRACE + 1) == ("up", "")
    assert verdict(ran, at(zone, 2026, 11, 2, 1, 30) + GRACE + 1) == ("down", "missed")


def test_a_job_due_on_the_31st_is_not_missed_in_a_month_without_one() -> None:
    last = at("UTC", 2026, 3, 31, 0, 5)
    assert verdict(job("monthly-close", last), at("UTC", 2026, 4, 30, 23, 59)) == ("up", "")
    assert verdict(job("monthly-close", last), at("UTC", 2026, 5, 1, 0, 20)) == ("up", "")
    assert verdict(job("monthly-close", last), at("UTC", 2026, 5, 31, 0, 11)) == ("down", "missed")


def test_a_run_open_past_max_runtime_is_an_overrun_and_running_never_pages_before() -> None:
    start = at(BERLIN, 2026, 6, 11, 2, 30)
    running = job("berlin-export", start, open_runs=(start,))
    assert verdict(running, start + 3600) == ("running", "")
    assert view(running, start + 3600).alive
    assert verdict(running, start + 3601) == ("down", "overrun")


def test_without_a_schedule_the_types_timeout_is_the_period() -> None:
    last = 1_800_000_000.0
    assert verdict(job("backend-sync", last, service_type="backend"), last + 60) == ("up", "")
    assert verdict(job("backend-sync", last, service_type="backend"), last + 61) == ("late", "")
    assert verdict(job("backend-sync", last, service_type="backend"), last + 60 + 61) == ("down", "missed")
    # a run may take longer than the period: max_runtime (300 s) judges it
    running = job("backend-sync", last, open_runs=(last,), service_type="backend")
    assert verdict(running, last + 299) == ("running", "")
    assert verdict(running, last + 301) == ("down", "overrun")


def test_failed_runs_make_a_job_failing_at_its_own_threshold() -> None:
    last = at("UTC", 2026, 3, 31, 0, 5)
    assert verdict(job("monthly-close", last, failing=1), last + 60) == ("up", "")
    assert verdict(job("monthly-close", last, failing=2), last + 60) == ("failing", "")


def test_a_service_that_sent_a_start_is_a_job_without_configuration() -> None:
    last = 1_800_000_000.0
    plain = ServiceRecord("redis-cache", "redis", "10.0.0.7", last, 1)
    assert view(plain, last).job is None
    started = ServiceRecord("redis-dump", "redis", "10.0.0.7", last, 1, runs=Runs(open=(last,)))
    assert view(started, last + 59).job is not None
    assert verdict(started, last + 59) == ("running", "")  # redis' 60 s timeout is its max_runtime
    assert verdict(started, last + 61) == ("down", "overrun")


def test_a_blind_spell_over_the_due_time_is_never_a_missed_run() -> None:
    last = at(BERLIN, 2026, 6, 10, 2, 45)
    due = at(BERLIN, 2026, 6, 11, 2, 30)
    spell = Conditions(blind_since=due - 60, blind_until=due + 120)  # the start went unseen
    name = "berlin-export"
    assert verdict(job(name, last), due + 60, Conditions(blind=True, blind_since=due - 60)) == ("unknown", "")
    assert verdict(job(name, last), due + 150, spell) == ("unknown", "")
    # then judged by the next night's run, not the one it could not see
    assert verdict(job(name, last), due + GRACE + 1, spell) == ("up", "")
    assert verdict(job(name, last), due + 86400 + GRACE + 1, spell) == ("down", "missed")
    # a spell that ended before the due time changes nothing
    before = Conditions(blind_since=due - 7200, blind_until=due - 3600)
    assert verdict(job(name, last), due + GRACE + 1, before) == ("down", "missed")


def test_a_run_that_began_before_a_blind_spell_is_not_an_overrun() -> None:
    start = at(BERLIN, 2026, 6, 11, 2, 30)
    running = job("berlin-export", start, open_runs=(start,))
    spell = Conditions(blind_since=start + 60, blind_until=start + 600)  # its finish may be lost
    assert verdict(running, start + 3601, spell) == ("up", "")
    assert verdict(running, start + 3601) == ("down", "overrun")


def test_a_run_seen_just_before_its_due_time_is_that_due_times_run() -> None:
    """A cron host's clock a few seconds ahead of the receiver's: the 02:30 run starts at 02:29:58
    and, short, finishes at 02:29:59. It is the 02:30 run, not a missed one."""
    due = at(BERLIN, 2026, 6, 11, 2, 30)
    early = job("berlin-export", due - 1)
    assert verdict(early, due + GRACE + 1) == ("up", "")
    assert verdict(early, due + 86400 + GRACE + 1) == ("down", "missed")  # the next night's is due
    # further ahead than a minute is another run's (here: the night before's was missed)
    assert verdict(job("berlin-export", due - 120), due + GRACE + 1) == ("down", "missed")
