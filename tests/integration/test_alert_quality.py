"""The alert-quality benchmark in its compressed mode: every crash pages, nothing else does.

Time runs twelve times faster (30 s beats take 2.5 s; scrape, evaluation, ``for:`` and
Alertmanager's waits shrink alike); the figures in docs/alert-quality.md come from the real-time
run. Delays are a benchmark figure, not asserted here.
"""

from __future__ import annotations

import logging

from benchmarks.alert_quality import run
from benchmarks.job_quality import run_jobs
from benchmarks.quality_bench import at_revision, report


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


def test_compressed_jobs_suite_pages_each_fault_once_as_a_job() -> None:
    """Jobs (SPEC §13), twelve times faster: each fault pages once, as what it is; a job that
    runs fine never pages; a receiver outage over a due time pages as the monitor only."""
    logging.getLogger("heartbeat_agent").setLevel(logging.CRITICAL)
    rules, alertmanager = (
        at_revision(None, "alerts/heartbeat.rules.yml"),
        at_revision(None, "alerts/alertmanager.yml"),
    )
    scenarios = report(run_jobs(12, rules, alertmanager), 12)["scenarios"]
    expected = {
        "jobs run fine": [],
        "a run missed": ["HeartbeatJobMissed/job-missed"],
        "a run hangs": ["HeartbeatJobOverrun/job-hung"],
        "two failed runs, failure_threshold 2": ["HeartbeatJobFailed/job-failing"],
        "a run under min_runtime": ["HeartbeatJobTooFast/job-fast"],
        "receiver stopped over a due time": ["HeartbeatIngestDown/"],
    }
    for name, paged in expected.items():
        found = scenarios[name]
        assert [page for pages in found["paged"] for page in pages] == paged, (name, found)
        assert found["unexpected_pages"] == 0, (name, found)
    assert scenarios["a run under min_runtime"]["on_call"] == []  # a warning: the team's chat only
