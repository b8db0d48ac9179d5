"""A job's learned run duration (SPEC §17): the band its successful runs keep to.

The median ± ``k`` median absolute deviations of the last successful runs, once there are
``MIN_RUNS`` of them: robust to the odd slow night, and a backup that finished in 2 s after runs
of 20 minutes falls far outside. The deviation is at least ``MIN_SPREAD`` of the median (and a
second), so that runs that always take exactly as long do not make every small change an anomaly.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

K = 5.0
MIN_RUNS = 10
MIN_SPREAD = 0.02


def duration_band(durations: Sequence[float], k: float = K) -> tuple[float, float] | None:
    """(low, high) seconds, or None before ``MIN_RUNS`` runs; low is never below 0."""
    if len(durations) < MIN_RUNS:
        return None
    median = statistics.median(durations)
    mad = statistics.median(abs(d - median) for d in durations)
    spread = max(mad, MIN_SPREAD * median, 1.0)
    return max(0.0, median - k * spread), median + k * spread
