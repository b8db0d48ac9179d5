"""The status rule, row by row of SPEC §8's state table, with its edges, on an injected clock."""

from __future__ import annotations

import pytest

from heartbeat_core.config import from_mapping
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import Conditions, State, assess

TYPES = from_mapping({"types": {"batch": {"prefixes": ["batch-"], "timeout": 3600}}}).service_types
NOW = 1_763_800_000.0


def record(
    service_type: str = "redis",
    age: float = 0.0,
    *,
    interval: float | None = None,
    stopping: bool = False,
    name: str = "redis-1",
) -> ServiceRecord:
    reported: dict[str, object] = {"interval": interval} if interval else {}
    if stopping:
        reported["status"] = "stopping"
    return ServiceRecord(name, service_type, "10.0.0.7", NOW - age, 1, reported)


def state(rec: ServiceRecord, conditions: Conditions | None = None, now: float = NOW) -> State:
    return assess(rec, TYPES, now, conditions or Conditions()).state


# redis: timeout 60 s; with no declared interval, late after 3/4 of it (45 s)
@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, State.UP),
        (45, State.UP),
        (45.001, State.LATE),
        (60, State.LATE),
        (60.001, State.DOWN),
        (600, State.DOWN),
    ],
)
def test_up_late_down_by_age_with_exact_edges(age: float, expected: State) -> None:
    assert state(record(age=age)) is expected


def test_a_declared_interval_sets_late_after_with_the_late_factor() -> None:
    assert state(record(age=15, interval=10)) is State.UP  # 10 × 1.5 = 15: not yet
    assert state(record(age=15.001, interval=10)) is State.LATE
    assert state(record(age=16, interval=10), Conditions(late_factor=2)) is State.UP
    # a declared interval longer than the timeout: down comes first, never late
    assert state(record(age=59, interval=50)) is State.UP
    assert state(record(age=61, interval=50)) is State.DOWN


def test_a_type_no_longer_configured_is_judged_as_other() -> None:
    view = assess(record("retired", 100), TYPES, NOW)
    assert (view.service_type, view.timeout, view.state) == ("other", 120.0, State.LATE)  # 100 > 90


def test_a_last_seen_ahead_of_the_clock_counts_as_just_seen() -> None:
    view = assess(record(age=-5), TYPES, NOW)
    assert (view.age, view.state) == (0.0, State.UP)


def test_a_goodbye_pauses_until_the_next_beat() -> None:
    assert state(record(age=3600, stopping=True)) is State.PAUSED
    assert state(record(age=1, stopping=False)) is State.UP  # the next beat is an ordinary one


def test_blind_now_is_unknown_for_every_service_that_is_not_paused() -> None:
    conditions = Conditions(blind=True, blind_since=NOW - 30)
    assert state(record(age=1), conditions) is State.UNKNOWN
    assert state(record(age=600), conditions) is State.UNKNOWN
    assert state(record(age=600, stopping=True), conditions) is State.PAUSED


@pytest.mark.parametrize(
    ("spell", "age", "expected"),
    [
        # a 20 s spell, shorter than the timeout, ended 10 s ago; the service last beat before it
        ((NOW - 30, NOW - 10), 40, State.UNKNOWN),
        # ... it beat after the spell: judged as usual
        ((NOW - 30, NOW - 10), 5, State.UP),
        # a 5-minute spell, longer than the timeout, ended 59 s ago: still unknown ...
        ((NOW - 359, NOW - 59), 400, State.UNKNOWN),
        # ... a full timeout (60 s) after the spell ended: down, as any silent service
        ((NOW - 361, NOW - 60.001), 400, State.DOWN),
        # a service already down when the spell began stays down after it
        ((NOW - 30, NOW - 10), 200, State.DOWN),
    ],
)
def test_after_a_blind_spell_silence_says_nothing_for_one_timeout(
    spell: tuple[float, float], age: float, expected: State
) -> None:
    conditions = Conditions(blind=False, blind_since=spell[0], blind_until=spell[1])
    assert state(record(age=age), conditions) is expected


def window(start: float, end: float, **covers: str) -> MaintenanceWindow:
    return MaintenanceWindow(
        f"w{start}-{end}", start, end, covers.get("service_type"), covers.get("service_prefix")
    )


def test_a_window_pauses_what_it_covers_and_only_that() -> None:
    by_type = Conditions(windows=(window(NOW - 10, NOW + 10, service_type="redis"),))
    assert state(record(age=600), by_type) is State.PAUSED
    assert state(record("kafka", 600, name="kafka-1"), by_type) is State.DOWN
    by_prefix = Conditions(windows=(window(NOW - 10, NOW + 10, service_prefix="REDIS-"),))
    assert state(record(age=600), by_prefix) is State.PAUSED
    both = Conditions(windows=(window(NOW - 10, NOW + 10, service_type="redis", service_prefix="cache-"),))
    assert state(record(age=600), both) is State.DOWN  # both must match
    future = Conditions(windows=(window(NOW + 10, NOW + 20, service_type="redis"),))
    assert state(record(age=600), future) is State.DOWN


def test_after_a_window_a_silent_service_is_unknown_for_one_timeout() -> None:
    ended = Conditions(windows=(window(NOW - 300, NOW - 30, service_type="redis"),))
    assert state(record(age=200), ended) is State.UNKNOWN  # not beaten since the window ended
    assert state(record(age=20), ended) is State.UP  # beat 10 s after it ended
    assert state(record(age=200), ended, now=NOW + 31) is State.DOWN  # 61 s after the end


def test_overlapping_windows_pause_until_the_last_one_ends() -> None:
    conditions = Conditions(
        windows=(
            window(NOW - 100, NOW + 10, service_type="redis"),
            window(NOW, NOW + 100, service_prefix="redis"),
        )
    )
    beat_in_it = record(age=50)  # stopped during the work, 50 s before NOW
    assert state(beat_in_it, conditions, now=NOW + 50) is State.PAUSED  # the first has ended
    assert state(beat_in_it, conditions, now=NOW + 150) is State.UNKNOWN  # 50 s after the second
    assert state(beat_in_it, conditions, now=NOW + 161) is State.DOWN


def test_a_service_silent_through_its_window_is_down_the_moment_it_ends() -> None:
    # SPEC §18, Uptime Kuma #7148: it was already down when the window began, and still is
    conditions = Conditions(windows=(window(NOW - 300, NOW - 1, service_type="redis"),))
    assert state(record(age=400), conditions, now=NOW - 2) is State.PAUSED
    assert state(record(age=400), conditions) is State.DOWN
    # one alive when the window began (the work may have stopped it) gets a timeout to come back,
    # whether its last beat came just before the window or inside it
    assert state(record(age=310), conditions) is State.UNKNOWN
    assert state(record(age=100), conditions) is State.UNKNOWN
    assert state(record(age=310), conditions, now=NOW + 60) is State.DOWN


def test_a_window_deleted_early_ends_then() -> None:
    # DELETE /maintenance/<id> moves the end to the moment of deletion
    deleted = Conditions(windows=(window(NOW - 100, NOW - 5, service_type="redis"),))
    assert state(record(age=50), deleted) is State.UNKNOWN
    assert state(record(age=50), deleted, now=NOW + 56) is State.DOWN
    assert state(record(age=600), deleted) is State.DOWN  # silent through it: no grace


def failing(streak: int, age: float = 0.0, service_type: str = "redis") -> ServiceRecord:
    return record(service_type, age)._replace(failing_streak=streak)


def test_a_service_that_says_it_is_failing_is_failing_and_alive() -> None:
    assert state(failing(1)) is State.FAILING
    assert assess(failing(1), TYPES, NOW).alive  # heartbeat_up 1: it beats, and says it is broken
    assert state(failing(0)) is State.UP
    assert state(failing(1, age=61)) is State.DOWN  # silence outranks what it last said
    assert state(failing(1, age=50)) is State.FAILING  # it outranks late


def test_failure_threshold_needs_that_many_failing_beats_in_a_row() -> None:
    types = from_mapping({"types": {"redis": {"failure_threshold": 3}}}).service_types
    assert [assess(failing(n), types, NOW).state for n in (1, 2, 3, 4)] == [
        State.UP, State.UP, State.FAILING, State.FAILING,
    ]  # fmt: skip
