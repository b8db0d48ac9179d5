"""The seasonal traffic rules over five synthetic weeks, under promtool (SPEC §14, issue #22).

``benchmarks/traffic_weeks.py`` makes the weeks (a day, a week, noise, growth, two holidays) and
the incidents, and reads back what fired; docs/alert-quality.md has its figures.
"""

from __future__ import annotations

from benchmarks.traffic_weeks import run


def test_every_drop_stop_and_surge_alerts_in_time_and_the_rhythm_never_does() -> None:
    result = run()
    assert result["false_alerts"] == []  # the day, the week, the holidays, the growth: silence
    assert result["recall"] == 1.0
    for incident in result["incidents"]:
        assert incident["ok"], incident  # within its bound; the quiet edge's night stop unjudged
