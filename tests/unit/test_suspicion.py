"""Phi accrual suspicion and learned run bands (SPEC §17), against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from heartbeat_core.band import duration_band
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import Conditions, State, state_of
from heartbeat_core.suspicion import ADAPTIVE, SHADOW, Detection, Gaps, phi, suspected
from heartbeat_core.types import ServiceType


@pytest.mark.parametrize(
    ("silence", "expected"),
    [
        (30.0, 0.30103),  # at the mean: y = 0, φ = log10(2)
        (40.0, 0.79951),  # y = 1: a = 1.5976 + 0.070566 = 1.668166; log10(1 + e^a) = log10(6.30243)
        (20.0, 0.07503),  # y = -1: log10(1 + e^-1.668166) = log10(1.18868)
        (60.0, 2.90948),  # y = 3: a = 3 (1.5976 + 0.635094) = 6.698082; a / ln 10 + log10(1 + e^-a)
    ],
)
def test_phi_is_akkas_logistic_approximation(silence: float, expected: float) -> None:
    assert phi(silence, 30.0, 10.0, 2.0) == pytest.approx(expected, abs=1e-5)


def test_a_regular_sender_is_judged_with_the_floor_of_its_spread() -> None:
    assert phi(30.5, 30.0, 0.01, 2.0) == pytest.approx(phi(30.5, 30.0, 2.0, 2.0))


def test_phi_grows_with_the_silence_and_stays_finite_however_long() -> None:
    levels = [phi(s, 30.0, 3.0, 2.0) for s in (10, 30, 40, 60, 120, 10_000, 1e9)]
    assert levels == sorted(levels) and all(math.isfinite(level) for level in levels)


def test_the_sums_give_mean_and_spread() -> None:
    gaps = Gaps.of_sums(4, 120.0, 28.0**2 + 30.0**2 + 30.0**2 + 32.0**2)
    assert gaps is not None and gaps.mean == 30.0 and gaps.std == pytest.approx(math.sqrt(2.0))
    assert Gaps.of_sums(0, 0.0, 0.0) is None


def test_never_suspected_before_two_learned_means_nor_before_enough_samples() -> None:
    detection = Detection(ADAPTIVE, phi=8.0, min_samples=20, min_std=0.1)
    steady = Gaps(50, 30.0, 0.1)
    assert phi(45.0, 30.0, 0.1, 0.1) > 8  # a regular sender 15 s late is very unlikely ...
    assert not suspected(steady, 45.0, detection)  # ... but not down before 60 s
    assert suspected(steady, 61.0, detection)
    assert not suspected(Gaps(19, 30.0, 0.1), 61.0, detection)


def record(gaps: Gaps | None) -> ServiceRecord:
    return ServiceRecord("collector-1", "data_collection", "10.0.0.7", 1000.0, 50, gaps=gaps)


def kind(mode: str) -> ServiceType:
    return ServiceType("data_collection", ("collector",), 120.0, "data_collection", detection=Detection(mode))


LEARNED = Gaps(100, 30.0, 3.0)  # beats every 30 s ± 3 s


@pytest.mark.parametrize(
    ("mode", "silence", "state"),
    [
        ("fixed", 80.0, State.UP),  # the timeout alone: 120 s (late after 90 s)
        (ADAPTIVE, 40.0, State.UP),  # 40 s: far from suspected
        (ADAPTIVE, 80.0, State.DOWN),  # φ at 80 s with 30 ± 3 s gaps is far above 8
        (SHADOW, 80.0, State.UP),  # shadow changes no state
        (ADAPTIVE, 121.0, State.DOWN),  # the timeout still applies
    ],
)
def test_the_status_rule_by_mode(mode: str, silence: float, state: State) -> None:
    assert state_of(record(LEARNED), kind(mode), Conditions(), 1000.0 + silence) is state


def test_what_shadow_mode_reports_is_what_adaptive_would_say() -> None:
    service_type, now = kind(SHADOW), 1080.0
    assert state_of(record(LEARNED), service_type, Conditions(), now) is State.UP
    assert state_of(record(LEARNED), service_type, Conditions(), now, adaptive=True) is State.DOWN


def test_a_learned_history_never_turns_blindness_or_a_goodbye_into_down() -> None:
    service_type, now = kind(ADAPTIVE), 1080.0
    assert state_of(record(LEARNED), service_type, Conditions(blind=True), now) is State.UNKNOWN
    # a blind spell that ended 10 s ago: its silence says nothing for a timeout
    after = Conditions(blind_since=1010.0, blind_until=1070.0)
    assert state_of(record(LEARNED), service_type, after, now) is State.UNKNOWN


def test_a_run_far_outside_its_learned_band_is_outside_and_an_ordinary_one_inside() -> None:
    runs = [1200.0 + (i % 5) * 10 - 20 for i in range(20)]  # about 20 minutes, ± 20 s
    band = duration_band(runs)
    assert band is not None
    low, high = band
    assert high > 1220 and low < 1180  # every run it learned from is inside
    assert not low <= 2.0 <= high  # a 2 s backup is not
    assert duration_band(runs[:9]) is None  # fewer than ten runs: nothing learned yet
    assert duration_band([20.0] * 12) == (15.0, 25.0)  # identical runs: the spread's floor of 1 s
