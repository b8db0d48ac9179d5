"""The dashboard's jobs row (SPEC §13): how long each job's runs take, how they end, and when each
runs next. Empty, and costing nothing, on a pipeline with no jobs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.common import StackingConfig, TableSortByFieldState
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.parts import TYPE, Panel, place, query, trend

TOP = 54  # the row's place on the board, under the reported metrics


def durations() -> Panel:
    return trend(
        "Job run durations",
        "How long each job's last run took, start to finish (heartbeat_job_last_duration_seconds): "
        "a run far shorter than usual did not do its work (HeartbeatJobTooFast, min_runtime), a "
        "longer one is heading for max_runtime (HeartbeatJobOverrun).",
        "s",
        (0, TOP, 12, 8),
        query(f"heartbeat_job_last_duration_seconds{{{TYPE}}}", "{{service_name}}"),
    )


def outcomes() -> Panel:
    runs = f"increase(heartbeat_job_runs_total{{{TYPE}}}[$__rate_interval])"
    return (
        trend(
            "Job runs by outcome",
            "Finished runs per interval: success, fail (a non-zero exit status or a failing "
            "status), overrun (ran past max_runtime).",
            "none",
            (12, TOP, 12, 8),
            query(f"sum by (service_name, outcome) ({runs}) > 0", "{{service_name}}: {{outcome}}"),
        )
        .draw_style(common.GraphDrawStyle.BARS)
        .stacking(StackingConfig().mode(common.StackingMode.NORMAL))
    )


def schedule() -> Panel:
    organize = {
        "excludeByName": {"Time": True, "instance": True, "job": True},
        "renameByName": {
            "service_name": "Job",
            "service_type": "Type",
            "Value #A": "Next run in",
            "Value #B": "Last success",
            "Value #C": "Last run took",
        },
    }
    board = place(
        table.Panel(),
        "Jobs",
        "Each job: when its schedule next has it due, how long ago its last run succeeded, and "
        "how long that run took.",
        "s",
        (0, TOP + 8, 24, 7),
    )
    for ref, expr in (
        ("A", f"heartbeat_job_next_due_timestamp_seconds{{{TYPE}}} - time()"),
        ("B", f"time() - heartbeat_job_last_success_timestamp_seconds{{{TYPE}}}"),
        ("C", f"heartbeat_job_last_duration_seconds{{{TYPE}}}"),
    ):
        board.with_target(query(expr, ref=ref, instant_table=True))
    return (
        board.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize))
        .sort_by([TableSortByFieldState().display_name("Next run in").desc(False)])
    )


def job_panels() -> list[Panel]:
    return [durations(), outcomes(), schedule()]
