"""The alert-quality benchmark in its compressed mode: every crash pages, nothing else does.

Time runs twelve times faster (30 s beats take 2.5 s; scrape, evaluation, ``for:`` and
Alertmanager's waits shrink alike); the figures in docs/alert-quality.md come from the real-time
run. Delays are a benchmark figure, not asserted here.
"""

from __future__ import annotations

import logging

from benchmarks.alert_quality import at_revision, report, run


def test_compressed_run_pages_every_crash_and_nothing_else() -> None:
    logging.getLogger("heartbeat_agent").setLevel(logging.CRITICAL)
    rules, alertmanager = (
        at_revision(None, "alerts/heartbeat.rules.yml"),
        at_revision(None, "alerts/alertmanager.yml"),
    )
    result = report(run(12, rules, alertmanager), 12)
    assert result["recall"] == 1.0, result
    for name, scenario in result["scenarios"].items():
        assert scenario["unexpected_pages"] == 0, (name, scenario)
        assert scenario["missing_alerts_firing_in_prometheus"] == 0, (name, scenario)
    monitor = {"receiver stopped 90 s", "Redis stopped 90 s", "exporter stopped 60 s"}
    assert all(result["scenarios"][name]["pages"] == 1 for name in monitor)  # once each, as the monitor
    # five services say they are failing (one of each paging type, and a second one): exactly
    # those five page on-call; the five warnings reach the team's chat only
    reports = result["scenarios"]["5 report failing, 5 a warning"]
    assert len(reports["on_call"]) == 5 and all(n.startswith("HeartbeatFailing/") for n in reports["on_call"])
