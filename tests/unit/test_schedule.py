"""Job schedules (SPEC §13): cron in an IANA zone, at the edges of daylight saving time and of
months, as cronsim (healthchecks.io's own) defines them; and which jobs: entry a service is under."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from heartbeat_core.config import ConfigError, from_mapping
from heartbeat_core.schedule import job_key, last_due, next_due


def at(zone: str, *parts: int) -> float:
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp()  # type: ignore[misc]


def local(zone: str, seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, ZoneInfo(zone)).isoformat()


@pytest.mark.parametrize(
    ("zone", "night", "first", "second"),
    [
        # the clocks go forward: 02:30 does not exist that night; the run is at 03:00
        ("Europe/Berlin", (2026, 3, 29), "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"),
        ("America/New_York", (2026, 3, 8), "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"),
        # the clocks go back: 02:30 happens twice (or 01:30 in New York); the run is once
        ("Europe/Berlin", (2026, 10, 25), "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"),
    ],
)
def test_a_nightly_run_across_daylight_saving_changes(
    zone: str, night: tuple[int, int, int], first: str, second: str
) -> None:
    start = at(zone, *night, 0, 0)
    one = next_due("30 2 * * *", zone, start)
    assert (local(zone, one), local(zone, next_due("30 2 * * *", zone, one))) == (first, second)


def test_new_york_runs_its_repeated_hour_once() -> None:
    zone = "America/New_York"
    one = next_due("30 1 * * *", zone, at(zone, 2026, 11, 1, 0, 0))
    two = next_due("30 1 * * *", zone, one)
    assert (local(zone, one), local(zone, two)) == ("2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00")


def test_month_ends() -> None:
    # the 31st: months without one are skipped; the last run before mid-May was on 31 March
    assert (
        local("UTC", next_due("0 0 31 * *", "UTC", at("UTC", 2026, 4, 1, 0, 0)))
        == "2026-05-31T00:00:00+00:00"
    )
    assert (
        local("UTC", last_due("0 0 31 * *", "UTC", at("UTC", 2026, 5, 15, 0, 0)))
        == "2026-03-31T00:00:00+00:00"
    )
    # February: the 28th in 2026, the 29th in 2028
    assert (
        local("UTC", next_due("0 6 28,29 2 *", "UTC", at("UTC", 2026, 2, 28, 7, 0)))
        == "2027-02-28T06:00:00+00:00"
    )
    assert (
        local("UTC", next_due("0 6 29 2 *", "UTC", at("UTC", 2026, 3, 1, 0, 0)))
        == "2028-02-29T06:00:00+00:00"
    )


def test_a_service_is_under_its_types_entry_else_its_longest_prefix() -> None:
    jobs = {"backend": 1, "cron-": 2, "cron-nightly-": 3}
    assert job_key("backend-export", "backend", jobs) == "backend"
    assert job_key("cron-nightly-dump", "other", jobs) == "cron-nightly-"
    assert job_key("cron-hourly", "other", jobs) == "cron-"
    assert job_key("kafka-1", "kafka", jobs) is None


def test_bad_schedules_and_zones_are_refused_with_the_key_named() -> None:
    with pytest.raises(ConfigError) as bad:
        from_mapping(
            {
                "jobs": {
                    "cron-": {"schedule": "61 * * * *", "tz": "Mars/Olympus"},
                    "x-": {"grace": -5, "runtime": 1},
                }
            }
        )
    text = str(bad.value)
    assert "jobs.cron-.schedule" in text and "jobs.cron-.tz" in text and "jobs.x-.grace" in text
    assert "jobs.x-.runtime: unknown key" in text
    good = from_mapping({"jobs": {"cron-": {"schedule": "*/5 * * * *", "tz": "Asia/Shanghai"}}})
    assert good.jobs["cron-"].tz == "Asia/Shanghai"
