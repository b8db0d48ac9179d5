"""The status rule: one function decides a service's state from its record, its type and the clock."""

from __future__ import annotations

from heartbeat_core.config import from_mapping
from heartbeat_core.status import State, assess
from heartbeat_core.store import ServiceRecord

TYPES = from_mapping({"types": {"batch": {"prefixes": ["batch-"], "timeout": 3600}}}).service_types
NOW = 1_763_800_000.0


def record(service_type: str, last_seen: float) -> ServiceRecord:
    return ServiceRecord("svc", service_type, "10.0.0.7", last_seen, 1, None)


def test_up_through_the_timeout_itself_and_down_just_after() -> None:
    assert assess(record("redis", NOW - 60), TYPES, NOW).state is State.UP
    assert assess(record("redis", NOW - 60.001), TYPES, NOW).state is State.DOWN
    assert assess(record("kafka", NOW - 60.001), TYPES, NOW).state is State.UP  # 120 s type


def test_a_view_carries_what_every_reader_shows() -> None:
    view = assess(record("batch", NOW - 100), TYPES, NOW)
    assert (view.service_type, view.age, view.timeout, view.alive) == ("batch", 100.0, 3600.0, True)


def test_a_type_no_longer_configured_is_judged_as_other() -> None:
    view = assess(record("retired", NOW - 100), TYPES, NOW)
    assert (view.service_type, view.timeout, view.state) == ("other", 120.0, State.UP)


def test_a_last_seen_ahead_of_the_clock_counts_as_just_seen() -> None:
    # replicas' clocks differ a little: a beat stamped later than this exporter's now is age 0
    view = assess(record("redis", NOW + 5), TYPES, NOW)
    assert (view.age, view.state) == (0.0, State.UP)
