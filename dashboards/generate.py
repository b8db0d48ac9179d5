"""Generates dashboards/heartbeat-overview.json: ``python dashboards/generate.py``.

Written as code so that every panel gets the same datasource variable, units and rate interval;
the test suite checks that the committed JSON is what this script makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DS = {"type": "prometheus", "uid": "${datasource}"}
TYPE = 'service_type=~"$service_type"'
OUT = Path(__file__).with_name("heartbeat-overview.json")

UP_DOWN = [
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "UP", "color": "green", "index": 1},
        },
    }
]


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref, **extra}


def panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    grid: tuple[int, int, int, int],
    unit: str,
    description: str,
    **extra: Any,
) -> dict[str, Any]:
    x, y, w, h = grid
    defaults = {"unit": unit, **extra.pop("defaults", {})}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": extra.pop("overrides", [])},
        "options": extra.pop("options", {}),
        **extra,
    }


def panels() -> list[dict[str, Any]]:
    red_above_zero = {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
    }
    red_below_one = {
        "mode": "absolute",
        "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}],
    }
    table_query = {"format": "table", "instant": True, "range": False}
    result = [
        panel(
            "stat",
            "Services up",
            [target(f'sum by (service_type) (heartbeat_services{{state="up", {TYPE}}})', "{{service_type}}")],
            (0, 0, 8, 5),
            "none",
            "Services whose last heartbeat is within their type's timeout.",
            defaults={"color": {"mode": "fixed", "fixedColor": "green"}},
            options={"colorMode": "value", "graphMode": "none", "textMode": "value_and_name"},
        ),
        panel(
            "stat",
            "Services down",
            [
                target(
                    f'sum by (service_type) (heartbeat_services{{state="down", {TYPE}}})', "{{service_type}}"
                )
            ],
            (8, 0, 8, 5),
            "none",
            "Services silent for longer than their type's timeout.",
            defaults={"thresholds": red_above_zero, "color": {"mode": "thresholds"}},
            options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"},
        ),
        panel(
            "stat",
            "Heartbeat store",
            [target("min(heartbeat_store_up)", "Redis")],
            (16, 0, 4, 5),
            "none",
            "Whether the exporter can read Redis; when it cannot, service states are unknown.",
            defaults={"thresholds": red_below_one, "color": {"mode": "thresholds"}, "mappings": UP_DOWN},
            options={"colorMode": "background", "graphMode": "none"},
        ),
        panel(
            "stat",
            "Database",
            [target("min by (database) (heartbeat_database_up)", "{{database}}")],
            (20, 0, 4, 5),
            "none",
            "The active SQL probe against the pipeline database.",
            defaults={"thresholds": red_below_one, "color": {"mode": "thresholds"}, "mappings": UP_DOWN},
            options={"colorMode": "background", "graphMode": "none"},
        ),
        panel(
            "table",
            "Services",
            [
                target(f"heartbeat_age_seconds{{{TYPE}}}", ref="A", **table_query),
                target(
                    f"heartbeat_age_seconds{{{TYPE}}} * 0"
                    " + on (service_type) group_left heartbeat_timeout_seconds",
                    ref="B",
                    **table_query,
                ),
                target(f"heartbeat_up{{{TYPE}}}", ref="C", **table_query),
            ],
            (0, 5, 12, 10),
            "s",
            "Every service with its age, its type's timeout and its state.",
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True},
                        "renameByName": {
                            "service_name": "Service",
                            "service_type": "Type",
                            "Value #A": "Age",
                            "Value #B": "Timeout",
                            "Value #C": "State",
                        },
                    },
                },
            ],
            overrides=[
                {
                    "matcher": {"id": "byName", "options": "State"},
                    "properties": [
                        {"id": "unit", "value": "none"},
                        {"id": "mappings", "value": UP_DOWN},
                        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    ],
                }
            ],
            options={"sortBy": [{"displayName": "State", "desc": False}]},
        ),
        panel(
            "nodeGraph",
            "Pipeline",
            [
                target(
                    'label_replace(sum by (service_type) (heartbeat_services{state="up"}), '
                    '"id", "$1", "service_type", "(.*)") '
                    'or label_replace(max(heartbeat_database_up), "id", "database", "", "")',
                    ref="nodes",
                    **table_query,
                ),
                target(
                    "label_replace(label_replace(label_replace("
                    "sum by (edge) (rate(heartbeat_traffic_records_total[$__rate_interval])), "
                    '"id", "$1", "edge", "(.*)"), "source", "$1", "edge", "(.*)_to_.*"), '
                    '"target", "$1", "edge", ".*_to_(.*)")',
                    ref="edges",
                    **table_query,
                ),
            ],
            (12, 5, 12, 10),
            "suffix: rows/s",
            "The pipeline: nodes are service types (value: services up), edges carry the traffic rate.",
        ),
        panel(
            "state-timeline",
            "Up/down history",
            [target(f"max by (service_name) (heartbeat_up{{{TYPE}}})", "{{service_name}}")],
            (0, 15, 24, 8),
            "none",
            "When each service was up or down.",
            defaults={"mappings": UP_DOWN, "color": {"mode": "thresholds"}, "thresholds": red_below_one},
            options={"showValue": "never", "mergeValues": True},
        ),
        panel(
            "timeseries",
            "Traffic per edge",
            [target("sum by (edge) (rate(heartbeat_traffic_records_total[$__rate_interval]))", "{{edge}}")],
            (0, 23, 12, 8),
            "suffix: rows/s",
            "Rows per second along each pipeline edge.",
        ),
        panel(
            "timeseries",
            "Traffic per IP",
            [
                target(
                    "sum by (edge, source, target) (rate(heartbeat_traffic_records_total[$__rate_interval]))",
                    "{{edge}}: {{source}} → {{target}}",
                )
            ],
            (12, 23, 12, 8),
            "suffix: rows/s",
            "Rows per second per source and target address.",
        ),
        panel(
            "timeseries",
            "Heartbeat age",
            [target(f"heartbeat_age_seconds{{{TYPE}}}", "{{service_name}}")],
            (0, 31, 12, 8),
            "s",
            "Seconds since each service's last heartbeat; it drops to zero on every beat.",
        ),
        panel(
            "timeseries",
            "Database probe latency",
            [target("heartbeat_database_probe_duration_seconds", "{{database}}")],
            (12, 31, 12, 8),
            "s",
            "How long the probe query took.",
        ),
        panel(
            "timeseries",
            "Exporter work",
            [
                target("heartbeat_scrape_duration_seconds", "scrape", "A"),
                target("heartbeat_traffic_poll_duration_seconds", "traffic poll", "B"),
            ],
            (0, 39, 12, 7),
            "s",
            "Time the exporter spends per scrape and per traffic poll.",
        ),
        panel(
            "timeseries",
            "Share of services up",
            [target(f"service_type:heartbeat_up:ratio{{{TYPE}}}", "{{service_type}}")],
            (12, 39, 12, 7),
            "percentunit",
            "From the recording rule service_type:heartbeat_up:ratio.",
            defaults={"min": 0, "max": 1},
        ),
    ]
    for number, p in enumerate(result, start=1):
        p["id"] = number
    return result


def dashboard() -> dict[str, Any]:
    return {
        "uid": "heartbeat-overview",
        "title": "Heartbeat Monitor — overview",
        "tags": ["heartbeat", "pipeline"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "service_type",
                    "label": "Type",
                    "type": "query",
                    "datasource": DS,
                    "query": {
                        "query": "label_values(heartbeat_timeout_seconds, service_type)",
                        "refId": "types",
                    },
                    "definition": "label_values(heartbeat_timeout_seconds, service_type)",
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "current": {"text": "All", "value": "$__all"},
                    "refresh": 2,
                    "sort": 1,
                },
            ]
        },
        "annotations": {"list": []},
        "panels": panels(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
