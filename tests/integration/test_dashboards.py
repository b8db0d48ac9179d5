"""Dashboards: their structure, and every panel query against a real Prometheus scraping a real exporter."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dashboards.generate import render
from exporter.sql.demo_rows import insert_demo_rows
from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import PrometheusServer, wait_until
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target


def test_the_committed_dashboard_is_what_the_generator_makes() -> None:
    assert (ROOT / "dashboards" / "heartbeat-overview.json").read_text(encoding="utf-8") == render()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert "__inputs" not in dashboard  # provisioned dashboards cannot resolve them
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    assert variables["service_type"]["datasource"]["uid"] == "${datasource}"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']} has no unit"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    kinds = {p["type"] for p in dashboard["panels"]}
    assert {"stat", "table", "state-timeline", "timeseries", "nodeGraph"} <= kinds
    for title, target in targets(dashboard):
        assert target["datasource"]["uid"] == "${datasource}", title
        for window in re.findall(r"(?:rate|increase)\([^\[]*\[([^\]]+)\]", target["expr"]):
            assert window == "$__rate_interval", f"{title}: rate over [{window}]"


def test_provisioning_points_at_the_dashboards_folder() -> None:
    import yaml

    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/heartbeat.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["type"] == "prometheus"


def substitute(expr: str) -> str:
    """What Grafana would send, with a 1 s scrape interval: all types, a rate interval of 4 scrapes."""
    return expr.replace("$__rate_interval", "4s").replace("$service_type", ".*")


def test_every_panel_query_returns_data_from_a_real_prometheus(
    redis_server: RedisServer, sqlite_url: str, tmp_path: Path
) -> None:
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "database_url": sqlite_url,
            "poll_interval": 0.5,
            "jobs": {"misc-job": {"schedule": "* * * * *"}},
        }
    )
    engine = sa.create_engine(sqlite_url)
    create_schema(engine)
    receiver = create_receiver(settings).test_client()
    exporter_app = create_exporter(settings)
    exporter_app.exporter.start()
    exporter = LiveServer(exporter_app)
    stop = threading.Event()

    def feed() -> None:  # heartbeats and traffic keep arriving while Prometheus scrapes
        while not stop.wait(0.5):
            for name in ("数据采集-1", "kafka-1", "redis-1", "后端-1", "frontend-1", "misc-1"):
                receiver.post("/heartbeat", json={"service": name})
            trouble = {"status": "warning", "message": "queue backlog", "metrics": {"queue_length": 3}}
            receiver.post("/heartbeat", json={"service": "后端-2", **trouble})
            for event in ("start", "finish"):  # a job's run, for the jobs row
                receiver.post("/heartbeat", json={"service": "misc-job", "event": event})
            insert_demo_rows(engine, 20, now=dt.datetime.now(dt.timezone.utc), spread_seconds=1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    prometheus = PrometheusServer(exporter.port, [str(ROOT / "alerts" / "heartbeat.rules.yml")])
    try:
        rate = "sum(rate(heartbeat_traffic_records_total[4s])) > 0"
        wait_until(lambda: bool(prometheus.query(rate)["data"]["result"]), timeout=60, interval=0.5)
        wait_until(
            lambda: bool(prometheus.query("service_type:heartbeat_up:ratio")["data"]["result"]),
            timeout=30,
            interval=0.5,
        )
        runs = "sum(increase(heartbeat_job_runs_total[4s])) > 0"  # the job's runs, as its row shows them
        wait_until(lambda: bool(prometheus.query(runs)["data"]["result"]), timeout=30, interval=0.5)
        failures = []
        for path in DASHBOARDS:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
            for variable in dashboard["templating"]["list"]:
                if variable["type"] == "query":
                    query = variable["query"]
                    expr = query["query"] if isinstance(query, dict) else query
                    label = re.match(r"label_values\((\w+), (\w+)\)", expr)
                    assert label, expr
                    assert prometheus.query(label.group(1))["data"]["result"], expr
            for title, target in targets(dashboard):
                answer = prometheus.query(substitute(target["expr"]))
                if answer.get("status") != "success":
                    failures.append(f"{title}: {answer.get('error')}")
                elif not answer["data"]["result"] and "baseline" not in target["expr"]:
                    # (a baseline is the same time in earlier weeks: a fresh Prometheus has none)
                    failures.append(f"{title}: no data for {target['expr']}")
        assert not failures, "\n".join(failures)
    finally:
        stop.set()
        feeder.join(5)
        prometheus.close()
        exporter_app.exporter.worker.stop()
        exporter.stop()
