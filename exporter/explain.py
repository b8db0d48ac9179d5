"""``heartbeat-exporter explain <service>``: what the monitor learned of one service (SPEC §17),
for the person on call who asks why it paged, or why it did not."""

from __future__ import annotations

import time
from collections.abc import Callable

from heartbeat_core.band import MIN_RUNS, duration_band
from heartbeat_core.config import Settings
from heartbeat_core.status import Conditions, assess
from heartbeat_core.store import HeartbeatStore, make_store
from heartbeat_core.suspicion import Detection, phi, suspicion


def silence_at(level: float, mean: float, std: float, detection: Detection) -> float:
    """The silence after which φ reaches ``level`` (φ grows with the silence: bisection)."""
    low, high = 0.0, mean + 1.0
    while phi(high, mean, std, detection.min_std) < level:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if phi(middle, mean, std, detection.min_std) < level else (low, middle)
    return high


def explain(
    settings: Settings, name: str, store: HeartbeatStore | None = None, clock: Callable[[], float] = time.time
) -> str:
    store = store or make_store(settings)
    found = [record for record in store.snapshot().services if record.name == name]
    if not found:
        return f"{name}: not in the store (no heartbeat within the retention, or another redis_key_prefix)"
    record, now = found[0], clock()
    view = assess(record, settings.service_types, now, Conditions())
    rules = settings.service_types.get(view.service_type)
    detection = rules.detection
    lines = [
        f"{name} ({view.service_type}): {view.state.value}, last beat {view.age:.1f} s ago, "
        f"timeout {rules.timeout:g} s",
        f"detection: {detection.mode} (phi {detection.phi:g}, min_samples {detection.min_samples}, "
        f"min_std {detection.min_std:g} s, samples {detection.samples})",
    ]
    if view.job is not None:
        lines += _runs(
            record.runs.durations if record.runs else (), record.runs.last_duration if record.runs else None
        )
        return "\n".join(lines)
    gaps = record.gaps
    if not detection.learns:
        lines.append(
            "nothing learned: this type's detection is fixed (set detection.mode to shadow or adaptive)"
        )
    elif gaps is None:
        lines.append("no gaps learned yet")
    else:
        recent = " ".join(f"{gap:g}" for gap in store.learned_gaps(name)[-10:])
        lines.append(
            f"learned gaps: {gaps.count}, mean {gaps.mean:.1f} s, std {gaps.std:.1f} s; last: {recent}"
        )
        level = suspicion(gaps, view.age, detection)
        if level is None:
            lines.append(f"phi: not yet ({gaps.count} of {detection.min_samples} gaps)")
        else:
            after = max(silence_at(detection.phi, gaps.mean, gaps.std, detection), 2 * gaps.mean)
            lines.append(f"phi now: {level:.2f}; adaptive calls it down after {after:.1f} s of silence")
    return "\n".join(lines)


def _runs(durations: tuple[float, ...], last: float | None) -> list[str]:
    band = duration_band(durations)
    if band is None:
        return [f"run band: not yet ({len(durations)} of {MIN_RUNS} successful runs)"]
    low, high = band
    verdict = (
        "" if last is None else f"; last run {last:g} s: {'inside' if low <= last <= high else 'OUTSIDE'}"
    )
    return [f"run band: {low:.1f}-{high:.1f} s from {len(durations)} successful runs{verdict}"]
