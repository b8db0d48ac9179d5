"""Phi accrual suspicion (SPEC §17): how unlikely a silence is, given a service's learned gaps.

φ = −log10 of the probability that a beat is still to come after the current silence, with the
gaps between beats taken as normally distributed (Hayashibara et al., 2004). As in Akka's
``PhiAccrualFailureDetector``, the normal CDF is the logistic approximation
``1 / (1 + exp(-y (1.5976 + 0.070566 y²)))`` (error below 1.4·10⁻⁴), which stays finite far
into the tail where ``1 − erf`` rounds to 0; and the standard deviation is at least a floor, so
that a perfectly regular sender is not declared dead a moment after its usual gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Gaps:
    """What the store learned of a service's gaps between beats: how many, their mean and spread."""

    count: int
    mean: float
    std: float

    @classmethod
    def of_sums(cls, count: int, total: float, squares: float) -> Gaps | None:
        """From the sums the record script keeps (n, Σx, Σx²); None when there is nothing yet."""
        if count <= 0:
            return None
        mean = total / count
        return cls(count, mean, math.sqrt(max(0.0, squares / count - mean * mean)))


def phi(silence: float, mean: float, std: float, min_std: float) -> float:
    """φ after ``silence`` seconds, for gaps of ``mean`` ± ``std`` (at least ``min_std``).

    Akka's two branches, ``-log10(e / (1 + e))`` and ``-log10(1 - 1 / (1 + e))`` with
    ``e = exp(-a)``, are both ``log10(1 + exp(a))``; written so, it never takes the log of a 0
    that ``exp`` underflowed to, however long the silence.
    """
    y = (silence - mean) / max(std, min_std)
    a = y * (1.5976 + 0.070566 * y * y)
    if a > 0:
        return a / math.log(10) + math.log10(1.0 + math.exp(-a))
    return math.log10(1.0 + math.exp(a))


FIXED, SHADOW, ADAPTIVE = "fixed", "shadow", "adaptive"
MODES = (FIXED, SHADOW, ADAPTIVE)


@dataclass(frozen=True)
class Detection:
    """A type's ``detection`` (SPEC §17). ``fixed``: the timeout alone, and nothing learned.
    ``shadow``: learned, and ``heartbeat_adaptive_down`` says what adaptive would call down.
    ``adaptive``: down at φ ≥ ``phi`` or past the timeout, whichever comes first."""

    mode: str = FIXED
    phi: float = 8.0
    min_samples: int = 20
    min_std: float = 2.0
    samples: int = 100

    @property
    def learns(self) -> bool:
        return self.mode != FIXED


FIXED_DETECTION = Detection()


def suspicion(gaps: Gaps | None, silence: float, detection: Detection) -> float | None:
    """φ now, once ``min_samples`` gaps are known; None before."""
    if gaps is None or gaps.count < detection.min_samples:
        return None
    return phi(silence, gaps.mean, gaps.std, detection.min_std)


def suspected(gaps: Gaps | None, silence: float, detection: Detection) -> bool:
    """Whether φ calls this silence a failure: never before two learned mean gaps have passed."""
    level = suspicion(gaps, silence, detection)
    return level is not None and gaps is not None and silence >= 2 * gaps.mean and level >= detection.phi
