"""Makes dashboards/heartbeat-overview.json with grafana-foundation-sdk: ``python -m dashboards.generate``.

Written as code so that every panel gets the same datasource variable, units and rate interval,
and typed by Grafana's own SDK, so a misspelt option is an error here rather than a panel that
silently ignores it. The test suite checks that the committed JSON is what this script makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import nodegraph, stat, statetimeline, table
from grafana_foundation_sdk.builders.common import ReduceDataOptions, TableSortByFieldState
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.jobs import job_panels
from dashboards.parts import DS, TYPE, Panel, place, query, trend

OUT = Path(__file__).with_name("heartbeat-overview.json")
# the seven states as one number per service, for tables and timelines (heartbeat_state is an enum)
STATE_CODES = {"running": 6, "failing": 5, "up": 4, "late": 3, "down": 2, "unknown": 1, "paused": 0}
STATE_COLOURS = {
    "running": "blue",
    "failing": "orange",
    "up": "green",
    "late": "yellow",
    "down": "red",
    "unknown": "purple",
    "paused": "text",
}
STATES = [
    model.ValueMap(
        {
            str(code): model.ValueMappingResult(name.upper(), STATE_COLOURS[name], index=code)
            for name, code in STATE_CODES.items()
        }
    )
]


def state_code(selector: str) -> str:
    parts = [
        f'(heartbeat_state{{state="{name}", {selector}}} == 1) * {code}' for name, code in STATE_CODES.items()
    ]
    return "max by (service_name, service_type) (" + " or ".join(parts) + ")"


EDGE_COLOURS = {"flowing": "green", "stalled": "orange", "blocked_upstream": "red", "unknown": "purple"}
UP_DOWN = [
    model.ValueMap(
        {
            "0": model.ValueMappingResult("DOWN", "red", index=0),
            "1": model.ValueMappingResult("UP", "green", index=1),
        }
    )
]
RED_ABOVE_ZERO = (
    db.ThresholdsConfig()
    .mode(model.ThresholdsMode.ABSOLUTE)
    .steps([model.Threshold(None, "green"), model.Threshold(1, "red")])
)
RED_BELOW_ONE = (
    db.ThresholdsConfig()
    .mode(model.ThresholdsMode.ABSOLUTE)
    .steps([model.Threshold(None, "red"), model.Threshold(1, "green")])
)
LAST = ReduceDataOptions().calcs(["lastNotNull"]).values(False)
BY_THRESHOLD = db.FieldColor().mode(model.FieldColorModeId.THRESHOLDS)


def big_number(
    title: str, expr: str, legend: str, grid: tuple[int, int, int, int], description: str
) -> Panel:
    return place(stat.Panel(), title, description, "none", grid).with_target(query(expr, legend))


def counts() -> list[Panel]:
    up = big_number(
        "Services up",
        f'sum by (service_type) (heartbeat_services{{state="up", {TYPE}}})',
        "{{service_type}}",
        (0, 0, 5, 5),
        "Services beating on time.",
    )
    late = big_number(
        "Services late",
        f'sum by (service_type) (heartbeat_services{{state="late", {TYPE}}})',
        "{{service_type}}",
        (5, 0, 4, 5),
        "Services that missed a beat but are within their type's timeout: no page.",
    )
    down = big_number(
        "Services down",
        f'sum by (service_type) (heartbeat_services{{state="down", {TYPE}}})',
        "{{service_type}}",
        (9, 0, 5, 5),
        "Services silent for longer than their type's timeout.",
    )
    ingest = big_number(
        "Ingest",
        "min(heartbeat_ingest_up)",
        "receivers",
        (14, 0, 3, 5),
        "Whether heartbeats can reach the store; when they cannot, services are unknown, not down.",
    )
    store = big_number(
        "Heartbeat store",
        "min(heartbeat_store_up)",
        "Redis",
        (17, 0, 3, 5),
        "Whether the exporter can read Redis; when it cannot, service states are unknown.",
    )
    database = big_number(
        "Database",
        "min by (database) (heartbeat_database_up)",
        "{{database}}",
        (20, 0, 4, 5),
        "The active SQL probe against the pipeline database.",
    )
    up = up.color_scheme(db.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color("green"))
    up = up.color_mode(common.BigValueColorMode.VALUE).text_mode(common.BigValueTextMode.VALUE_AND_NAME)
    down = (
        down.thresholds(RED_ABOVE_ZERO)
        .color_scheme(BY_THRESHOLD)
        .color_mode(common.BigValueColorMode.BACKGROUND)
    )
    down = down.text_mode(common.BigValueTextMode.VALUE_AND_NAME)
    late = late.color_scheme(db.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color("yellow"))
    late = late.color_mode(common.BigValueColorMode.VALUE).text_mode(common.BigValueTextMode.VALUE_AND_NAME)
    for flag in (ingest, store, database):
        flag.thresholds(RED_BELOW_ONE).color_scheme(BY_THRESHOLD).mappings(UP_DOWN)
        flag.color_mode(common.BigValueColorMode.BACKGROUND)
    for panel in (up, late, down, ingest, store, database):
        panel.graph_mode(common.BigValueGraphMode.NONE).reduce_options(LAST)
    return [up, late, down, ingest, store, database]


def services_table() -> Panel:
    organize = {
        "excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True},
        "renameByName": {
            "service_name": "Service",
            "service_type": "Type",
            "Value #A": "Age",
            "Value #B": "Timeout",
            "Value #C": "State",
        },
    }
    timeout = f"heartbeat_age_seconds{{{TYPE}}} * 0 + on (service_type) group_left heartbeat_timeout_seconds"
    return (
        place(
            table.Panel(),
            "Services",
            "Every service with its age, its type's timeout and its state.",
            "s",
            (0, 5, 12, 10),
        )
        .with_target(query(f"heartbeat_age_seconds{{{TYPE}}}", ref="A", instant_table=True))
        .with_target(query(timeout, ref="B", instant_table=True))
        .with_target(query(state_code(TYPE), ref="C", instant_table=True))
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize))
        .override_by_name(
            "State",
            [
                model.DynamicConfigValue("unit", "none"),
                model.DynamicConfigValue("mappings", STATES),
                model.DynamicConfigValue("custom.cellOptions", {"type": "color-background"}),
            ],
        )
        .sort_by([TableSortByFieldState().display_name("State").desc(False)])
    )


def troubled_table() -> Panel:
    """Services whose last heartbeat said warning or failing, with their own words."""
    organize = {
        "excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "Value": True},
        "renameByName": {
            "service_name": "Service",
            "service_type": "Type",
            "status": "Says",
            "message": "Message",
        },
        "indexByName": {"service_name": 0, "service_type": 1, "status": 2, "message": 3},
    }
    says = (
        f"heartbeat_reported_message{{{TYPE}}} * on (service_name, service_type) group_left (status) "
        f"(heartbeat_reported_status{{{TYPE}}} == 1)"
    )
    return (
        place(
            table.Panel(),
            "Failing and warning services",
            "Services whose last heartbeat said warning or failing, with their message (the status "
            "page shows the whole of it, and their metrics and info).",
            "none",
            (0, 46, 12, 8),
        )
        .with_target(query(says, ref="A", instant_table=True))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize))
        .override_by_name(
            "Says",
            [
                model.DynamicConfigValue(
                    "mappings",
                    [
                        model.ValueMap(
                            {
                                "failing": model.ValueMappingResult("FAILING", "orange", index=0),
                                "warning": model.ValueMappingResult("WARNING", "yellow", index=1),
                            }
                        )
                    ],
                ),
                model.DynamicConfigValue("custom.cellOptions", {"type": "color-background"}),
            ],
        )
        .sort_by([TableSortByFieldState().display_name("Says").desc(False)])
    )


def reported_metrics() -> Panel:
    return trend(
        "Reported metrics",
        "What services report of themselves (heartbeat_metric): queue lengths, anomaly scores, "
        "the agent's system figures.",
        "none",
        (12, 46, 12, 8),
        query(f"heartbeat_metric{{{TYPE}}}", "{{service_name}}: {{name}}"),
    )


def traffic_band() -> Panel:
    """Each edge's rate inside the band the seasonal rules judge it by (SPEC §14)."""
    return trend(
        "Traffic against its baseline",
        "Rows per second per edge (10-minute rate) between its band: 30 % and 3 times the median of "
        "the same time in the four weeks before. Outside it for 10 minutes is HeartbeatTrafficDrop "
        "or HeartbeatTrafficSurge; the band appears once a week of history exists.",
        "suffix: rows/s",
        (0, 54, 24, 8),
        query("edge:heartbeat_traffic_records:rate10m", "{{edge}}", "A"),
        query("edge:heartbeat_traffic_records:baseline_low", "{{edge}} low", "B"),
        query("edge:heartbeat_traffic_records:baseline_high", "{{edge}} high", "C"),
    ).override_by_regexp(
        ".* (low|high)",
        [
            model.DynamicConfigValue("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}),
            model.DynamicConfigValue("custom.lineWidth", 1),
        ],
    )


def pipeline() -> Panel:
    nodes = (
        'label_replace(sum by (service_type) (heartbeat_services{state="up"}), '
        '"id", "$1", "service_type", "(.*)") '
        'or label_replace(max(heartbeat_database_up), "id", "database", "", "")'
    )
    # the edges' states come from the exporter's one rule (heartbeat_edge_state), coloured here
    edges = "max by (edge, state) (heartbeat_edge_state == 1)"
    for state, colour in EDGE_COLOURS.items():
        edges = f'label_replace({edges}, "color", "{colour}", "state", "{state}")'
    edges = (
        f'label_replace(label_replace(label_replace({edges}, "id", "$1", "edge", "(.*)"), '
        '"source", "$1", "edge", "(.*)_to_.*"), "target", "$1", "edge", ".*_to_(.*)")'
    )
    description = "The pipeline: nodes are service types (value: services up), edges coloured by their state."
    return (
        place(nodegraph.Panel(), "Pipeline", description, "none", (12, 5, 12, 10))
        .with_target(query(nodes, ref="nodes", instant_table=True))
        .with_target(query(edges, ref="edges", instant_table=True))
        .with_transformation(
            model.DataTransformerConfig(
                id_val="organize", options={"renameByName": {"state": "detail__state"}}
            )
        )
    )


def history() -> Panel:
    return (
        place(
            statetimeline.Panel(),
            "State history",
            "Each service's state: up, late, down, unknown (the monitor could not see), paused.",
            "none",
            (0, 15, 24, 8),
        )
        .with_target(query(state_code(TYPE), "{{service_name}}"))
        .mappings(STATES)
        .color_scheme(db.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color("text"))
        .show_value(common.VisibilityMode.NEVER)
        .merge_values(True)
    )


def trends() -> list[Panel]:
    rate = "rate(heartbeat_traffic_records_total[$__rate_interval])"
    return [
        trend(
            "Traffic per edge",
            "Rows per second along each pipeline edge.",
            "suffix: rows/s",
            (0, 23, 12, 8),
            query(f"sum by (edge) ({rate})", "{{edge}}"),
        ),
        trend(
            "Traffic per IP",
            "Rows per second per source and target address.",
            "suffix: rows/s",
            (12, 23, 12, 8),
            query(f"sum by (edge, source, target) ({rate})", "{{edge}}: {{source}} → {{target}}"),
        ),
        trend(
            "Heartbeat age",
            "Seconds since each service's last heartbeat; it drops to zero on every beat.",
            "s",
            (0, 31, 12, 8),
            query(f"heartbeat_age_seconds{{{TYPE}}}", "{{service_name}}"),
        ),
        trend(
            "Database probe latency",
            "How long the probe query took.",
            "s",
            (12, 31, 12, 8),
            query("heartbeat_database_probe_duration_seconds", "{{database}}"),
        ),
        trend(
            "Exporter work",
            "Time the exporter spends per scrape and per traffic poll.",
            "s",
            (0, 39, 12, 7),
            query("heartbeat_scrape_duration_seconds", "scrape", "A"),
            query("heartbeat_traffic_poll_duration_seconds", "traffic poll", "B"),
        ),
        trend(
            "Share of services up",
            "From the recording rule service_type:heartbeat_up:ratio.",
            "percentunit",
            (12, 39, 12, 7),
            query(f"service_type:heartbeat_up:ratio{{{TYPE}}}", "{{service_type}}"),
        )
        .min(0)
        .max(1),
    ]


def dashboard() -> db.Dashboard:
    types = "label_values(heartbeat_timeout_seconds, service_type)"
    board = (
        db.Dashboard("Heartbeat Monitor — overview")
        .uid("heartbeat-overview")
        .tags(["heartbeat", "pipeline"])
        .timezone("browser")
        .editable()
        .refresh("30s")
        .time("now-3h", "now")
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            db.QueryVariable("service_type")
            .label("Type")
            .datasource(DS)
            .query({"query": types, "refId": "types"})
            .include_all(True)
            .multi(True)
            .all_value(".*")
            .current(model.VariableOption(text="All", value="$__all"))
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
        )
    )
    panels = [
        *counts(),
        services_table(),
        pipeline(),
        history(),
        *trends(),
        troubled_table(),
        reported_metrics(),
        *job_panels(),
    ]
    for number, panel in enumerate(panels, start=1):
        board.with_panel(panel.id(number))
    return board


def render() -> str:
    return (
        json.dumps(dashboard().build(), cls=JSONEncoder, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
